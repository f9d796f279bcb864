"""Connectivity probes inside a namespace, in-process (no ping binary): ICMP echo and TCP."""
from __future__ import annotations

import ctypes
import dataclasses
import os
import random
import select
import socket
import struct
import threading
import time

_libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWNET = 0x40000000


def socket_in(netns: str, family: int, type: int, proto: int = 0) -> socket.socket:
    """A socket created inside `netns`. A socket keeps the namespace it was born in, so a
    throw-away thread enters the namespace (setns is per thread) and creates it there."""
    result: dict = {}

    def work():
        try:
            fd = os.open(f"/run/netns/{netns}", os.O_RDONLY)
            try:
                if _libc.setns(fd, CLONE_NEWNET) != 0:
                    err = ctypes.get_errno()
                    raise OSError(err, f"setns({netns}): {os.strerror(err)}")
            finally:
                os.close(fd)
            result["sock"] = socket.socket(family, type, proto)
        except BaseException as exc:   # handed to the caller's thread
            result["error"] = exc

    thread = threading.Thread(target=work, name=f"setns-{netns}")
    thread.start()
    thread.join()
    if "error" in result:
        raise result["error"]
    return result["sock"]


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


@dataclasses.dataclass
class PingResult:
    sent: int
    received: int          # distinct echo replies
    duplicates: int        # extra replies to the same request (a broken underlay sign)
    rtts: list[float]

    @property
    def ok(self) -> bool:
        return self.received == self.sent and not self.duplicates


def ping(netns: str, dst: str, count: int = 3, timeout: float = 1.0,
         interval: float = 0.05, size: int = 56) -> PingResult:
    """ICMP echo from `netns` to `dst`: each request waits up to `timeout` for its reply."""
    sock = socket_in(netns, socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    ident = random.randrange(1, 0xFFFF)
    seen: dict[int, int] = {}
    rtts = []
    try:
        for seq in range(count):
            payload = bytes(random.getrandbits(8) for _ in range(size))
            header = struct.pack("!BBHHH", 8, 0, 0, ident, seq)
            packet = struct.pack("!BBHHH", 8, 0, _checksum(header + payload), ident, seq)
            sent_at = time.monotonic()
            try:
                sock.sendto(packet + payload, (dst, 0))
            except OSError:      # no route from this VM: a lost request, like ping says
                continue
            deadline = sent_at + timeout
            while (left := deadline - time.monotonic()) > 0:
                if not select.select([sock], [], [], left)[0]:
                    break
                data = sock.recv(65535)
                icmp = data[(data[0] & 0x0F) * 4:]
                if len(icmp) < 8:
                    continue
                kind, _, _, rid, rseq = struct.unpack("!BBHHH", icmp[:8])
                if kind == 0 and rid == ident:
                    seen[rseq] = seen.get(rseq, 0) + 1
                    if rseq == seq and seen[rseq] == 1:
                        rtts.append(time.monotonic() - sent_at)
                        # Linger one interval for a duplicate, then go on.
                        deadline = min(deadline, time.monotonic() + interval)
        # Late duplicates of the last request.
        while select.select([sock], [], [], interval)[0]:
            data = sock.recv(65535)
            icmp = data[(data[0] & 0x0F) * 4:]
            if len(icmp) >= 8 and icmp[0] == 0 and struct.unpack("!H", icmp[4:6])[0] == ident:
                rseq = struct.unpack("!H", icmp[6:8])[0]
                seen[rseq] = seen.get(rseq, 0) + 1
    finally:
        sock.close()
    return PingResult(count, len([s for s in seen if s < count]),
                      sum(n - 1 for n in seen.values()), rtts)


def tcp_transfer(src_netns: str, dst_netns: str, dst_ip: str, port: int = 5201,
                 size: int = 256 * 1024, timeout: float = 3.0) -> bool:
    """Connect from src to a listener in dst and move `size` bytes: True if all arrived
    intact (a lost SYN, a bad checksum or an MTU black hole all make it False)."""
    listener = socket_in(dst_netns, socket.AF_INET, socket.SOCK_STREAM)
    client = socket_in(src_netns, socket.AF_INET, socket.SOCK_STREAM)
    payload = os.urandom(size)
    got = bytearray()
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((dst_ip, port))
        listener.listen(1)
        listener.settimeout(timeout)
        client.settimeout(timeout)

        def serve():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(timeout)
                try:
                    while len(got) < size and (chunk := conn.recv(65536)):
                        got.extend(chunk)
                except OSError:
                    pass

        server = threading.Thread(target=serve)
        server.start()
        try:
            client.connect((dst_ip, port))
            client.sendall(payload)
        except OSError:
            pass
        finally:
            client.close()
        server.join(timeout + 1)
    finally:
        listener.close()
        client.close()
    return bytes(got) == payload
