"""Capture with real tcpdump inside a namespace, and decode the pcap file it writes."""
from __future__ import annotations

import dataclasses
import ipaddress
import os
import signal
import struct
import subprocess
import time
from pathlib import Path

ETH_IPV4, ETH_ARP, ETH_VLAN = 0x0800, 0x0806, 0x8100
ICMP_ECHO_REPLY, ICMP_ECHO_REQUEST = 0, 8


@dataclasses.dataclass(frozen=True)
class Packet:
    """The fields of one captured frame that tests and the demo look at."""
    src_mac: str
    dst_mac: str
    ethertype: int
    vlans: tuple[int, ...] = ()
    src_ip: str | None = None
    dst_ip: str | None = None
    proto: int | None = None        # IP protocol
    icmp_type: int | None = None
    sport: int | None = None
    dport: int | None = None
    length: int = 0

    @property
    def is_icmp_echo(self) -> bool:
        return self.proto == 1 and self.icmp_type in (ICMP_ECHO_REQUEST, ICMP_ECHO_REPLY)

    def summary(self) -> str:
        if self.ethertype == ETH_ARP:
            return f"{self.src_mac} > {self.dst_mac} ARP"
        what = {1: "ICMP", 6: "TCP", 17: "UDP"}.get(self.proto, f"proto {self.proto}")
        if self.proto == 1:
            what += {ICMP_ECHO_REQUEST: " echo request", ICMP_ECHO_REPLY: " echo reply"}.get(
                self.icmp_type, f" type {self.icmp_type}")
        elif self.sport is not None:
            what += f" {self.sport} > {self.dport}"
        tag = "".join(f" vlan {v}" for v in self.vlans)
        return f"{self.src_mac} > {self.dst_mac}{tag} {self.src_ip} > {self.dst_ip} {what} len {self.length}"


def _mac(raw: bytes) -> str:
    return ":".join(f"{b:02x}" for b in raw)


def decode_frame(frame: bytes) -> Packet:
    dst, src = _mac(frame[0:6]), _mac(frame[6:12])
    (ethertype,) = struct.unpack("!H", frame[12:14])
    offset, vlans = 14, []
    while ethertype in (ETH_VLAN, 0x88A8) and len(frame) >= offset + 4:
        tci, ethertype = struct.unpack("!HH", frame[offset:offset + 4])
        vlans.append(tci & 0x0FFF)
        offset += 4
    fields = dict(src_mac=src, dst_mac=dst, ethertype=ethertype, vlans=tuple(vlans),
                  length=len(frame))
    if ethertype == ETH_IPV4 and len(frame) >= offset + 20:
        ihl = (frame[offset] & 0x0F) * 4
        proto = frame[offset + 9]
        fields.update(proto=proto,
                      src_ip=str(ipaddress.IPv4Address(frame[offset + 12:offset + 16])),
                      dst_ip=str(ipaddress.IPv4Address(frame[offset + 16:offset + 20])))
        l4 = offset + ihl
        if proto == 1 and len(frame) > l4:
            fields["icmp_type"] = frame[l4]
        elif proto in (6, 17) and len(frame) >= l4 + 4:
            fields["sport"], fields["dport"] = struct.unpack("!HH", frame[l4:l4 + 4])
    return Packet(**fields)


def read_pcap(path: str | os.PathLike) -> list[Packet]:
    data = Path(path).read_bytes()
    if len(data) < 24:
        return []
    magic = data[:4]
    endian = {b"\xd4\xc3\xb2\xa1": "<", b"\xa1\xb2\xc3\xd4": ">",
              b"\x4d\x3c\xb2\xa1": "<", b"\xa1\xb2\x3c\x4d": ">"}.get(magic)
    if endian is None:
        raise ValueError(f"{path}: not a pcap file")
    packets, offset = [], 24
    while offset + 16 <= len(data):
        _, _, incl_len, _ = struct.unpack(endian + "IIII", data[offset:offset + 16])
        offset += 16
        packets.append(decode_frame(data[offset:offset + incl_len]))
        offset += incl_len
    return packets


class Capture:
    """tcpdump -w in a network namespace; stop() returns the decoded packets."""

    def __init__(self, netns: str, iface: str, path: str | os.PathLike, bpf: str = ""):
        self.netns, self.iface, self.path, self.bpf = netns, iface, Path(path), bpf
        self._proc: subprocess.Popen | None = None

    def start(self, timeout: float = 10.0) -> "Capture":
        # --immediate-mode: without it packets wait in the capture ring for up to a second
        # and whatever is still there when we stop tcpdump is silently lost.
        cmd = ["ip", "netns", "exec", self.netns, "tcpdump", "--immediate-mode", "-Z", "root",
               "-i", self.iface, "-U", "-n", "-s", "256", "-w", str(self.path)]
        cmd += self.bpf.split() if self.bpf else []
        self._proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        # tcpdump says "listening on" once its socket is open: only then is nothing missed.
        os.set_blocking(self._proc.stderr.fileno(), False)
        deadline, seen = time.monotonic() + timeout, b""
        while b"listening on" not in seen:
            if self._proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"tcpdump in {self.netns} did not start: {seen.decode()}")
            seen += self._proc.stderr.read() or b""
            time.sleep(0.02)
        return self

    def stop(self, settle: float = 0.3) -> list[Packet]:
        if self._proc is None:
            return []
        time.sleep(settle)  # copies still in flight through br-tap and the tunnel
        self._proc.send_signal(signal.SIGINT)
        try:
            self._proc.wait(5)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._proc = None
        return read_pcap(self.path)

    def __enter__(self) -> "Capture":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop(settle=0)
