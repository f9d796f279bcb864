"""Open vSwitch I/O: daemons, OVSDB (ovsdbapp) and atomic OpenFlow bundles."""
