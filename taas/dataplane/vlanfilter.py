"""A tap flow's vlan_filter ("10-20,30") -> the masked OpenFlow 1.3 vlan_vid matches for it.

A filter is a comma-separated list of VLAN ids and inclusive ranges, ids 0-4095 (what the
API accepts). The set it names is merged into disjoint, non-adjacent ranges, and each range
is cut into the fewest aligned power-of-two blocks (a range of 12-bit values needs at most
2 * 12 - 2 = 22 of them), one masked match per block. Blocks of one filter never overlap, so no
two flows of one tap flow ever compete for a packet.
"""
from __future__ import annotations

import re

from taas.dataplane.encoding import OFPVID_PRESENT

MAX_VID = 4095
VID_BITS = 12
_PART = re.compile(r"(\d+)(?:\s*-\s*(\d+))?")


def parse(text: object) -> tuple[tuple[int, int], ...]:
    """The filter's VLAN id set as sorted, merged, inclusive (low, high) ranges.

    Raises ValueError for anything that is not such a list (the compiler turns it into an
    ERROR status: a filter it cannot read must not fall back to mirroring everything)."""
    if not isinstance(text, str):
        raise ValueError(f"vlan_filter {text!r} is not a string")
    ranges = []
    for part in text.split(","):
        m = _PART.fullmatch(part.strip())
        if not m:
            raise ValueError(f"{part.strip()!r} is not a VLAN id or a range like 10-20")
        low = int(m.group(1))
        high = int(m.group(2)) if m.group(2) is not None else low
        if high > MAX_VID:
            raise ValueError(f"VLAN id {high} is above {MAX_VID}")
        if low > high:
            raise ValueError(f"range {low}-{high} is reversed")
        ranges.append((low, high))
    merged: list[list[int]] = []
    for low, high in sorted(ranges):
        if merged and low <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], high)
        else:
            merged.append([low, high])
    return tuple((low, high) for low, high in merged)


def prefix_blocks(low: int, high: int) -> list[tuple[int, int]]:
    """The minimal aligned blocks covering exactly low..high, as (value, mask) over 12 bits:
    a vid is in the range iff `vid & mask == value` for exactly one block."""
    if not 0 <= low <= high <= MAX_VID:
        raise ValueError(f"not a VLAN range: {low}-{high}")
    blocks = []
    while low <= high:
        size = 1 << VID_BITS
        # The largest block aligned at `low` that does not run past `high`.
        while low % size or low + size - 1 > high:
            size >>= 1
        blocks.append((low, MAX_VID & ~(size - 1)))
        low += size
    return blocks


def vlan_vid_matches(text: str) -> list[str]:
    """OpenFlow 1.3 matches (`vlan_vid=value/mask`, the tag-present bit included, so an
    untagged packet never matches) selecting exactly the packets whose outer VLAN id is in
    the filter. Sorted by VLAN id; the same filter always gives the same text."""
    return [f"vlan_vid={OFPVID_PRESENT | value:#06x}/{OFPVID_PRESENT | mask:#06x}"
            for low, high in parse(text) for value, mask in prefix_blocks(low, high)]
