"""show stat / show info against the captured HAProxy 2.6 outputs."""

from __future__ import annotations

import json

from haproxy_py.stats.csv import (
    StatFilter,
    collect,
    csv_header,
    render_csv,
    render_json,
    render_typed,
    server_status,
)
from haproxy_py.stats.info import format_uptime, show_info
from tests.conftest import SAMPLES
from tests.unit.test_stats_fixture import NOW, WALL, sample_state

# CSV columns we do not model (idle-connection pool and H1 mux counters): compared for presence only
NOT_MODELLED = {88, 95, 96, 97, 98} | set(range(120, 128))


def _sample_csv() -> list[str]:
    return (SAMPLES / "show_stat.csv").read_text().split("\n")


def test_header_equals_sample_and_column_count() -> None:
    hdr = _sample_csv()[0] + "\n"
    assert csv_header() == hdr
    assert hdr.count(",") == 128
    out = render_csv(collect(sample_state(), NOW, WALL))
    for line in out.splitlines()[1:]:
        assert line.count(",") == 128 and line.endswith(",")


def test_rows_match_sample_values_and_blanks() -> None:
    out = render_csv(collect(sample_state(), NOW, WALL)).split("\n")
    exp = [x for x in _sample_csv() if x]
    got = [x for x in out if x]
    assert len(got) == len(exp)
    for g, e in zip(got[1:], exp[1:], strict=True):
        gf, ef = g.split(","), e.split(",")
        assert len(gf) == len(ef)
        for i, (a, b) in enumerate(zip(gf, ef, strict=True)):
            if i in NOT_MODELLED:
                assert (a == "") == (b == ""), (ef[0], ef[1], i)
            else:
                assert a == b, (ef[0], ef[1], i, a, b)


def test_typed_has_same_fields_tags_and_types_as_sample() -> None:
    got = render_typed(collect(sample_state(), NOW, WALL)).splitlines()
    exp = [x for x in (SAMPLES / "show_stat_typed.txt").read_text().splitlines() if x]

    def key(line: str) -> str:
        return line.rsplit(":", 1)[0] if line.count(":") >= 3 else line

    assert [key(x) for x in got] == [key(x) for x in exp]
    assert "F.2.0.0.pxname.1:KNS:str:web" in got
    assert "S.3.1.56.last_chk.1:MOP:str:" in got


def test_json_structure_matches_sample() -> None:
    got = json.loads(render_json(collect(sample_state(), NOW, WALL)))
    exp = json.loads((SAMPLES / "show_stat_json.json").read_text())

    def strip(objs: list) -> list:
        return [[(f["objType"], f["proxyId"], f["id"], f["field"]["pos"], f["field"]["name"], f["tags"],
                  f["value"]["type"]) for f in o] for o in objs]

    assert strip(got) == strip(exp)
    assert got[0][0]["value"] == {"type": "str", "value": "web"}


def test_filters_and_up_no_maint() -> None:
    st = sample_state()
    rows = collect(st, NOW, WALL, StatFilter(iid=3, types=4, sid=-1))
    assert [r.values[1] for r in rows] == ["s1", "s2", "s3", "bk1"]
    rows = collect(st, NOW, WALL, StatFilter(iid=-1, types=1, sid=-1))
    assert [r.values[0] for r in rows] == ["web", "tcpsvc", "stats"]
    rows = collect(st, NOW, WALL, StatFilter(iid=3, types=-1, sid=2))
    assert [r.values[1] for r in rows] == ["s2", "BACKEND"]
    rows = collect(st, NOW, WALL, StatFilter(hide_down=True))
    names = [(r.values[0], r.values[1], r.values[17]) for r in rows]
    assert ("tcpsvc", "t2", "DOWN") not in names
    assert ("tcpsvc", "BACKEND", "UP (1/2)") in names and ("app", "BACKEND", "UP (4/4)") in names
    assert ("stats", "BACKEND", "UP (0/0)") in names


def test_user_level_blanks_addr_cookie_algo() -> None:
    rows = collect(sample_state(), NOW, WALL, StatFilter(show_legends=False))
    for r in rows:
        assert r.values[73] is None and r.values[74] is None and r.values[76] is None


def test_server_status_strings() -> None:
    st = sample_state()
    s1 = st.backends["app"].servers[0]
    assert server_status(s1) == "UP"
    s1.health = 2
    assert server_status(s1) == "UP 1/3"
    s1.admin.add("FDRAIN")
    assert server_status(s1) == "DRAIN 1/3"
    s1.admin.add("FMAINT")
    assert server_status(s1) == "MAINT"
    s1.admin.clear()
    s1.state = "STOPPED"
    s1.health = 1
    assert server_status(s1) == "DOWN 1/2"
    s1.health = 0
    assert server_status(s1) == "DOWN"
    s1.state = "STOPPING"
    s1.health = 4
    assert server_status(s1) == "NOLB"
    st1 = st.backends["static"].servers[0]
    assert server_status(st1) == "no check"


def test_quoting_of_commas() -> None:
    st = sample_state()
    t2 = st.backends["tcpsvc"].servers[1]
    t2.check_info = 'Detected 2 consecutive errors, last one was: "x"'
    out = render_csv(collect(st, NOW, WALL, StatFilter(iid=5, types=4, sid=2)))
    assert '"Detected 2 consecutive errors, last one was: ""x"""' in out


def test_show_info_matches_sample() -> None:
    got = show_info(sample_state(), NOW, WALL).splitlines()
    exp = [x for x in (SAMPLES / "show_info.txt").read_text().splitlines() if x]
    assert [x.split(":")[0] for x in got] == [x.split(":")[0] for x in exp]
    assert len(got) == 69
    varying = {"Nbthread", "Tasks", "BytesOutRate", "PoolAlloc_bytes", "PoolUsed_bytes"}
    for g, e in zip(got, exp, strict=True):
        if g.split(":")[0] not in varying:
            assert g == e


def test_show_info_typed_and_json() -> None:
    st = sample_state()
    typed = show_info(st, NOW, WALL, "typed").splitlines()
    assert typed[0] == "0.Name.1:POS:str:HAProxy"
    assert "8.Uptime_sec.1:MDP:u32:83" in typed
    js = json.loads(show_info(st, NOW, WALL, "json"))
    assert js[0]["tags"] == {"origin": "Product", "nature": "Output", "scope": "Service"}
    assert js[-1]["field"] == {"pos": 71, "name": "Tainted"}
    desc = show_info(st, NOW, WALL, "typed", desc=True).splitlines()
    assert desc[0] == '0.Name.1:POS:str:HAProxy:"Product name"'


def test_uptime_format() -> None:
    assert format_uptime(83) == "0d 0h01m23s"
    assert format_uptime(90061) == "1d 1h01m01s"
