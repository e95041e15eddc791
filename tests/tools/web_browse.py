"""web_browse.py - the browser half of tests/sh/test_web.sh: a user logs
in through the test proxy with headless Chromium and uses edgespam-web.

    /usr/bin/python3 web_browse.py BASE_URL SHOTS_DIR TMPDIR

BASE_URL is the proxy's (http://127.0.0.1:PORT/). The store holds, for
bob@example.org (password "bob-pw"), the milter's history rows of a
message with the Subject HOSTILE below (Innocent), a ham message and a
spam message; admin@example.org (password "admin-pw") is in web_admins.
Each check prints "ok: ..." or raises; screenshots go to
SHOTS_DIR/web-history.png, web-lists.png, web-stats.png (and
web-domains.png). Exit 0 when every check passed.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cdp import Browser  # noqa: E402

HOSTILE = '<script>document.title="pwned-script"</script> ' \
          '"><img src=x onerror="document.title=\'pwned-img\'">'


def check(cond, what, detail=""):
    if not cond:
        raise AssertionError("%s %s" % (what, detail))
    print("ok: " + what, flush=True)


def main():
    base, shots, tmp = sys.argv[1:4]
    b = Browser(tmp)
    try:
        # log in: the proxy takes Basic credentials and names the user
        b.auth("bob", "bob-pw")
        st = b.goto(base)
        check(st == 200, "logged in through the proxy", st)
        check(b.eval("location.pathname").endswith("/history"),
              "the start page is the history", b.eval("location.href"))
        check(b.eval("document.getElementById('who').textContent")
              == "bob@example.org", "the page names the user")

        # the hostile Subject is text: no element, no script ran
        subj = b.eval("[...document.querySelectorAll('#history td.subj')]"
                      ".map(e => e.textContent)")
        check(HOSTILE in subj, "the hostile Subject shows as its text",
              json.dumps(subj))
        check(b.eval("document.querySelectorAll('img').length") == 0,
              "no img element in the page")
        check(b.eval("document.querySelectorAll('script').length") == 0,
              "no script element in the page")
        check(b.eval("document.querySelector('#history td.subj *')") is None,
              "no element inside any Subject cell")
        check(not b.eval("document.title").startswith("pwned"),
              "no injected handler ran", b.eval("document.title"))
        b.screenshot(os.path.join(shots, "web-history.png"))

        # one click on "this is spam" of the Innocent ham row
        rid = b.eval("(() => { for (const tr of document.querySelectorAll("
                     "'#history tr.Innocent')) if (tr.querySelector("
                     "'td.subj').textContent.startsWith('meeting notes')) "
                     "return tr.id; return null; })()")
        check(rid is not None, "an Innocent ham row is listed")
        st = b.click("#%s button.isspam" % rid)
        check(st == 200, "the correction answers with the history again", st)
        check("done=spam" in b.eval("location.search"),
              "redirected with the outcome", b.eval("location.href"))
        check(b.eval("document.getElementById('note').textContent")
              .startswith("Corrected"), "the page says it is corrected")
        fix = b.eval("document.querySelector('#%s td.fix').textContent" % rid)
        check(fix == "corrected: spam", "the row is marked corrected", fix)
        check(b.eval("document.querySelector('#%s button')" % rid) is None,
              "the row has no button any more")

        # the search finds the row by a part of its Subject
        b.eval("document.getElementById('q').value = 'meeting'")
        b.click("#search")
        rows = b.eval("document.querySelectorAll('#history tr[id]').length")
        check(rows == 1, "the search keeps the one matching row", rows)

        # the sender lists: add through the form
        b.goto(base + "lists")
        b.eval("document.getElementById('pattern').value = "
               "'Friend@Example.COM'")
        b.eval("document.getElementById('list').value = 'allow'")
        st = b.click("#add")
        check(st == 200 and "done=added" in b.eval("location.search"),
              "a sender added", b.eval("location.href"))
        lists = b.eval("document.getElementById('lists').innerText")
        check("friend@example.com" in lists, "the list shows it normalised",
              lists)
        b.eval("document.getElementById('pattern').value = '@spam.example'")
        b.eval("document.getElementById('list').value = 'block'")
        b.click("#add")
        b.screenshot(os.path.join(shots, "web-lists.png"))
        b.eval("document.getElementById('pattern').value = 'gone@example.net'")
        b.eval("document.getElementById('list').value = 'block'")
        b.click("#add")
        b.eval("[...document.querySelectorAll('#lists tr')].find(tr => "
               "tr.cells[1] && tr.cells[1].textContent === 'gone@example.net')"
               ".querySelector('button').id = 'rm-gone'")
        st = b.click("#rm-gone")
        lists = b.eval("document.getElementById('lists').innerText")
        check(st == 200 and "done=removed" in b.eval("location.search")
              and "gone@example.net" not in lists
              and "@spam.example" in lists, "a sender removed", lists)

        # filtering: opt in
        b.goto(base + "prefs")
        b.click("#opt-in")
        check(b.eval("document.getElementById('choice').textContent")
              == "opt-in", "opted in")

        # statistics: the totals and the two plots
        st = b.goto(base + "stats")
        check(st == 200, "the statistics page", st)
        check(b.eval("document.getElementById('fn').textContent") == "1",
              "one missed spam in the totals",
              b.eval("document.getElementById('totals').innerText"))
        for svg in ("per-day", "accuracy"):
            check(b.eval("document.querySelector('svg#%s') !== null" % svg),
                  "the %s plot is drawn" % svg)
        bars = b.eval("document.querySelectorAll('svg#per-day rect[fill="
                      "\"#e67e22\"]').length")
        check(bars == 2, "the missed spam of today in the plot (legend and "
              "one bar)", bars)
        b.screenshot(os.path.join(shots, "web-stats.png"))

        # bob is no admin; the admin sees the domains
        st = b.goto(base + "domains")
        check(st == 403, "the domain page is refused to a user", st)
        b.auth("admin", "admin-pw")
        st = b.goto(base + "domains")
        check(st == 200, "the admin sees the domain page", st)
        b.screenshot(os.path.join(shots, "web-domains.png"))
        st = b.goto(base + "sources")
        check(st == 200 and "192.0.2." in b.eval(
            "document.getElementById('sources').innerText"),
            "the admin sees the spam sources", st)
    finally:
        b.close()
    print("browser: all checks passed")


if __name__ == "__main__":
    main()
