"""Reading the YAML data files people write (import mappings, frameworks, indicator packs)."""

from __future__ import annotations

from typing import Any

import yaml

from citymeter.errors import InvalidInput


def read_yaml(text: str, label: str) -> Any:
    """The document in `text`, or an InvalidInput naming the file and the YAML error."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InvalidInput(f"{label} is not valid YAML: {exc}") from None


def read_yaml_fields(text: str, label: str, fields_hint: str) -> dict[str, Any]:
    """A YAML document that must be a mapping of fields; `fields_hint` names a few of them."""
    data = read_yaml(text, label)
    if not isinstance(data, dict):
        raise InvalidInput(f"{label} must be a YAML mapping of fields ({fields_hint}, …).")
    return data
