"""Pure flow compiler: desired state of one host -> OpenFlow flows (no I/O)."""
