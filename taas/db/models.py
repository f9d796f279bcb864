"""SQLAlchemy ORM tables: inventory (networks, ports), TaaS resources, quotas and agents."""
from __future__ import annotations

import datetime
import uuid

from sqlalchemy import (JSON, BigInteger, Boolean, DateTime, ForeignKey, Integer, MetaData,
                        String, UniqueConstraint)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Explicit constraint names keep Alembic migrations identical on every backend.
NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_name)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

NAME_LEN = 255
DESCRIPTION_LEN = 1024
PROJECT_LEN = 255
HOST_LEN = 255
UUID_LEN = 36


def new_id() -> str:
    return str(uuid.uuid4())


def utcnow() -> datetime.datetime:
    """Naive UTC: DATETIME columns on MariaDB carry no time zone."""
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class TimestampMixin:
    created_at: Mapped[datetime.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime.datetime] = mapped_column(DateTime, default=utcnow,
                                                          onupdate=utcnow)


class Project(Base):
    """One row per project that ever created something: the lock that serializes its quota."""
    __tablename__ = "projects"
    id: Mapped[str] = mapped_column(String(PROJECT_LEN), primary_key=True)


class QuotaOverride(Base):
    """A per-project limit that replaces the configured default for one resource."""
    __tablename__ = "quotas"
    project_id: Mapped[str] = mapped_column(String(PROJECT_LEN), primary_key=True)
    resource: Mapped[str] = mapped_column(String(64), primary_key=True)
    limit: Mapped[int] = mapped_column("hard_limit", Integer)


class Network(TimestampMixin, Base):
    __tablename__ = "networks"
    id: Mapped[str] = mapped_column(String(UUID_LEN), primary_key=True, default=new_id)
    project_id: Mapped[str] = mapped_column(String(PROJECT_LEN), index=True)
    name: Mapped[str] = mapped_column(String(NAME_LEN), default="")
    description: Mapped[str] = mapped_column(String(DESCRIPTION_LEN), default="")
    shared: Mapped[bool] = mapped_column(Boolean, default=False)
    admin_state_up: Mapped[bool] = mapped_column(Boolean, default=True)
    # UNIQUE: concurrent allocations of the same VNI fail at insert and retry.
    segmentation_id: Mapped[int] = mapped_column(Integer, unique=True)


class Port(TimestampMixin, Base):
    __tablename__ = "ports"
    # One MAC per network, as Neutron: L2 learning and the IN direction depend on it.
    __table_args__ = (UniqueConstraint("network_id", "mac_address",
                                       name="uq_ports_network_id_mac_address"),)
    id: Mapped[str] = mapped_column(String(UUID_LEN), primary_key=True, default=new_id)
    project_id: Mapped[str] = mapped_column(String(PROJECT_LEN), index=True)
    # No ON DELETE: a network with ports cannot be deleted (NetworkInUse).
    network_id: Mapped[str] = mapped_column(ForeignKey("networks.id"), index=True)
    name: Mapped[str] = mapped_column(String(NAME_LEN), default="")
    description: Mapped[str] = mapped_column(String(DESCRIPTION_LEN), default="")
    mac_address: Mapped[str] = mapped_column(String(17))
    fixed_ips: Mapped[list] = mapped_column(JSON, default=list)
    device_id: Mapped[str] = mapped_column(String(NAME_LEN), default="")
    device_owner: Mapped[str] = mapped_column(String(NAME_LEN), default="")
    port_security_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    admin_state_up: Mapped[bool] = mapped_column(Boolean, default=True)
    # "" while unbound, as Neutron's binding:host_id.
    host: Mapped[str] = mapped_column(String(HOST_LEN), default="", index=True)
    tags: Mapped[list] = mapped_column(JSON, default=list)


class StatusMixin:
    status: Mapped[str] = mapped_column(String(16), default="DOWN")
    status_reason: Mapped[str] = mapped_column(String(NAME_LEN), default="")


class TapService(TimestampMixin, StatusMixin, Base):
    __tablename__ = "tap_services"
    id: Mapped[str] = mapped_column(String(UUID_LEN), primary_key=True, default=new_id)
    project_id: Mapped[str] = mapped_column(String(PROJECT_LEN), index=True)
    name: Mapped[str] = mapped_column(String(NAME_LEN), default="")
    description: Mapped[str] = mapped_column(String(DESCRIPTION_LEN), default="")
    port_id: Mapped[str] = mapped_column(ForeignKey("ports.id", ondelete="CASCADE"), index=True)
    # UNIQUE: the mirror-session id (tunnel key) is cloud-wide; see taas.db.allocate.
    session_id: Mapped[int] = mapped_column(Integer, unique=True)


class TapFlow(TimestampMixin, StatusMixin, Base):
    __tablename__ = "tap_flows"
    id: Mapped[str] = mapped_column(String(UUID_LEN), primary_key=True, default=new_id)
    project_id: Mapped[str] = mapped_column(String(PROJECT_LEN), index=True)
    name: Mapped[str] = mapped_column(String(NAME_LEN), default="")
    description: Mapped[str] = mapped_column(String(DESCRIPTION_LEN), default="")
    tap_service_id: Mapped[str] = mapped_column(
        ForeignKey("tap_services.id", ondelete="CASCADE"), index=True)
    source_port: Mapped[str] = mapped_column(ForeignKey("ports.id", ondelete="CASCADE"),
                                             index=True)
    direction: Mapped[str] = mapped_column(String(4))
    vlan_filter: Mapped[str | None] = mapped_column(String(DESCRIPTION_LEN), nullable=True)


class TapMirror(TimestampMixin, StatusMixin, Base):
    __tablename__ = "tap_mirrors"
    id: Mapped[str] = mapped_column(String(UUID_LEN), primary_key=True, default=new_id)
    project_id: Mapped[str] = mapped_column(String(PROJECT_LEN), index=True)
    name: Mapped[str] = mapped_column(String(NAME_LEN), default="")
    description: Mapped[str] = mapped_column(String(DESCRIPTION_LEN), default="")
    port_id: Mapped[str] = mapped_column(ForeignKey("ports.id", ondelete="CASCADE"), index=True)
    remote_ip: Mapped[str] = mapped_column(String(64))
    mirror_type: Mapped[str] = mapped_column(String(16))


class TapMirrorTunnel(Base):
    """One direction of a tap mirror; UNIQUE(tunnel_id) makes tunnel ids cloud-wide unique."""
    __tablename__ = "tap_mirror_tunnels"
    mirror_id: Mapped[str] = mapped_column(ForeignKey("tap_mirrors.id", ondelete="CASCADE"),
                                           primary_key=True)
    direction: Mapped[str] = mapped_column(String(4), primary_key=True)
    # GRE keys are 32-bit unsigned: beyond a signed INTEGER.
    tunnel_id: Mapped[int] = mapped_column(BigInteger, unique=True)


class Agent(Base):
    """One hypervisor: its liveness and the generation counter of its desired state."""
    __tablename__ = "agents"
    host: Mapped[str] = mapped_column(String(HOST_LEN), primary_key=True)
    tunnel_ip: Mapped[str | None] = mapped_column(String(64), nullable=True)
    last_heartbeat: Mapped[datetime.datetime | None] = mapped_column(DateTime, nullable=True)
    # Bumped in the same transaction as every change of the host's desired state.
    generation: Mapped[int] = mapped_column(BigInteger, default=0)
    applied_generation: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_at: Mapped[datetime.datetime] = mapped_column(DateTime, default=utcnow)
