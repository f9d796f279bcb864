"""`taas server --config-file FILE`: the API under uvicorn."""
from __future__ import annotations

import logging
import sys

import uvicorn

from taas import config
from taas.api.app import create_app
from taas.api.runtime import Notifier
from taas.rpc import api as rpc

LOG = logging.getLogger(__name__)


def main(argv: list[str] | None = None, notifier: Notifier | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    conf = config.load(argv)
    settings = config.Settings.from_conf(conf)
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # With [DEFAULT] transport_url the server answers agents and tells them of changes;
    # without it the API runs alone (no dataplane).
    server_rpc = None
    if rpc.configured_transport_url(conf):
        server_rpc = rpc.ServerRpc(rpc.get_transport(conf))
        notifier = notifier or server_rpc.notifier
    app = create_app(settings, notifier=notifier, conf=conf)
    LOG.info("taas API on http://%s:%d (auth: %s, database: %s)", settings.bind_host,
             settings.bind_port, settings.auth_strategy, app.state.runtime.db.engine.url)
    if server_rpc:
        server_rpc.start(app.state.runtime.db, settings.report_interval)
    try:
        uvicorn.run(app, host=settings.bind_host, port=settings.bind_port, log_level="info",
                    # Neutron clients keep connections open between calls.
                    timeout_keep_alive=30)
    finally:
        if server_rpc:
            server_rpc.stop()
    return 0
