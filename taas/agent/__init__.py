"""The per-hypervisor TaaS agent: reconcile desired state into Open vSwitch."""
