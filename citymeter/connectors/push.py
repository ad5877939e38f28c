"""Push sources: the data arrives by itself (the HTTP batch ingest endpoint, or an operator's
manual import), so the runner never calls them; whoever receives the data feeds their health."""

from __future__ import annotations

from typing import ClassVar

from citymeter.connectors.base import BaseConnector, Mode


class PushConnector(BaseConnector):
    mode: ClassVar[Mode] = "push"
