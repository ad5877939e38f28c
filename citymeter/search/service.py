"""Command search behind the API, the CLI and the pages: pick the city, get its cached index,
interpret the command for this viewer."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from citymeter.accounts.permissions import READ_INTERNAL, Viewer
from citymeter.errors import InvalidInput
from citymeter.places import service as places
from citymeter.places.models import City
from citymeter.search.index import CityIndex, index_for
from citymeter.search.interpreter import CommandResult, interpret, url_of
from citymeter.search.text import jamo, language_of, tokens

MAX_COMMAND = 300


@dataclass(frozen=True)
class Completion:
    """A type-ahead completion: the command it completes to and where that leads."""

    text: str
    label: str
    kind: str
    url: str | None


def city_for(session: Session, viewer: Viewer, code: str | None = None) -> City:
    """The city asked for, else the viewer's, else the only (or first) city in the store."""
    if code:
        return places.get_city(session, code)
    if viewer.city_id is not None:
        city = session.get(City, viewer.city_id)
        if city is not None:
            return city
    city = session.scalar(select(City).order_by(City.id).limit(1))
    if city is None:
        return places.get_city(session)  # raises the usual "no city yet"
    return city


def _check(command: str) -> str:
    command = command.strip()
    if not command:
        raise InvalidInput("Type a command, e.g. “강남구 미세먼지” or “open pledge 3”.")
    if len(command) > MAX_COMMAND:
        raise InvalidInput(f"A command is at most {MAX_COMMAND} characters.")
    return command


def _today(city: City) -> dt.date:
    return dt.datetime.now(ZoneInfo(city.timezone or "Asia/Seoul")).date()


def run_command(
    session: Session,
    viewer: Viewer,
    command: str,
    *,
    lang: str | None = None,
    city: str | None = None,
    today: dt.date | None = None,
) -> CommandResult:
    """Where `command` leads for this viewer; internal names are known only to those who may
    read internal data (as in citymeter/indicators)."""
    command = _check(command)
    place = city_for(session, viewer, city)
    index = index_for(session, place)
    return interpret(
        index,
        command,
        today=today or _today(place),
        internal=viewer.can(READ_INTERNAL),
        lang=lang,
    )


def complete(
    index: CityIndex, command: str, *, today: dt.date, internal: bool, limit: int = 8
) -> list[Completion]:
    """Completions of the command's last word by names the index knows (Hangul typed halfway
    through a syllable still matches: 강나 → 강남구)."""
    words = tokens(command)
    if not words:
        return []
    last = words[-1]
    head = command[: last.start]
    prefix, prefix_jamo = last.text, jamo(last.text)
    seen: set[tuple[str, str]] = set()
    found = []
    for key, key_jamo, entry in index.named:
        if entry.internal and not internal:
            continue
        if not (key.startswith(prefix) or key_jamo.startswith(prefix_jamo)):
            continue
        if (entry.kind, entry.value) in seen:
            continue
        seen.add((entry.kind, entry.value))
        found.append((key != prefix, -entry.rank, len(key), key, entry))
    found.sort(key=lambda f: f[:4])
    lang = language_of(command)
    out = []
    for _, _, _, key, entry in found[:limit]:
        text = head + key
        result = interpret(index, text, today=today, internal=internal, lang=lang)
        url = url_of(result.path, result.params) if result.path else None
        out.append(Completion(text, entry.label(lang), result.kind, url))
    return out


def suggest(
    session: Session,
    viewer: Viewer,
    command: str,
    *,
    city: str | None = None,
    limit: int = 8,
    today: dt.date | None = None,
) -> list[Completion]:
    command = _check(command)
    place = city_for(session, viewer, city)
    return complete(
        index_for(session, place),
        command,
        today=today or _today(place),
        internal=viewer.can(READ_INTERNAL),
        limit=limit,
    )
