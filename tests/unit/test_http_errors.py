"""Built-in error pages compared byte for byte with samples/error_pages/*.http, and their log sizes."""

from __future__ import annotations

import re

import pytest

from haproxy_py.http.errors import (
    REASONS,
    ErrorFileError,
    ErrorPages,
    error_body,
    load_errorfile,
    log_bytes,
    mux_error,
    stream_error,
)
from tests.conftest import SAMPLES

PAGES = sorted((SAMPLES / "error_pages").glob("*.http"))
MUX_FILES = {"400_bad_request.http", "408_empty_connection_timeout.http", "408_http_request_timeout.http"}


@pytest.mark.parametrize("path", PAGES, ids=[p.name for p in PAGES])
def test_page_bytes(path):
    raw = path.read_bytes()
    status = int(path.name[:3])
    ours = mux_error(status) if path.name in MUX_FILES else stream_error(status)
    assert ours == raw


def test_all_sample_statuses_covered():
    statuses = {int(p.name[:3]) for p in PAGES}
    assert statuses == {200, 400, 401, 403, 404, 405, 407, 408, 410, 413, 425, 429, 500, 501, 502, 503, 504}
    assert statuses <= set(REASONS)


def test_content_length_is_body_length():
    for code in REASONS:
        page = stream_error(code)
        head, _, body = page.partition(b"\r\n\r\n")
        assert int(re.search(rb"content-length: (\d+)", head).group(1)) == len(body) == len(error_body(code))


def test_log_bytes_match_sample_log():
    # the log of the sample instance: status -> logged bytes, for stream-emitted pages
    log = (SAMPLES / "error_pages" / "log.txt").read_text()
    seen = 0
    for m in re.finditer(r"\] fe \S+ \S+ (\d{3}) (\d+) - - (\S{4})", log):
        status, nbytes, term = int(m.group(1)), int(m.group(2)), m.group(3)
        if term == "----":
            continue  # served by the backend
        mux = status in (400, 408)
        page = mux_error(status) if mux else stream_error(status)
        assert log_bytes(page, mux) == nbytes, (status, nbytes)
        seen += 1
    assert seen >= 18


def test_422_mux_page_as_haproxy_writes_it():
    # probed live: "Transfer-Encoding: gzip, chunked" in a request
    assert mux_error(422) == (
        b"HTTP/1.1 422 Unprocessable Content\r\nContent-length: 116\r\nCache-Control: no-cache\r\n"
        b"Content-Type: text/html\r\n\r\n<html><body><h1>422 Unprocessable Content</h1>\n"
        b"The server cannot process the contained instructions.\n</body></html>\n"
    )


def test_401_407_challenge():
    p = stream_error(401, realm="HAProxy Statistics")
    assert p.startswith(b"HTTP/1.1 401 Unauthorized\r\ncontent-length: 112\r\ncache-control: no-cache\r\n"
                        b"content-type: text/html\r\nwww-authenticate: Basic realm=\"HAProxy Statistics\"\r\n\r\n")
    assert b"proxy-authenticate: Basic realm=\"r\"" in stream_error(407, realm="r")
    assert stream_error(401) == (SAMPLES / "error_pages" / "401_deny_status.http").read_bytes()


def test_unknown_status_uses_500_page():
    assert stream_error(418) == stream_error(500)


def test_errorfile_override(tmp_path):
    f = tmp_path / "503.http"
    f.write_bytes(b"HTTP/1.0 503 Service Unavailable\r\nCache-Control: no-cache\r\nConnection: close\r\n"
                  b"Content-Type: text/html\r\n\r\n<h1>sorry</h1>\n")
    pages = ErrorPages(((503, str(f)),))
    assert pages.response(503) == f.read_bytes()
    assert pages.response(403) == stream_error(403)
    assert pages.log_bytes(pages.response(403)) == 192


@pytest.mark.parametrize("content", [b"", b"garbage\r\n\r\n", b"HTTP/1.1 20 OK\r\n\r\n", b"HTTP/1.1 200 OK\r\n"])
def test_errorfile_invalid(tmp_path, content):
    f = tmp_path / "bad.http"
    f.write_bytes(content)
    with pytest.raises(ErrorFileError):
        load_errorfile(503, str(f))


def test_errorfile_missing(tmp_path):
    with pytest.raises(ErrorFileError, match="error opening file"):
        ErrorPages(((503, str(tmp_path / "nope.http")),))


def test_with_close_appends_the_connection_header_last():
    from haproxy_py.http.errors import stream_error, with_close
    page = stream_error(503)
    closed = with_close(page)
    head, _, body = closed.partition(b"\r\n\r\n")
    assert head.endswith(b"\r\ncontent-type: text/html\r\nconnection: close") and body == page.partition(b"\r\n\r\n")[2]
    assert with_close(page, b"keep-alive").split(b"\r\n\r\n")[0].endswith(b"\r\nconnection: keep-alive")
    custom = b"HTTP/1.0 503 x\r\nConnection: close\r\n\r\nbody"
    assert with_close(custom) == custom
