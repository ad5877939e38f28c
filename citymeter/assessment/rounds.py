"""Certification rounds: a framework (its text kept with the round), class rules and dates."""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from citymeter.accounts import audit
from citymeter.accounts.permissions import Viewer
from citymeter.assessment import ledger
from citymeter.assessment.access import require_body
from citymeter.assessment.loader import parse_framework, shipped_frameworks
from citymeter.assessment.models import CertificationRound
from citymeter.assessment.schema import Framework
from citymeter.errors import Conflict, InvalidInput, NotFound

_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,79}$")


@functools.lru_cache(maxsize=32)
def _parse(text: str) -> Framework:
    return parse_framework(text, "the round's framework")


def framework_of(round_: CertificationRound) -> Framework:
    """The framework the round was opened with (parsed once per text)."""
    return _parse(round_.framework_text)


def framework_text(id_or_path: str) -> str:
    """The YAML text of a shipped framework (by id) or of a framework file (by path)."""
    shipped = shipped_frameworks()
    if id_or_path in shipped:
        return shipped[id_or_path]
    path = Path(id_or_path)
    if not path.is_file():
        raise NotFound(
            f"No framework file at {id_or_path!r} and no shipped framework of that id; "
            f"shipped: {', '.join(shipped)}."
        )
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InvalidInput(f"{path.name} is not UTF-8 text.") from None


@dataclass(frozen=True)
class RoundSpec:
    code: str
    name: str
    framework: str  # YAML text (see framework_text)
    opens_at: dt.datetime
    closes_at: dt.datetime
    classes: tuple[str, ...] = ()


def open_round(session: Session, viewer: Viewer, spec: RoundSpec) -> CertificationRound:
    """Open a round. The framework is checked completely first; nothing is saved on error."""
    require_body(viewer, "open a round")
    if not _CODE.match(spec.code):
        raise InvalidInput(
            f"Round code {spec.code!r}: letters, digits, '.', '_' and '-' only (up to 80)."
        )
    if not spec.name.strip():
        raise InvalidInput("A round needs a name.")
    for when in (spec.opens_at, spec.closes_at):
        if when.tzinfo is None:
            raise InvalidInput("Give round dates with a time zone (UTC is fine).")
    if spec.closes_at <= spec.opens_at:
        raise InvalidInput("The submission deadline must come after the round opens.")
    framework = parse_framework(spec.framework, "the framework")
    known = [c.id for c in framework.eligibility.classes]
    unknown = [c for c in spec.classes if c not in known]
    if unknown:
        raise InvalidInput(
            f"Unknown class(es) {', '.join(unknown)} for {framework.id}; "
            f"its classes: {', '.join(known) or 'none'}."
        )
    if session.scalar(select(CertificationRound.id).where(CertificationRound.code == spec.code)):
        raise Conflict(f"A round with code {spec.code!r} exists already.")
    round_ = CertificationRound(
        code=spec.code,
        name=spec.name.strip(),
        framework_id=framework.id,
        framework_version=framework.version,
        framework_text=spec.framework,
        classes=list(spec.classes),
        opens_at=spec.opens_at,
        closes_at=spec.closes_at,
        status="open",
    )
    session.add(round_)
    session.flush()
    detail = {"code": round_.code, "framework": framework.id, "version": framework.version}
    audit.record(session, viewer, "round.open", "certification_round", round_.id, detail)
    ledger.append(session, viewer, "round.open", "certification_round", round_.id, detail)
    return round_


def get_round(session: Session, code: str) -> CertificationRound:
    found = session.scalar(select(CertificationRound).where(CertificationRound.code == code))
    if found is None:
        raise NotFound(f"No round with code {code!r}; `citymeter rounds list` shows them.")
    return found


def list_rounds(session: Session) -> list[CertificationRound]:
    return list(
        session.scalars(
            select(CertificationRound).order_by(
                CertificationRound.opens_at.desc(), CertificationRound.id
            )
        )
    )


def close_round(session: Session, viewer: Viewer, code: str) -> CertificationRound:
    require_body(viewer, "close a round")
    round_ = get_round(session, code)
    if round_.status == "closed":
        raise Conflict(f"Round {code!r} is closed already.")
    round_.status = "closed"
    session.flush()
    audit.record(session, viewer, "round.close", "certification_round", round_.id)
    return round_
