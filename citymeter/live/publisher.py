"""The MQTT load generator of `citymeter bench mqtt`: QoS 1 PUBLISH packets (MQTT 3.1.1) written
by hand on a plain socket, a few hundred per write, every PUBACK counted.

paho spends ~200 µs of Python per publish (packet object, locks, one write per message), so a paho
publisher tops out at ~4,000 messages/s on one core: below the rate the bench must offer. Only the
publishing side is hand-made; the broker and both subscribers (the bare paho counter and the
connector) are the real ones.
"""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections.abc import Callable

# Packet ids are 16-bit: keep fewer than this many messages waiting for their PUBACK.
MAX_IN_FLIGHT = 30_000
CHUNK = 250  # messages per socket write
CONNACK, PUBACK = 0x20, 0x40


def _length(n: int) -> bytes:
    """MQTT's variable-length "remaining length"."""
    out = bytearray()
    while True:
        digit, n = n % 128, n // 128
        out.append(digit | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _text(value: str) -> bytes:
    raw = value.encode()
    return struct.pack("!H", len(raw)) + raw


def connect_packet(client_id: str) -> bytes:
    # Protocol "MQTT" level 4 (3.1.1), clean session, keep-alive off (the run is bounded).
    body = _text("MQTT") + bytes([4, 0x02]) + struct.pack("!H", 0) + _text(client_id)
    return bytes([0x10]) + _length(len(body)) + body


def publish_packet(topic: bytes, packet_id: int, payload: bytes) -> bytes:
    """A QoS 1 PUBLISH; `topic` already carries its 2-byte length prefix."""
    size = len(topic) + 2 + len(payload)
    return b"".join((b"\x32", _length(size), topic, struct.pack("!H", packet_id), payload))


class _Acks:
    """Reads the broker's packets on its own thread and counts the PUBACKs."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.count = 0
        self.connected = threading.Event()
        self.error: str | None = None
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        buffer = b""
        try:
            while True:
                data = self.sock.recv(65536)
                if not data:
                    return
                buffer += data
                buffer = self._packets(buffer)
        except OSError:
            return

    def _packets(self, buffer: bytes) -> bytes:
        position = 0
        while len(buffer) - position >= 2:
            kind = buffer[position] & 0xF0
            size, shift, index = 0, 0, position + 1
            while index < len(buffer):
                byte = buffer[index]
                size |= (byte & 0x7F) << shift
                shift += 7
                index += 1
                if not byte & 0x80:
                    break
            else:
                break  # the length is not complete yet
            if len(buffer) - index < size:
                break
            if kind == PUBACK:
                self.count += 1
            elif kind == CONNACK:
                if buffer[index + 1] != 0:
                    self.error = f"the broker refused the connection (code {buffer[index + 1]})"
                self.connected.set()
            position = index + size
        return buffer[position:]


def publish(
    host: str,
    port: int,
    client_id: str,
    rate: int,
    seconds: float,
    message: Callable[[int], tuple[bytes, bytes]],
) -> tuple[int, float, int]:
    """Publish int(rate × seconds) messages at QoS 1, paced to `rate` per second; `message(i)`
    gives the i-th (topic, payload). Returns (sent, seconds until the last PUBACK, acknowledged)."""
    sock = socket.create_connection((host, port), timeout=30)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    acks = _Acks(sock)
    sock.sendall(connect_packet(client_id))
    if not acks.connected.wait(10) or acks.error:
        sock.close()
        raise RuntimeError(acks.error or "the broker did not answer CONNECT within 10 s")
    total = int(rate * seconds)
    topics: dict[bytes, bytes] = {}
    started = time.monotonic()
    sent = 0
    try:
        while sent < total:
            while sent - acks.count > MAX_IN_FLIGHT:
                time.sleep(0.002)
            packets = []
            for i in range(sent, min(total, sent + CHUNK)):
                topic, payload = message(i)
                framed = topics.get(topic)
                if framed is None:
                    framed = topics[topic] = struct.pack("!H", len(topic)) + topic
                packets.append(publish_packet(framed, i % 65535 + 1, payload))
            sock.sendall(b"".join(packets))
            sent += len(packets)
            ahead = sent / rate - (time.monotonic() - started)
            if ahead > 0:
                time.sleep(ahead)
        deadline = time.monotonic() + 120
        while acks.count < sent and time.monotonic() < deadline:
            time.sleep(0.002)
        elapsed = time.monotonic() - started
        sock.sendall(b"\xe0\x00")  # DISCONNECT
    finally:
        sock.close()
    return sent, elapsed, acks.count
