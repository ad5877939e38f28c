"""Load framework files: the shipped ones by id, a certification body's own by path.

Every problem in a file becomes one line naming the element (by its id where it has one), so a
person can find and fix it; nothing in the code assumes the shipped frameworks.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from citymeter.assessment.schema import Framework
from citymeter.datafiles import read_yaml_fields
from citymeter.errors import InvalidInput, NotFound

SHIPPED_PACKAGE = "citymeter.assessment.frameworks"


# How a list's element is called in a message: "group 'services' › item 'transport' › name".
_SINGULAR = {
    "groups": "group",
    "items": "item",
    "sub_indicators": "sub-indicator",
    "principles": "principle",
    "levels": "level",
    "bands": "band",
    "grade_bands": "grade band",
    "classes": "class",
    "stages": "stage",
    "gates": "gate",
}


def _where(data: Any, loc: tuple[int | str, ...]) -> str:
    """A readable path naming elements by id (no square brackets: CLI output is rich markup)."""
    parts: list[str] = []
    node = data
    container = ""
    for part in loc:
        if isinstance(part, int) and isinstance(node, list) and 0 <= part < len(node):
            node = node[part]
            label = (node.get("id") or node.get("grade")) if isinstance(node, dict) else None
            kind = _SINGULAR.get(container, container)
            name = f"{kind} {label!r}" if label else f"{kind} {part + 1}"
            if parts and parts[-1] == container:
                parts[-1] = name
            else:
                parts.append(name)
            continue
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif part in {"levels", "points", "benchmark"} and container == "scale":
            continue  # the discriminator tag pydantic inserts for the scale's type
        else:
            node = None
        container = str(part)
        parts.append(container)
    return " › ".join(parts) or "(top level)"


def _describe(data: Any, error: Any) -> str:
    where = _where(data, tuple(error["loc"]))
    if error["type"] == "extra_forbidden":
        return f"{where}: unknown field (check the spelling; docs/frameworks.md lists the fields)"
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{where}: {message}"


def parse_framework(text: str, label: str = "the framework") -> Framework:
    """A framework from YAML text; every problem becomes one line of an InvalidInput."""
    data = read_yaml_fields(text, label, "id, name, kind, groups")
    try:
        return Framework.model_validate(data)
    except ValidationError as exc:
        errors: list[str] = []
        for err in exc.errors():
            line = _describe(data, err)
            # Cross-checks report several problems in one message; give each its own line.
            if err["loc"] == () and "; " in line:
                errors.extend(f"(top level): {p}" for p in line.split(": ", 1)[1].split("; "))
            else:
                errors.append(line)
        raise InvalidInput(
            f"{label} is not a valid framework: " + "; ".join(errors[:5]),
            details={"errors": errors},
        ) from None


def shipped_frameworks() -> dict[str, str]:
    """File stem → YAML text of the frameworks that ship with CityMeter."""
    found: dict[str, str] = {}
    for entry in resources.files(SHIPPED_PACKAGE).iterdir():
        if entry.name.endswith(".yaml"):
            found[entry.name.removesuffix(".yaml")] = entry.read_text(encoding="utf-8")
    return dict(sorted(found.items()))


def list_frameworks() -> list[Framework]:
    """The shipped frameworks, parsed (a broken shipped file is an error, not a silent skip)."""
    return [
        parse_framework(text, f"the shipped framework {stem!r}")
        for stem, text in shipped_frameworks().items()
    ]


def shipped_framework(framework_id: str) -> Framework:
    """A shipped framework by id (never a path: safe for web requests)."""
    shipped = shipped_frameworks()
    if framework_id not in shipped:
        raise NotFound(
            f"No shipped framework is named {framework_id!r}; "
            f"shipped: {', '.join(shipped) or 'none'}."
        )
    return parse_framework(shipped[framework_id], f"the framework {framework_id!r}")


def load_framework_file(path: Path) -> Framework:
    """A certification body's own framework file."""
    if not path.is_file():
        raise NotFound(f"No framework file at {str(path)!r}.")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InvalidInput(
            f"{path.name} is not UTF-8 text; save the framework file as UTF-8."
        ) from None
    return parse_framework(text, f"the framework file {path.name}")


def load_framework(id_or_path: str) -> Framework:
    """A shipped framework by id, or a framework file by path."""
    if id_or_path in shipped_frameworks():
        return shipped_framework(id_or_path)
    path = Path(id_or_path)
    if path.is_file():
        return load_framework_file(path)
    raise NotFound(
        f"No framework file at {id_or_path!r} and no shipped framework of that id; "
        f"shipped: {', '.join(shipped_frameworks()) or 'none'}."
    )
