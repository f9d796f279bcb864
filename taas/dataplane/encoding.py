"""Mirror session id <-> the extra 802.1Q tag (VID + PCP) that carries it across patch ports."""
from __future__ import annotations

# 4094 usable VIDs (1-4094; 0 means "priority tag" and 4095 is reserved) times 8 PCP values.
VIDS = 4094
PCPS = 8
SESSIONS = VIDS * PCPS  # 32752: any run of this many consecutive ids encodes injectively

# OpenFlow 1.2+ vlan_vid carries the "tag present" bit (OFPVID_PRESENT); OVS refuses a
# set_field to vlan_vid without it ("Invalid value for set field vlan_vid").
OFPVID_PRESENT = 0x1000


def session_tag(session_id: int) -> tuple[int, int]:
    """(vid, pcp) of a session: i = id mod 32752, vid = i mod 4094 + 1, pcp = i div 4094."""
    if not isinstance(session_id, int) or isinstance(session_id, bool) or session_id < 0:
        raise ValueError(f"session id must be a non-negative int, not {session_id!r}")
    i = session_id % SESSIONS
    return i % VIDS + 1, i // VIDS


def session_from_tag(vid: int, pcp: int, base: int = 0) -> int:
    """The one session id >= base, within base..base+32751, that encodes to (vid, pcp)."""
    if not 1 <= vid <= VIDS or not 0 <= pcp < PCPS:
        raise ValueError(f"not a session tag: vid={vid} pcp={pcp}")
    i = pcp * VIDS + vid - 1
    return base + (i - base) % SESSIONS


def push_session_actions(session_id: int) -> str:
    """Actions that push a NEW outer tag carrying the session (an existing tag stays inside)."""
    vid, pcp = session_tag(session_id)
    return (f"push_vlan:0x8100,set_field:{vid | OFPVID_PRESENT}->vlan_vid,"
            f"set_field:{pcp}->vlan_pcp")


def match_session(session_id: int) -> str:
    """Match on the outer tag of a session (written as ovs-ofctl dump-flows prints it)."""
    vid, pcp = session_tag(session_id)
    return f"dl_vlan={vid},dl_vlan_pcp={pcp}"


# The tag is removed with the plain OpenFlow action; kept here so callers need no literal.
POP_SESSION_ACTIONS = "pop_vlan"
