"""Connectors are found through the "citymeter.connectors" entry-point group, built-in and
third-party alike; a broken plugin breaks only its own kind, with a message."""

from __future__ import annotations

import sys
import textwrap
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

from citymeter.connectors.base import ENTRY_POINT_GROUP, ConnectorRegistry, default_registry
from citymeter.errors import ConnectorError, InvalidInput


def test_built_in_kinds_are_entry_points() -> None:
    registry = ConnectorRegistry.from_entry_points()
    for kind in ("file", "http_pull", "http_push", "mqtt"):
        assert kind in registry
    assert registry.create("file").mode == "poll"
    assert registry.create("http_pull").mode == "poll"
    assert registry.create("http_push").mode == "push"


def test_a_third_party_distribution_on_the_path_registers_a_kind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A real installed distribution: a package plus its .dist-info with entry_points.txt.
    package = tmp_path / "citymeter_weather_plugin"
    package.mkdir()
    (package / "__init__.py").write_text(
        textwrap.dedent(
            """
            from citymeter.connectors.base import BaseConnector, ConnectorResult

            class WeatherConnector(BaseConnector):
                mode = "poll"

                def run(self, ctx):
                    return ConnectorResult(message="sunny")
            """
        )
    )
    info = tmp_path / "citymeter_weather_plugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: citymeter-weather-plugin\nVersion: 1.0\n"
    )
    (info / "entry_points.txt").write_text(
        f"[{ENTRY_POINT_GROUP}]\nweather = citymeter_weather_plugin:WeatherConnector\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "citymeter_weather_plugin", raising=False)
    registry = ConnectorRegistry.from_entry_points()
    assert "weather" in registry and "file" in registry
    connector = registry.create("weather")
    assert connector.mode == "poll"
    assert connector.check_config({"station": "x"}) == {"station": "x"}


def test_an_unknown_kind_names_the_known_ones() -> None:
    with pytest.raises(InvalidInput, match="No connector is registered for kind 'telex'"):
        default_registry().create("telex")


def test_a_broken_plugin_fails_alone() -> None:
    registry = ConnectorRegistry(default_registry().points())
    registry.add(EntryPoint("ghost", "citymeter_no_such_module:Thing", ENTRY_POINT_GROUP))
    registry.add(EntryPoint("plain", "collections:OrderedDict", ENTRY_POINT_GROUP))
    with pytest.raises(ConnectorError, match="could not be loaded: ModuleNotFoundError"):
        registry.create("ghost")
    with pytest.raises(ConnectorError, match="is not a CityMeter connector"):
        registry.create("plain")
    assert registry.create("file").mode == "poll"
