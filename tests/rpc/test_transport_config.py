"""Only an operator-set transport_url makes the server join the agents' bus."""
from __future__ import annotations

from taas import config
from taas.rpc import api as rpc


def _conf(tmp_path, text: str):
    path = tmp_path / "taas.conf"
    path.write_text(text)
    return config.load(["--config-file", str(path)])


def test_library_default_is_not_a_configured_bus(tmp_path):
    # oslo.messaging defaults transport_url to "rabbit://": an API-only server must not
    # take it as an order to consume the agents' queues of a local broker.
    assert rpc.configured_transport_url(_conf(tmp_path, "[api]\nbind_port = 9999\n")) is None


def test_set_transport_url_is_used(tmp_path):
    url = "rabbit://guest:guest@127.0.0.1:5672/"
    assert rpc.configured_transport_url(_conf(tmp_path, f"[DEFAULT]\ntransport_url = {url}\n")) == url
