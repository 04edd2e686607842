"""``-c`` on TLS configurations, side by side with ``haproxy -c``: the certificate and CA files are
opened and checked (missing, no key, a key of another certificate), the TLS parameters and globals
are validated, with 2.6's messages at FILE:LINE (our extra ``   |`` lines aside)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.harness import ROOT, require_haproxy
from tests.integration.tls_certs import Certs

HEAD = """defaults
    mode http
    timeout connect 1s
    timeout client 1s
    timeout server 1s
frontend fe
"""

CASES = {
    "missing_crt": "    bind 127.0.0.1:1 ssl crt {root}/nope.pem\n",
    "key_mismatch": "    bind 127.0.0.1:1 ssl crt {root}/mismatch.pem\n",
    "no_key": "    bind 127.0.0.1:1 ssl crt {root}/ec.crt\n",
    "not_a_cert": "    bind 127.0.0.1:1 ssl crt {root}/ec.key\n",
    "bad_version": "    bind 127.0.0.1:1 ssl crt {root}/ec.pem ssl-min-ver TLSv1.4\n",
    "bad_verify": "    bind 127.0.0.1:1 ssl crt {root}/ec.pem verify maybe\n",
    "missing_values": "    bind 127.0.0.1:1 ssl crt\n    bind 127.0.0.1:2 ssl crt {root}/ec.pem alpn\n"
                      "    bind 127.0.0.1:3 ssl crt {root}/ec.pem ssl-max-ver\n"
                      "    bind 127.0.0.1:4 ssl crt {root}/ec.pem ciphers\n",
    "verify_without_ca": "    bind 127.0.0.1:1 ssl crt {root}/ec.pem verify required\n",
    "ssl_without_crt": "    bind 127.0.0.1:1 ssl\n",
    "all_disabled": "    bind 127.0.0.1:1 ssl crt {root}/ec.pem ssl-min-ver TLSv1.3 ssl-max-ver TLSv1.2\n",
    "bad_ciphers": "    bind 127.0.0.1:1 ssl crt {root}/ec.pem ciphers FOO\n"
                   "    bind 127.0.0.1:2 ssl crt {root}/ec.pem ciphersuites BAR\n",
    "missing_ca": "    bind 127.0.0.1:1 ssl crt {root}/ec.pem ca-file {root}/nope.crt verify required\n",
    "ca_not_a_cert": "    bind 127.0.0.1:1 ssl crt {root}/ec.pem ca-file {root}/ec.key verify optional\n",
    "no_tls_flags_ignored": "    bind 127.0.0.1:1 ssl crt {root}/ec.pem no-tlsv12 ssl-min-ver TLSv1.2\n",
    "global_options": "GLOBAL    ssl-default-bind-options ssl-min-ver TLSv1.9\n"
                      "    ssl-default-bind-options no-tlsv10 bogus\n",
    "srv_default_verify": "    bind 127.0.0.1:1\nbackend be\n    server s1 127.0.0.1:1 ssl\n"
                          "    server s2 127.0.0.1:1 ssl verify required\n    server s3 127.0.0.1:1 check-ssl check\n",
    "srv_bad_values": "    bind 127.0.0.1:1\nbackend be\n    server s1 127.0.0.1:1 ssl verify maybe\n"
                      "    server s2 127.0.0.1:1 ssl verify none sni\n    server s3 127.0.0.1:1 ssl verify none sni foo(\n"
                      "    server s4 127.0.0.1:1 ssl verify none alpn\n"
                      "    server s5 127.0.0.1:1 ssl verify none ca-file {root}/nope.crt\n",
    "srv_post": "    bind 127.0.0.1:1\nbackend be\n"
                "    server s1 127.0.0.1:1 ssl verify none ssl-max-ver TLSv1.2 ssl-min-ver TLSv1.3\n"
                "    server s2 127.0.0.1:1 ssl verify none ciphers BAD\n"
                "    server s3 127.0.0.1:1 ssl verify none ciphersuites BAD\n",
    "srv_good": "GLOBAL    ssl-server-verify none\n    ssl-default-server-options ssl-min-ver TLSv1.2 no-tlsv10\n"
                "    ssl-default-server-ciphers ECDHE-ECDSA-AES128-GCM-SHA256\n"
                "    bind 127.0.0.1:1\nbackend be\n    default-server ssl ca-file {root}/ca.crt\n"
                "    server s1 127.0.0.1:1 sni req.hdr(host) alpn http/1.1 verify required\n"
                "    server s2 127.0.0.1:1 no-ssl check-ssl check\n",
    "good": "GLOBAL    crt-base {root}\n    ca-base {root}\n    ssl-default-bind-options ssl-min-ver TLSv1.2\n"
            "    ssl-default-bind-ciphers ECDHE-ECDSA-AES128-GCM-SHA256\n"
            "    ssl-default-bind-ciphersuites TLS_AES_128_GCM_SHA256\n"
            "    bind 127.0.0.1:1 ssl crt ec.pem crt {root}/dir strict-sni alpn http/1.1 ca-file ca.crt "
            "verify optional\n",
}


def _config(case: str, root: Path) -> str:
    body = CASES[case].format(root=root)
    glob = ""
    if body.startswith("GLOBAL"):
        first, _, rest = body.partition("\n")
        glob_lines = [first[len("GLOBAL"):]]
        lines = rest.splitlines(keepends=True)
        while lines and not lines[0].startswith("    bind"):
            glob_lines.append(lines.pop(0).rstrip("\n"))
        glob = "global\n" + "\n".join(glob_lines) + "\n"
        body = "".join(lines)
    return glob + HEAD + body


def _lines(text: str) -> list[str]:
    return [re.sub(r"\(\d+\)", "(PID)", ln) for ln in text.splitlines()
            if ln.startswith(("[ALERT]", "[WARNING]"))]


@pytest.mark.parametrize("case", sorted(CASES))
def test_tls_check_messages_as_haproxy(case: str, certs: Certs, tmp_path: Path) -> None:
    require_haproxy("haproxy")
    root = certs.root
    mismatch = root / "mismatch.pem"
    if not mismatch.exists():
        mismatch.write_text((root / "ec.crt").read_text() + (root / "client.key").read_text())
    cfg = tmp_path / "t.cfg"
    cfg.write_text(_config(case, root))
    theirs = subprocess.run(["haproxy", "-c", "-f", cfg.name], cwd=tmp_path, capture_output=True, text=True,
                            timeout=30)
    ours = subprocess.run([sys.executable, "-m", "haproxy_py", "-c", "-f", cfg.name], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert _lines(ours.stderr) == _lines(theirs.stderr), ours.stderr
    assert ours.returncode == theirs.returncode, ours.stderr
