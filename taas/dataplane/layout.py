"""The bridge layout contract shared by the network agent and TaaS: tables, ports, cookies.

docs/pipeline.md explains it; this module is its single source of numbers.
"""

# Bridges.
BR_INT = "br-int"
BR_TUN = "br-tun"
BR_TAP = "br-tap"

# Fixed OpenFlow port numbers (ofport_request) of the patch ports and the mirror tunnel.
INT_PATCH_TUN = 1        # br-int: patch-tun     <-> br-tun: patch-int
INT_PATCH_TAP = 2        # br-int: patch-int-tap <-> br-tap: patch-tap-int
TUN_PATCH_INT = 1
TUN_PATCH_TAP = 2        # br-tun: patch-tun-tap <-> br-tap: patch-tap-tun
TUN_MIRROR_PORT = 3      # br-tun: taas-tun, VXLAN, remote_ip=flow, key=flow, dst_port 4790
TAP_PATCH_INT = 1
TAP_PATCH_TUN = 2
FIRST_TUNNEL_OFPORT = 10  # br-tun: production VXLAN ports vx-<peer> (network agent)
FIRST_VM_OFPORT = 100     # br-int: VM ports

PORT_NAMES = {
    (BR_INT, INT_PATCH_TUN): "patch-tun",
    (BR_INT, INT_PATCH_TAP): "patch-int-tap",
    (BR_TUN, TUN_PATCH_INT): "patch-int",
    (BR_TUN, TUN_PATCH_TAP): "patch-tun-tap",
    (BR_TUN, TUN_MIRROR_PORT): "taas-tun",
    (BR_TAP, TAP_PATCH_INT): "patch-tap-int",
    (BR_TAP, TAP_PATCH_TUN): "patch-tap-tun",
}
MIRROR_TUNNEL_UDP_PORT = 4790   # production VXLAN uses 4789: mirror copies never ride it

# br-int tables (production tables belong to the network agent, hook tables to TaaS).
T_CLASSIFY = 0       # in_port -> reg6 = network, then T_EGRESS_HOOK (VM ports) or T_L2
T_EGRESS_HOOK = 5    # packets a VM port SENDS (TaaS OUT). Default: goto T_L2
T_L2 = 10            # reg6 + dl_dst -> reg7 = output ofport (unicast) or flood
T_DELIVER_CHECK = 20 # per output: drop hairpins (reg7 == in_port), then T_INGRESS_HOOK
T_INGRESS_HOOK = 25  # packets DELIVERED to reg7 (TaaS IN). Default: goto T_OUTPUT
T_OUTPUT = 30        # reg7 -> output (patch-tun: push the network's local VLAN first)

# br-int tables that belong to TaaS alone: the network agent installs nothing there and never
# resubmits or goes to them. Only TaaS hooks resubmit into them (inside a clone), to copy
# the packets of a tap flow that has a vlan_filter.
T_EGRESS_FILTER = 6   # from T_EGRESS_HOOK: reg5 + in_port + outer VLAN -> copy to br-tap
T_INGRESS_FILTER = 26 # from T_INGRESS_HOOK: reg5 + reg7 + outer VLAN -> copy to br-tap

REG_NETWORK = "reg6"
REG_OUT_PORT = "reg7"
REG_TAP_FLOW = "reg5"  # TaaS: which filtered tap flow of the port a filter-table lookup is for

# Cookies: the top 16 bits say who owns a flow; the low 48 bits are a hash of the flow text.
COOKIE_OWNER_MASK = 0xFFFF_0000_0000_0000
COOKIE_NETWORK = 0x4E45_0000_0000_0000  # "NE": the lab's network agent
COOKIE_TAAS = 0x7A5A_0000_0000_0000     # the TaaS agent

# Priorities TaaS uses.
PRIO_TAAS_HOOK = 100        # in T_EGRESS_HOOK / T_INGRESS_HOOK (defaults are priority 0)
PRIO_TAAS_DELIVER = 200     # br-int T_CLASSIFY: copies from br-tap to a local monitor
PRIO_TAAS_TUN = 200         # br-tun table 0: copies to/from the mirror tunnel
PRIO_TAAS_FILTER = 100      # T_EGRESS_FILTER / T_INGRESS_FILTER (above TaaS's priority-0 drop)
