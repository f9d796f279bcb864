"""Initial schema: inventory, TaaS resources, quotas, agents.

Revision ID: 0001_initial
Revises:
Create Date: 2026-01-01
"""
from alembic import op
import sqlalchemy as sa

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None


def _timestamps():
    return [sa.Column("created_at", sa.DateTime(), nullable=False),
            sa.Column("updated_at", sa.DateTime(), nullable=False)]


def _common(table: str):
    """id, project_id, name, description: the attributes every API resource has."""
    return [sa.Column("id", sa.String(36), nullable=False),
            sa.Column("project_id", sa.String(255), nullable=False),
            sa.Column("name", sa.String(255), nullable=False),
            sa.Column("description", sa.String(1024), nullable=False),
            sa.PrimaryKeyConstraint("id", name=f"pk_{table}")]


def _status():
    return [sa.Column("status", sa.String(16), nullable=False),
            sa.Column("status_reason", sa.String(255), nullable=False)]


def upgrade() -> None:
    op.create_table(
        "projects",
        sa.Column("id", sa.String(255), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_projects"))
    op.create_table(
        "quotas",
        sa.Column("project_id", sa.String(255), nullable=False),
        sa.Column("resource", sa.String(64), nullable=False),
        sa.Column("hard_limit", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("project_id", "resource", name="pk_quotas"))
    op.create_table(
        "networks", *_common("networks"), *_timestamps(),
        sa.Column("shared", sa.Boolean(), nullable=False),
        sa.Column("admin_state_up", sa.Boolean(), nullable=False),
        sa.Column("segmentation_id", sa.Integer(), nullable=False),
        sa.UniqueConstraint("segmentation_id", name="uq_networks_segmentation_id"))
    op.create_index("ix_networks_project_id", "networks", ["project_id"])
    op.create_table(
        "ports", *_common("ports"), *_timestamps(),
        sa.Column("network_id", sa.String(36), nullable=False),
        sa.Column("mac_address", sa.String(17), nullable=False),
        sa.Column("fixed_ips", sa.JSON(), nullable=False),
        sa.Column("device_id", sa.String(255), nullable=False),
        sa.Column("device_owner", sa.String(255), nullable=False),
        sa.Column("port_security_enabled", sa.Boolean(), nullable=False),
        sa.Column("admin_state_up", sa.Boolean(), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["network_id"], ["networks.id"],
                                name="fk_ports_network_id_networks"),
        sa.UniqueConstraint("network_id", "mac_address", name="uq_ports_network_id_mac_address"))
    op.create_index("ix_ports_project_id", "ports", ["project_id"])
    op.create_index("ix_ports_network_id", "ports", ["network_id"])
    op.create_index("ix_ports_host", "ports", ["host"])
    op.create_table(
        "tap_services", *_common("tap_services"), *_timestamps(), *_status(),
        sa.Column("port_id", sa.String(36), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["port_id"], ["ports.id"], ondelete="CASCADE",
                                name="fk_tap_services_port_id_ports"),
        sa.UniqueConstraint("session_id", name="uq_tap_services_session_id"))
    op.create_index("ix_tap_services_project_id", "tap_services", ["project_id"])
    op.create_index("ix_tap_services_port_id", "tap_services", ["port_id"])
    op.create_table(
        "tap_flows", *_common("tap_flows"), *_timestamps(), *_status(),
        sa.Column("tap_service_id", sa.String(36), nullable=False),
        sa.Column("source_port", sa.String(36), nullable=False),
        sa.Column("direction", sa.String(4), nullable=False),
        sa.Column("vlan_filter", sa.String(1024), nullable=True),
        sa.ForeignKeyConstraint(["tap_service_id"], ["tap_services.id"], ondelete="CASCADE",
                                name="fk_tap_flows_tap_service_id_tap_services"),
        sa.ForeignKeyConstraint(["source_port"], ["ports.id"], ondelete="CASCADE",
                                name="fk_tap_flows_source_port_ports"))
    op.create_index("ix_tap_flows_project_id", "tap_flows", ["project_id"])
    op.create_index("ix_tap_flows_tap_service_id", "tap_flows", ["tap_service_id"])
    op.create_index("ix_tap_flows_source_port", "tap_flows", ["source_port"])
    op.create_table(
        "tap_mirrors", *_common("tap_mirrors"), *_timestamps(), *_status(),
        sa.Column("port_id", sa.String(36), nullable=False),
        sa.Column("remote_ip", sa.String(64), nullable=False),
        sa.Column("mirror_type", sa.String(16), nullable=False),
        sa.ForeignKeyConstraint(["port_id"], ["ports.id"], ondelete="CASCADE",
                                name="fk_tap_mirrors_port_id_ports"))
    op.create_index("ix_tap_mirrors_project_id", "tap_mirrors", ["project_id"])
    op.create_index("ix_tap_mirrors_port_id", "tap_mirrors", ["port_id"])
    op.create_table(
        "tap_mirror_tunnels",
        sa.Column("mirror_id", sa.String(36), nullable=False),
        sa.Column("direction", sa.String(4), nullable=False),
        sa.Column("tunnel_id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["mirror_id"], ["tap_mirrors.id"], ondelete="CASCADE",
                                name="fk_tap_mirror_tunnels_mirror_id_tap_mirrors"),
        sa.PrimaryKeyConstraint("mirror_id", "direction", name="pk_tap_mirror_tunnels"),
        sa.UniqueConstraint("tunnel_id", name="uq_tap_mirror_tunnels_tunnel_id"))
    op.create_table(
        "agents",
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("tunnel_ip", sa.String(64), nullable=True),
        sa.Column("last_heartbeat", sa.DateTime(), nullable=True),
        sa.Column("generation", sa.BigInteger(), nullable=False),
        sa.Column("applied_generation", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("host", name="pk_agents"))


def downgrade() -> None:
    for table in ("agents", "tap_mirror_tunnels", "tap_mirrors", "tap_flows", "tap_services",
                  "ports", "networks", "quotas", "projects"):
        op.drop_table(table)
