"""Tap-as-a-Service: port mirroring for multi-tenant virtual networks."""
