"""Statistical disclosure control for the public view of indicator values.

A person without the internal-read permission never sees a value computed from fewer people than
`CITYMETER_PUBLIC_MIN_COUNT` (the smallest input counted in persons or households), nor one derived
from internal (personal) data; they see the reason instead of the value.
"""

from __future__ import annotations

from citymeter.accounts.permissions import READ_INTERNAL, Viewer
from citymeter.indicators.models import IndicatorValue


def disclose(
    viewer: Viewer, value: IndicatorValue, min_count: int
) -> tuple[float | None, str | None]:
    """(value, None) when the viewer may see it, else (None, the reason it is suppressed)."""
    if viewer.can(READ_INTERNAL):
        return value.value, None
    personal = (value.provenance or {}).get("personal")
    if personal:
        return None, "derived from internal or personal data (" + ", ".join(personal) + ")"
    if value.min_count is not None and value.min_count < min_count:
        return None, f"fewer than {min_count} people behind this value"
    return value.value, None
