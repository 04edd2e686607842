"""The HTML stats page: haproxy-py against Debian's HAProxy 2.6, compared as a DOM.

Both proxies run the same configuration (a server whose check fails, one without checks, one in
maintenance, a backup, a listen with the page in admin mode); both pages are parsed with
html.parser and every row of every proxy table is compared cell by cell in the "Server" column
group (Status, LastChk, Wght, Act, Bck, Chk, Dwn, Dwntme, Thrtle): the cell's text, its class and
colspan. Durations are normalised (``2s DOWN`` and ``3s DOWN`` are the same cell, and so are
``L4CON in 0ms`` and ``L4CON in 1ms``). The admin form
(select-all checkbox, per-server checkbox class, the action list) is compared too.
"""

from __future__ import annotations

import html.parser
import re
import time
import urllib.request
from typing import Any

import pytest

from tests.conftest import free_port
from tests.integration.harness import require_haproxy, run_proxy
from tests.integration.stats_client import stats_cli

CFG = """\
global
    stats socket @DIR@/admin.sock level admin
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
listen st
    bind 127.0.0.1:{port}
    stats enable
    stats uri /stats
    stats admin if TRUE
backend app
    balance roundrobin
    server s1 127.0.0.1:1 check inter 500 fall 1
    server s2 127.0.0.1:{port} weight 3
    server s3 127.0.0.1:{port} weight 2
    server b1 127.0.0.1:{port} backup
"""

SERVER_GROUP = 9  # Status LastChk Wght Act Bck Chk Dwn Dwntme Thrtle


class Rows(html.parser.HTMLParser):
    """Rows of the depth-1 ``tbl`` tables: (tr class, [(text, class, colspan), ...])."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[tuple[str, list[tuple[str, str, str]]]] = []
        self.depth = 0
        self.td: list[str] | None = None
        self.attrs: dict[str, str | None] = {}
        self.inputs: list[dict[str, str | None]] = []
        self.options: list[str | None] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "table":
            self.depth += 1
        elif tag == "input":
            self.inputs.append(a)
        elif tag == "option":
            self.options.append(a.get("value"))
        elif self.depth == 1 and tag == "tr":
            self.rows.append((a.get("class") or "", []))
        elif self.depth == 1 and tag == "td":
            self.td, self.attrs = [], a

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self.depth -= 1
        elif self.depth == 1 and tag == "td" and self.td is not None:
            text = " ".join("".join(self.td).split())
            self.rows[-1][1].append((text, self.attrs.get("class") or "", self.attrs.get("colspan") or ""))
            self.td = None

    def handle_data(self, data: str) -> None:
        if self.td is not None:
            self.td.append(data)


def _norm(text: str) -> str:
    text = re.sub(r" in \d+ms", " in Nms", text)  # a check's duration varies from run to run
    # need_conn_est is an engine estimate (haproxy-py: 0 with no traffic, 2.6: 1): the CSV value, not the page
    text = re.sub(r"Estimated need of connections:\d+", "Estimated need of connections:N", text)
    return re.sub(r"\b(\d+d)?(\d+h)?(\d+m)?\d+s\b|\b\d+[dhm](\d+[hms])?\b", "DUR", text)


def _page(which: str) -> Rows:
    port = free_port()
    with run_proxy(CFG.format(port=port), wait_ports=[port], which=which) as pp:
        sock = str(pp.workdir / "admin.sock")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # s1's check has failed once (fall 1): DOWN
            try:
                if "DOWN" in stats_cli(sock, "show stat"):
                    break
            except OSError:
                pass
            time.sleep(0.2)
        stats_cli(sock, "set server app/s3 state maint")
        stats_cli(sock, "set weight app/s2 1")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/stats", timeout=5) as r:
            text = r.read().decode("latin-1")
    p = Rows()
    p.feed(text)
    return p


@pytest.fixture(scope="module")
def pages() -> dict[str, Rows]:
    require_haproxy("haproxy", "the page to compare with")
    return {w: _page(w) for w in ("haproxy", "ours")}


def _server_groups(p: Rows) -> list[tuple[str, list[tuple[str, str, str]]]]:
    out = []
    for cls, cells in p.rows:
        if cls in ("", "titre"):
            continue
        # the group is the last cells of the row: 9 cells, or fewer when colspans cover some
        tail: list[tuple[str, str, str]] = []
        span = 0
        for cell in reversed(cells):
            tail.insert(0, (_norm(cell[0]), cell[1], cell[2]))
            span += int(cell[2] or 1)
            if span >= SERVER_GROUP:
                break
        out.append((cls, tail))
    return out


def test_server_column_group_matches_haproxy(pages: dict[str, Any]) -> None:
    h, o = _server_groups(pages["haproxy"]), _server_groups(pages["ours"])
    assert [c for c, _ in o] == [c for c, _ in h]
    assert o == h
    # what the comparison covers, read from 2.6's page itself
    flat = {cell[0] for _, cells in h for cell in cells}
    assert {"DUR DOWN", "DUR UP", "DUR MAINT", "1/1", "Y", "-", "OPEN"} <= flat
    assert any(t.startswith("L4CON in Nms") and "Connection refused" in t for t in flat)


def test_admin_form_matches_haproxy(pages: dict[str, Any]) -> None:
    h, o = pages["haproxy"], pages["ours"]
    assert o.options == h.options  # the action list, agent actions included
    def boxes(p: Rows) -> list[tuple[Any, ...]]:
        # the admin forms' inputs only (the "Display option" box's scope input is not drawn yet)
        return [(i.get("type"), i.get("class"), i.get("name"), i.get("value"), bool(i.get("onclick")))
                for i in p.inputs if i.get("type") in ("checkbox", "hidden", "submit")]

    assert boxes(o) == boxes(h)


def test_every_row_has_the_same_cells_as_haproxy(pages: dict[str, Any]) -> None:
    """Every row of every table: the same cells (class, colspan); the servers' rows and the app
    backend's row also the same texts, tips included (durations normalised). The frontend and the
    stats backend keep two counters of the engine's own (maxconn's share, the stats applet's
    last session), so only their structure is compared."""
    def shape(p: Rows) -> list[tuple[str, list[tuple[str, str]]]]:
        return [(c, [(k, span) for _t, k, span in cells]) for c, cells in p.rows if c not in ("", "titre")]

    h, o = pages["haproxy"], pages["ours"]
    assert shape(o) == shape(h)

    def texts(p: Rows) -> list[tuple[str, list[str]]]:
        rows = [(c, [_norm(t) for t, _k, _s in cells]) for c, cells in p.rows if c not in ("", "titre")]
        return [r for r in rows if r[0].startswith(("active", "backup", "maintain"))] + rows[-1:]

    assert texts(o) == texts(h)
    assert {c for c, _ in texts(h)} == {"active_down", "active_no_check", "maintain", "backup_no_check", "backend"}
    assert any("Connection resets during transfers" in t for _c, ts in texts(h) for t in ts)


class General(html.parser.HTMLParser):
    """The "General process information" block: its text lines, the legend's cells, the links."""

    def __init__(self) -> None:
        super().__init__()
        self.on = False
        self.text: list[str] = []
        self.legend: list[tuple[str | None, str | None]] = []
        self.links: list[tuple[str | None, str]] = []
        self._a: str | None = None
        self._td: str | None = None
        self._cls: str | None = None
        self._colspan: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "h3":
            self.on = True
        if not self.on:
            return
        if tag == "table" and a.get("class") == "tbl":
            self.on = False
        elif tag == "td" and a.get("class"):
            self._td, self._cls, self._colspan = "", a.get("class"), a.get("colspan")
        elif tag == "a":
            self._a = a.get("href")
            self.links.append((self._a, ""))
        elif tag == "br":
            self.text.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._td is not None:
            self.legend.append((self._cls, " ".join(self._td.split()) + (f"|{self._colspan}" if self._colspan else "")))
            self._td = None
        elif tag == "a":
            self._a = None

    def handle_data(self, data: str) -> None:
        if not self.on:
            return
        self.text.append(data)
        if self._td is not None:
            self._td += data
        if self._a is not None:
            href, t = self.links[-1]
            self.links[-1] = (href, t + data)


def _general(which: str) -> General:
    port = free_port()
    with run_proxy(CFG.format(port=port), wait_ports=[port], which=which):
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/stats", timeout=5) as r:
            text = r.read().decode("latin-1")
    g = General()
    g.feed(text)
    return g


def test_general_information_legend_and_display_options_match_haproxy() -> None:
    require_haproxy("haproxy", "the page to compare with")
    h, o = _general("haproxy"), _general("ours")
    assert o.legend == h.legend and len(h.legend) == 20  # 10 colour swatches, 10 captions
    assert o.links == h.links
    assert ("/stats;up", "Hide 'DOWN' servers") in h.links and ("/stats;csv", "CSV export") in h.links

    def lines(g: General) -> list[str]:
        # numbers (pid, limits, counts, uptime) differ between two processes; the sentences must not
        text = re.sub(r"\d+(\.\d+)?", "N", "".join(g.text))
        return [" ".join(ln.split()) for ln in text.split("\n") if ln.strip()]

    assert lines(o) == lines(h)
    assert any(ln.startswith("system limits: memmax = unlimited; ulimit-n = N") for ln in lines(h))
    assert any(ln.startswith("Running tasks: N/N; idle = N %") for ln in lines(h))


def _post(which: str, body: bytes) -> tuple[int, list[tuple[str, str]]]:
    import http.client

    port = free_port()
    with run_proxy(CFG.format(port=port), wait_ports=[port], which=which):
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        c.request("POST", "/stats", body, {"Content-Type": "application/x-www-form-urlencoded"})
        r = c.getresponse()
        r.read()
        c.close()
        return r.status, [(k.lower(), v) for k, v in r.getheaders()]


def test_admin_post_answer_matches_haproxy() -> None:
    """The 303 that answers an admin action: the same headers, in the same order."""
    require_haproxy("haproxy", "the page to compare with")
    for body in (b"s=s2&action=drain&b=%233", b"action=maint&b=%233"):
        h, o = _post("haproxy", body), _post("ours", body)
        assert o == h, body
        assert h[0] == 303 and [k for k, _ in h[1]] == ["cache-control", "content-type", "content-length", "location"]


SCOPE_CFG = CFG.replace("    stats admin if TRUE\n", "    stats admin if TRUE\n    stats refresh 10s\n") + """\
backend App2
    server s1 127.0.0.1:1
backend other
    server s1 127.0.0.1:1
"""

SCOPE_URIS = ["/stats;scope=app", "/stats?scope=APP", "/stats;up;scope=ap&x", "/stats;scope=", "/stats;scope=a",
              "/stats;scope=averyveryverylongscopenamexx", "/stats;norefresh;scope=oth", "/stats;scope=a<b",
              "/stats;scope=o.p", "/stats;scope=APP2&scope=oth", "/stats;up;norefresh?scope=pp",
              "/stats;csv;scope=app", "/stats;csv?scope=OTHER", "/stats;json;scope=other"]


def _scoped(which: str) -> list[object]:
    """For each URI: the proxies (and servers) the page shows, the scope box's value and the links;
    for the exports, the proxies they list."""
    port = free_port()
    out: list[object] = []
    with run_proxy(SCOPE_CFG.format(port=port), wait_ports=[port], which=which):
        for u in SCOPE_URIS:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{u}", timeout=5) as r:
                text = r.read().decode("latin-1")
            if ";csv" in u:
                out.append((u, sorted({ln.split(",")[0] for ln in text.splitlines()[1:] if ln})))
            elif ";json" in u:
                out.append((u, sorted(set(re.findall(r'"name":"pxname","value":\{"type":"str","value":"([^"]*)"', text)))))
            else:
                g = General()
                g.feed(text)
                out.append((u, re.findall(r'<a name="([^"]*)"', text), re.findall(r'Scope : <input value="([^"]*)"', text),
                            g.links))
    return out


def test_scope_box_filters_proxies_as_haproxy() -> None:
    """The 'Scope' box: ';scope=TEXT' or '?scope=TEXT' (what the box's form sends) shows only the
    proxies whose name contains TEXT in any case, also in the CSV and JSON exports; the box keeps
    the text and every link carries it ('?scope=TEXT') with ';up' / ';norefresh'; 2.6's limits
    (20 characters, letters, digits and '.:_-' only, at least two characters) are kept."""
    require_haproxy("haproxy", "the page to compare with")
    theirs = _scoped("haproxy")
    assert _scoped("ours") == theirs
    assert theirs[0][1] == ["app", "app/s1", "app/s2", "app/s3", "app/b1", "app/Backend", "App2", "App2/s1",  # type: ignore[index]
                            "App2/Backend"], theirs[0]


def test_running_tasks_are_real_figures_as_haproxy() -> None:
    """'Running tasks: R/T; idle = I %': 2.6 counts its tasks (the listener, the health check, the
    page's own applet, ...) and the ones ready to run; so do we (sessions, listeners, checks,
    resolutions, the page; the callbacks ready in the loop). Not 0/0."""
    require_haproxy("haproxy", "the page to compare with")
    got = {}
    for which in ("haproxy", "ours"):
        port = free_port()
        with run_proxy(CFG.format(port=port), wait_ports=[port], which=which):
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/stats", timeout=5) as r:
                text = r.read().decode("latin-1")
        m = re.search(r"Running tasks: (\d+)/(\d+); idle = (\d+) %", text)
        assert m, text[:2000]
        got[which] = tuple(int(x) for x in m.groups())
    for which, (run, tasks, idle) in got.items():
        # the listener, s1's health check and the page itself at least
        assert 0 <= run <= tasks and tasks >= 3 and 0 <= idle <= 100, (which, got)
