"""The suggestions tests' small city and accounts."""

from __future__ import annotations

from tests.suggestions.conftest import People, SmallCity, people, small_city

__all__ = ["People", "SmallCity", "people", "small_city"]
