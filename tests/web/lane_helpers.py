"""What stands for the rest of the app behind a write lane in the lane tests."""

from __future__ import annotations

from starlette.types import Receive, Scope, Send


class RecordingApp:
    """Notes what reached it and answers 299, so a test sees what a lane let through."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.seen.append((scope["method"], scope["path"]))
        await send({"type": "http.response.start", "status": 299, "headers": []})
        await send({"type": "http.response.body", "body": b"app"})
