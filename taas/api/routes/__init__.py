"""HTTP routes: Neutron resources, quotas and agents, version discovery."""
