"""Server-Sent Events: turn a bus subscription into the text/event-stream a browser reads.

Each event goes out as

    id: <event id>
    event: <kind>
    data: {"id": ..., "kind": ..., "at": ..., "entity_type": ..., "data": {...}}

A comment line (": heartbeat") is sent when nothing happened for `heartbeat` seconds, so proxies
keep the connection open and a client notices a dead one. A client that reconnects with
`Last-Event-ID` first receives the buffered events it missed. A client too slow to keep up is
disconnected; it reconnects and resumes from the buffer.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from citymeter.live.bus import LiveBus
from citymeter.live.events import LiveEvent
from citymeter.live.service import StreamFilter

RETRY_MS = 3000


def format_event(event: LiveEvent) -> str:
    body = json.dumps(event.to_dict(), separators=(",", ":"), ensure_ascii=False, default=str)
    kind = event.kind.replace("\n", " ")
    return f"id: {event.id}\nevent: {kind}\ndata: {body}\n\n"


async def event_stream(
    bus: LiveBus,
    wanted: StreamFilter,
    *,
    last_event_id: str | None = None,
    heartbeat: float = 15.0,
    max_seconds: float = 300.0,
    is_disconnected: Callable[[], Awaitable[bool]] | None = None,
) -> AsyncIterator[str]:
    """The stream for one client. Ends after `max_seconds` (the client resumes by itself)."""
    subscription = bus.subscribe()
    try:
        yield f"retry: {RETRY_MS}\n: connected to the CityMeter live stream\n\n"
        replayed: set[str] = set()
        if last_event_id:
            for missed in bus.replay_after(last_event_id):
                replayed.add(missed.id or "")
                if wanted.matches(missed):
                    yield format_event(missed)
        deadline = time.monotonic() + max_seconds
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or subscription.lagging:
                return
            event = await subscription.get(timeout=min(heartbeat, remaining))
            if event is None:
                if is_disconnected is not None and await is_disconnected():
                    return
                yield ": heartbeat\n\n"
                continue
            if event.id in replayed:
                continue  # arrived while we were replaying
            if wanted.matches(event):
                yield format_event(event)
    finally:
        subscription.close()
