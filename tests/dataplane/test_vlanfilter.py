"""vlan_filter parsing and the range -> aligned (value, mask) block decomposition."""
import random

import pytest

from taas.dataplane import vlanfilter

ALL = range(4096)


def covering(blocks, vid):
    return [b for b in blocks if vid & b[1] == b[0]]


@pytest.mark.parametrize("low, high, count", [
    (0, 4095, 1), (0, 0, 1), (4095, 4095, 1), (10, 20, 4), (1, 4094, 22), (1, 4095, 12),
    (0, 4094, 12), (2047, 2048, 2), (1000, 3000, None), (5, 5, 1), (4064, 4095, 1),
    (3, 4092, 20), (1, 2, 2), (2048, 4095, 1),
])
def test_blocks_cover_exactly_the_range(low, high, count):
    blocks = vlanfilter.prefix_blocks(low, high)
    for vid in ALL:   # exhaustive: in the range iff exactly one block matches, else none
        assert len(covering(blocks, vid)) == (1 if low <= vid <= high else 0), vid
    for value, mask in blocks:
        low_bits = ~mask & 0xFFF
        assert low_bits & (low_bits + 1) == 0      # a prefix mask: ones, then zeros
        assert value & low_bits == 0               # aligned on its size
    if count is not None:
        assert len(blocks) == count


def test_blocks_are_minimal_and_bounded():
    """Against a brute force: the fewest blocks is the greedy count; never more than 22."""
    rng = random.Random(7)
    ranges = [tuple(sorted(rng.sample(range(4096), 2))) for _ in range(120)]
    for low, high in ranges + [(v, v) for v in range(0, 4096, 97)]:
        blocks = vlanfilter.prefix_blocks(low, high)
        assert len(blocks) <= 22
        assert len(blocks) == _fewest_blocks(low, high)
        assert sum((~mask & 0xFFF) + 1 for _, mask in blocks) == high - low + 1


def _fewest_blocks(low: int, high: int) -> int:
    """Dynamic programming over the range (independent of the greedy implementation)."""
    best = {high + 1: 0}
    for start in range(high, low - 1, -1):
        size, options = 1, []
        while size <= 4096 and start % size == 0 and start + size - 1 <= high:
            options.append(1 + best[start + size])
            size <<= 1
        best[start] = min(options)
    return best[low]


@pytest.mark.parametrize("low, high", [(-1, 3), (5, 4), (0, 4096)])
def test_blocks_refuse_a_non_range(low, high):
    with pytest.raises(ValueError):
        vlanfilter.prefix_blocks(low, high)


@pytest.mark.parametrize("text, ranges", [
    ("10-20,30", ((10, 20), (30, 30))),
    ("30,10-20,15-25,26", ((10, 26), (30, 30))),   # overlapping and adjacent merge
    ("1-2,3-4", ((1, 4),)),
    (" 10 - 20 , 30 ", ((10, 20), (30, 30))),
    ("0", ((0, 0),)),
    ("0-4095", ((0, 4095),)),
    ("007", ((7, 7),)),
    ("5,5,5", ((5, 5),)),
])
def test_parse(text, ranges):
    assert vlanfilter.parse(text) == ranges


@pytest.mark.parametrize("text", ["", "abc", "10-", "-5", "4096", "20-10", "1,,2", "1;2",
                                  "1-2-3", "0x10", None, 5, ["10"]])
def test_parse_refuses(text):
    with pytest.raises(ValueError):
        vlanfilter.parse(text)


@pytest.mark.parametrize("text", ["10-20,30", "0", "4095", "0-4095", "1-4094",
                                  "189,279,999-1008", "1,3,5,7,9-4000,4002"])
def test_vlan_vid_matches_select_exactly_the_filter(text):
    """OpenFlow 1.3 vlan_vid semantics: tagged = 0x1000 | vid, untagged = 0."""
    wanted = {v for low, high in vlanfilter.parse(text) for v in range(low, high + 1)}
    matches = [tuple(int(x, 16) for x in m.removeprefix("vlan_vid=").split("/"))
               for m in vlanfilter.vlan_vid_matches(text)]
    for vid in ALL:
        hits = [m for m in matches if (0x1000 | vid) & m[1] == m[0]]
        assert len(hits) == (vid in wanted), vid
    assert not [m for m in matches if 0 & m[1] == m[0]]   # untagged never matches
    assert vlanfilter.vlan_vid_matches(text) == vlanfilter.vlan_vid_matches(text)


def test_vlan_vid_match_text():
    assert vlanfilter.vlan_vid_matches("10-20,30") == [
        "vlan_vid=0x100a/0x1ffe", "vlan_vid=0x100c/0x1ffc", "vlan_vid=0x1010/0x1ffc",
        "vlan_vid=0x1014/0x1fff", "vlan_vid=0x101e/0x1fff"]
    assert vlanfilter.vlan_vid_matches("0-4095") == ["vlan_vid=0x1000/0x1000"]
