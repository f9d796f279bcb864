"""Session id <-> 802.1Q tag encoding: values, injectivity over a range, action and match text."""
import pytest

from taas.dataplane import encoding


@pytest.mark.parametrize("session, tag", [
    (0, (1, 0)), (1, (2, 0)), (4093, (4094, 0)), (4094, (1, 1)), (10000, (1813, 2)),
    (32751, (4094, 7)), (32752, (1, 0)), (39999, (3154, 1)),
])
def test_known_tags(session, tag):
    assert encoding.session_tag(session) == tag


@pytest.mark.parametrize("base", [0, 1, 10000, 4094 * 3 + 17, 2**24 - 32752])
def test_injective_over_any_32752_consecutive_ids(base):
    tags = {encoding.session_tag(s) for s in range(base, base + encoding.SESSIONS)}
    assert len(tags) == encoding.SESSIONS
    assert all(1 <= vid <= 4094 and 0 <= pcp <= 7 for vid, pcp in tags)


def test_not_injective_beyond_the_range():
    assert encoding.session_tag(10000) == encoding.session_tag(10000 + encoding.SESSIONS)


@pytest.mark.parametrize("base", [0, 10000, 123457])
def test_round_trip_within_range(base):
    for s in list(range(base, base + 50)) + list(range(base + encoding.SESSIONS - 50,
                                                       base + encoding.SESSIONS)):
        assert encoding.session_from_tag(*encoding.session_tag(s), base=base) == s


@pytest.mark.parametrize("bad", [-1, "7", 1.0, True, None])
def test_bad_session_ids_are_refused(bad):
    with pytest.raises(ValueError):
        encoding.session_tag(bad)


@pytest.mark.parametrize("vid, pcp", [(0, 0), (4095, 0), (1, 8), (1, -1)])
def test_bad_tags_are_refused(vid, pcp):
    with pytest.raises(ValueError):
        encoding.session_from_tag(vid, pcp)


@pytest.mark.parametrize("session", [0, 4094, 10000, 32751, 39999])
def test_push_actions_push_a_new_tag_then_set_vid_and_pcp(session):
    vid, pcp = encoding.session_tag(session)
    push, set_vid, set_pcp = encoding.push_session_actions(session).split(",")
    assert push == "push_vlan:0x8100"          # a new outer tag, whatever the packet has
    value, field = set_vid.removeprefix("set_field:").split("->")
    # OpenFlow 1.3 vlan_vid includes OFPVID_PRESENT (0x1000); OVS refuses it without.
    assert field == "vlan_vid" and int(value) == 0x1000 | vid
    assert set_pcp == f"set_field:{pcp}->vlan_pcp"


@pytest.mark.parametrize("session", [0, 10000, 32751])
def test_match_is_the_outer_tag(session):
    vid, pcp = encoding.session_tag(session)
    fields = dict(kv.split("=") for kv in encoding.match_session(session).split(","))
    assert fields == {"dl_vlan": str(vid), "dl_vlan_pcp": str(pcp)}


def test_pop_is_plain_pop_vlan():
    assert encoding.POP_SESSION_ACTIONS == "pop_vlan"
