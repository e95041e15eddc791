"""web_proxy.py - the test's stand-in for the site's web server in front
of edgespam-web: it authenticates users with HTTP Basic credentials and
passes each request on with the user in a header, as nginx or Apache do
in edgespam-web(8)'s snippets.

    /usr/bin/python3 web_proxy.py LISTEN_PORT BACKEND_HOST BACKEND_PORT \
        SOURCE_ADDR HEADER USERS_FILE

USERS_FILE has lines "login:password:user". A request without valid
credentials gets 401. The client's own HEADER (and Authorization) never
reaches the backend: only the proxy names the user. Connections to the
backend come from SOURCE_ADDR (a loopback address, so that the test can
tell the proxy from any other local client). Prints "ready" when it
listens.
"""
import base64
import http.client
import http.server
import sys

HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-connection",
       "te", "trailer", "transfer-encoding", "upgrade", "content-length"}


def main():
    port, bhost, bport, src, header, users_file = sys.argv[1:7]
    users = {}
    with open(users_file) as f:
        for line in f:
            line = line.strip()
            if line:
                login, password, user = line.split(":", 2)
                users[login] = (password, user)

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):
            sys.stderr.write("proxy: " + (fmt % args) + "\n")

        def user(self):
            auth = self.headers.get("Authorization", "")
            if not auth.startswith("Basic "):
                return None
            try:
                login, _, password = base64.b64decode(
                    auth[6:]).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                return None
            entry = users.get(login)
            return entry[1] if entry and entry[0] == password else None

        def relay(self):
            user = self.user()
            if user is None:
                body = b"login required\n"
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="edgespam"')
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            n = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(n) if n else None
            out = {}
            for k, v in self.headers.items():
                if k.lower() in HOP or k.lower() in (
                        header.lower(), "authorization", "host"):
                    continue
                out[k] = v
            out[header] = user
            out["Host"] = "%s:%s" % (bhost, bport)
            conn = http.client.HTTPConnection(bhost, int(bport), timeout=30,
                                              source_address=(src, 0))
            conn.request(self.command, self.path, body=body, headers=out)
            resp = conn.getresponse()
            data = resp.read()
            self.send_response(resp.status, resp.reason)
            for k, v in resp.getheaders():
                if k.lower() not in HOP:
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            conn.close()

        do_GET = do_POST = do_HEAD = relay

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", int(port)), Handler)
    print("ready", flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
