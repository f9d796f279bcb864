"""HTTP API: the Neutron TaaS API and a minimal Neutron network/port inventory."""
