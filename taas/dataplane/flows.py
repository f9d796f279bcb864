"""The Flow value: one OpenFlow flow as stable text, with a cookie derived from that text."""
from __future__ import annotations

import dataclasses
import hashlib

from taas.dataplane import layout


@dataclasses.dataclass(frozen=True, order=True)
class Flow:
    """One flow. Same desired state -> byte-identical text -> same cookie.

    The cookie's top 16 bits name the owner (layout.COOKIE_*); the low 48 bits hash the
    text, so what a bridge holds under an owner's cookie can be diffed against the desired
    set by cookie alone, without parsing OVS's dump format.
    """
    bridge: str
    table: int
    priority: int
    match: str       # "in_port=5,dl_vlan=7" ("" matches everything)
    actions: str     # "clone(...),goto_table:10"
    owner: int = layout.COOKIE_TAAS

    def body(self) -> str:
        match = f",{self.match}" if self.match else ""
        return f"table={self.table},priority={self.priority}{match},actions={self.actions}"

    @property
    def cookie(self) -> int:
        digest = hashlib.sha256(f"{self.bridge}|{self.body()}".encode()).digest()
        return self.owner | (int.from_bytes(digest[:6], "big"))

    def add_line(self) -> str:
        """The line for an `ovs-ofctl --bundle add-flows` file."""
        return f"add cookie={self.cookie:#x},{self.body()}"
