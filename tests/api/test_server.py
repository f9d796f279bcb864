"""`taas server` as a process: config file in, version discovery and auth out."""
from __future__ import annotations

import socket
import subprocess
import sys
import time

import httpx
import yaml

from .conftest import TOKENS


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_taas_server_serves_the_api(tmp_path):
    port = _free_port()
    tokens = tmp_path / "tokens.yaml"
    tokens.write_text(yaml.safe_dump({"tokens": TOKENS}))
    conf = tmp_path / "taas.conf"
    conf.write_text(f"[api]\nbind_port = {port}\n[database]\nconnection = sqlite:///"
                    f"{tmp_path}/taas.sqlite\n[auth]\ntokens_file = {tokens}\n")
    proc = subprocess.Popen([sys.executable, "-m", "taas.cli", "server", "--config-file",
                             str(conf)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                r = httpx.get(url + "/", timeout=1)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stdout.read().decode()
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.1)
        assert r.json()["versions"][0]["links"][0]["href"] == url + "/v2.0/"
        assert httpx.get(url + "/v2.0/taas/tap_services").status_code == 401
        r = httpx.get(url + "/v2.0/taas/tap_services", headers={"X-Auth-Token": "alice-token"})
        assert r.status_code == 200 and r.json() == {"tap_services": []}
    finally:
        proc.terminate()
        proc.wait(timeout=10)
