"""The lab: an emulated multi-host cloud made of network namespaces and Open vSwitch."""
