"""cdp.py - a small client of Chromium's DevTools protocol, for the web
view's browser tests (tests/sh/test_web.sh).

Starts Debian's headless Chromium (/usr/bin/chromium) with a private
profile and a DevTools port, opens one page target and talks to it over
its WebSocket (Debian's python3-websocket). No download, no npm, no
WebDriver: the protocol's JSON messages are sent as they are.

    b = Browser(tmpdir)
    b.auth("bob", "secret")          # Basic credentials on every request
    b.goto("http://127.0.0.1:8080/history")
    b.eval("document.title")
    b.click("button#x")              # and wait for the next page
    b.screenshot("build/web-history.png")
    b.close()
"""
import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request

import websocket

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


class CdpError(Exception):
    pass


def _free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Browser:
    def __init__(self, tmpdir, width=1200, height=900, timeout=30):
        self.timeout = timeout
        self.port = _free_port()
        self.profile = os.path.join(tmpdir, "chromium-profile")
        os.makedirs(self.profile, exist_ok=True)
        self.log = open(os.path.join(tmpdir, "chromium.log"), "wb")
        args = [CHROMIUM, "--headless=new", "--no-sandbox",
                "--disable-gpu", "--disable-dev-shm-usage",
                "--no-first-run", "--no-default-browser-check",
                "--disable-extensions", "--disable-background-networking",
                "--disable-sync", "--disable-component-update",
                "--metrics-recording-only", "--mute-audio",
                "--remote-allow-origins=*",
                "--window-size=%d,%d" % (width, height),
                "--user-data-dir=" + self.profile,
                "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=%d" % self.port, "about:blank"]
        self.proc = subprocess.Popen(args, stdout=self.log,
                                     stderr=subprocess.STDOUT,
                                     start_new_session=True)
        self.ws = None
        self.next_id = 0
        self.events = []
        try:
            self._attach()
        except Exception:
            self.close()
            raise

    def _attach(self):
        deadline = time.time() + self.timeout
        targets = None
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise CdpError("chromium exited with %d" % self.proc.returncode)
            try:
                with urllib.request.urlopen(
                        "http://127.0.0.1:%d/json/list" % self.port,
                        timeout=2) as r:
                    targets = json.load(r)
                pages = [t for t in targets if t.get("type") == "page"]
                if pages:
                    self.ws = websocket.create_connection(
                        pages[0]["webSocketDebuggerUrl"],
                        timeout=self.timeout, suppress_origin=True)
                    break
            except (OSError, ValueError):
                pass
            time.sleep(0.2)
        if self.ws is None:
            raise CdpError("no DevTools page target within %ds" % self.timeout)
        self.call("Page.enable")
        self.call("Runtime.enable")
        self.call("Network.enable")

    def call(self, method, **params):
        """One command; its result, or CdpError with the protocol's error."""
        self.next_id += 1
        my = self.next_id
        self.ws.send(json.dumps({"id": my, "method": method,
                                 "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == my:
                if "error" in msg:
                    raise CdpError("%s: %s" % (method, msg["error"]))
                return msg.get("result", {})
            if "method" in msg:
                self.events.append(msg)

    def wait_event(self, name, timeout=None):
        """The first event called name since the last wait (or command)."""
        deadline = time.time() + (timeout or self.timeout)
        while True:
            for i, e in enumerate(self.events):
                if e["method"] == name:
                    del self.events[:i + 1]
                    return e.get("params", {})
            if time.time() > deadline:
                raise CdpError("no %s within %ss" % (name, timeout))
            self.ws.settimeout(max(0.1, deadline - time.time()))
            try:
                msg = json.loads(self.ws.recv())
            except websocket.WebSocketTimeoutException:
                continue
            if "method" in msg:
                self.events.append(msg)

    def auth(self, user, password):
        """Log in: Basic credentials (for the test proxy) on every request."""
        token = base64.b64encode(("%s:%s" % (user, password)).encode()).decode()
        self.call("Network.setExtraHTTPHeaders",
                  headers={"Authorization": "Basic " + token})

    def goto(self, url):
        """Open url and wait until the page has loaded; the HTTP status."""
        self.events.clear()
        res = self.call("Page.navigate", url=url)
        if res.get("errorText"):
            raise CdpError("navigate %s: %s" % (url, res["errorText"]))
        return self._loaded()

    def _loaded(self):
        status = None
        deadline = time.time() + self.timeout
        while status is None and time.time() < deadline:
            e = self.wait_event("Network.responseReceived")
            if e.get("type") == "Document":
                status = e["response"]["status"]
        self.wait_event("Page.loadEventFired")
        return status

    def eval(self, expr):
        """The value of a JavaScript expression in the page (DevTools
        runs it whatever the page's Content-Security-Policy says)."""
        res = self.call("Runtime.evaluate", expression=expr,
                        returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in res:
            raise CdpError("evaluate %s: %s" % (expr, res["exceptionDetails"]))
        return res["result"].get("value")

    def click(self, selector):
        """Click the element (a real mouse click at its centre) and wait for
        the page it leads to; that page's HTTP status (a redirect after a
        POST reports the page it ends on)."""
        box = self.eval(
            "(() => { const e = document.querySelector(%s); if (!e) return null;"
            " e.scrollIntoView({block: 'center'});"
            " const r = e.getBoundingClientRect();"
            " return [r.x + r.width / 2, r.y + r.height / 2]; })()"
            % json.dumps(selector))
        if box is None:
            raise CdpError("no element %s" % selector)
        self.events.clear()
        for kind in ("mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", type=kind, x=box[0],
                      y=box[1], button="left", clickCount=1)
        return self._loaded()

    def screenshot(self, path):
        data = self.call("Page.captureScreenshot", format="png",
                         captureBeyondViewport=True)["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))

    def close(self):
        try:
            if self.ws is not None:
                self.ws.close()
        finally:
            if self.proc.poll() is None:
                os.killpg(self.proc.pid, signal.SIGTERM)
                try:
                    self.proc.wait(10)
                except subprocess.TimeoutExpired:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                    self.proc.wait()
            self.log.close()
            shutil.rmtree(self.profile, ignore_errors=True)
