"""Configuration: oslo.config options and the one typed Settings object built from them."""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from oslo_config import cfg


def _default_db_url() -> str:
    base = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share")) / "taas"
    return f"sqlite:///{base / 'taas.sqlite'}"


api_opts = [
    cfg.HostAddressOpt("bind_host", default="127.0.0.1",
                       help="Address the API listens on. Loopback by default."),
    cfg.PortOpt("bind_port", default=9696, help="Port the API listens on."),
]

database_opts = [
    cfg.StrOpt("connection", default=_default_db_url(),
               sample_default="sqlite:///<$XDG_DATA_HOME or ~/.local/share>/taas/taas.sqlite",
               help="SQLAlchemy URL: sqlite:///path, postgresql://..., mysql+pymysql://..."),
]

auth_opts = [
    cfg.StrOpt("strategy", default="tokens", choices=["tokens", "noauth", "keystone"],
               help="tokens: callers from tokens_file; noauth: every caller is admin of "
                    "noauth_project_id (explicit opt-in, local demos only); keystone: "
                    "keystonemiddleware validates tokens."),
    cfg.StrOpt("tokens_file", default=None,
               help="YAML file: tokens: {<token>: {user, project_id, roles}} and optional "
                    "users: {<name>: {password, project_id, roles}} for HTTP basic."),
    cfg.StrOpt("noauth_project_id", default="00000000000000000000000000000000",
               help="Project of every caller when strategy is noauth."),
]

quota_opts = [
    cfg.IntOpt("tap_service", default=50, min=-1,
               help="Tap services per project (-1: unlimited)."),
    cfg.IntOpt("tap_flow", default=500, min=-1, help="Tap flows per project (-1: unlimited)."),
    cfg.IntOpt("tap_mirror", default=50, min=-1,
               help="Tap mirrors per project (-1: unlimited)."),
]

taas_opts = [
    cfg.StrOpt("session_id_range", default="10000:39999",
               help="first:last mirror-session ids (tunnel keys of tap services). At most "
                    "32752 ids; must not overlap [network] segmentation_id_range."),
]

network_opts = [
    cfg.StrOpt("segmentation_id_range", default="1:4000",
               help="first:last segmentation ids (VNIs) the server gives to networks."),
]

agent_opts = [
    cfg.StrOpt("host", default=None, help="Name of this hypervisor (binding:host_id)."),
    cfg.StrOpt("tunnel_ip", default=None,
               help="Underlay address of this host; mirror tunnels end here."),
    cfg.StrOpt("ovs_rundir", default="/var/run/openvswitch",
               help="Directory of this host's OVS sockets (db.sock, <bridge>.mgmt)."),
    cfg.StrOpt("netns", default=None,
               help="Network namespace the host's OVS lives in (the lab), or none."),
    cfg.FloatOpt("reconcile_interval", default=10.0, min=0.5,
                 help="Seconds between periodic full reconciliations."),
    cfg.FloatOpt("report_interval", default=10.0, min=0.5,
                 help="Seconds between agent heartbeats. The server shows an agent as "
                      "alive while its last heartbeat is younger than 3 intervals."),
]

GROUPS = {
    "api": api_opts,
    "database": database_opts,
    "auth": auth_opts,
    "quotas": quota_opts,
    "taas": taas_opts,
    "network": network_opts,
    "agent": agent_opts,
}


def register_opts(conf: cfg.ConfigOpts) -> None:
    for group, opts in GROUPS.items():
        conf.register_opts(opts, group=group)


def list_opts():
    """Entry point for oslo-config-generator."""
    return list(GROUPS.items())


def parse_range(text: str, name: str) -> tuple[int, int]:
    try:
        first, last = (int(x) for x in text.split(":"))
    except ValueError:
        raise ValueError(f"{name} must be 'first:last', got {text!r}") from None
    if first < 1 or last < first:
        raise ValueError(f"{name} {text!r} is empty or starts below 1")
    return first, last


# A session id travels between br-int, br-tap and br-tun as a VLAN VID (1-4094) plus
# PCP (0-7): 8 * 4094 distinct values (see taas.dataplane.encoding).
MAX_SESSIONS = 8 * 4094


@dataclasses.dataclass(frozen=True)
class Settings:
    bind_host: str = "127.0.0.1"
    bind_port: int = 9696
    database_url: str = dataclasses.field(default_factory=_default_db_url)
    auth_strategy: str = "tokens"
    tokens_file: str | None = None
    noauth_project_id: str = "00000000000000000000000000000000"
    quota_tap_service: int = 50
    quota_tap_flow: int = 500
    quota_tap_mirror: int = 50
    session_id_range: tuple[int, int] = (10000, 39999)
    segmentation_id_range: tuple[int, int] = (1, 4000)
    report_interval: float = 10.0

    def __post_init__(self):
        s_first, s_last = self.session_id_range
        n_first, n_last = self.segmentation_id_range
        if s_last - s_first + 1 > MAX_SESSIONS:
            raise ValueError(f"session_id_range holds more than {MAX_SESSIONS} ids")
        if s_last > 2**24 - 1 or n_last > 2**24 - 1:
            raise ValueError("ids must fit a 24-bit tunnel key")
        if not (s_last < n_first or n_last < s_first):
            raise ValueError("session_id_range overlaps segmentation_id_range")

    @classmethod
    def from_conf(cls, conf: cfg.ConfigOpts) -> "Settings":
        return cls(
            bind_host=conf.api.bind_host,
            bind_port=conf.api.bind_port,
            database_url=conf.database.connection,
            auth_strategy=conf.auth.strategy,
            tokens_file=conf.auth.tokens_file,
            noauth_project_id=conf.auth.noauth_project_id,
            quota_tap_service=conf.quotas.tap_service,
            quota_tap_flow=conf.quotas.tap_flow,
            quota_tap_mirror=conf.quotas.tap_mirror,
            session_id_range=parse_range(conf.taas.session_id_range, "session_id_range"),
            segmentation_id_range=parse_range(conf.network.segmentation_id_range,
                                              "segmentation_id_range"),
            report_interval=conf.agent.report_interval,
        )


def load(argv: list[str] | None = None, conf: cfg.ConfigOpts | None = None) -> cfg.ConfigOpts:
    """Parse --config-file arguments into a fresh ConfigOpts with every taas option."""
    conf = conf or cfg.ConfigOpts()
    register_opts(conf)
    conf(argv or [], project="taas")
    return conf
