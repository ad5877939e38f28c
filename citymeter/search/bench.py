"""`citymeter bench search`: time command interpretation on a city in the store.

The baseline is the floor any interpreter pays: splitting the command into words and looking
each word up in a dict, measured on the same commands in the same run.
"""

from __future__ import annotations

import datetime as dt
import statistics
import time
from dataclasses import dataclass

from sqlalchemy.orm import Session

from citymeter.accounts.permissions import SYSTEM_VIEWER
from citymeter.places.models import City
from citymeter.search import service
from citymeter.search.index import CityIndex, Entry, build_index, index_for
from citymeter.search.interpreter import interpret
from citymeter.search.text import tokens

FIXED = (
    "show the complaint backlog",
    "open pledge 3",
    "3번 공약",
    "incidents near city hall",
    "시청 근처 사건",
    "민원 처리 지연",
    "여성 고용률 2022년부터",
    "housing pledge",
    "alerts",
    "공공데이터",
    "unknown words here",
)
KO = (
    "{ko} 미세먼지",
    "{ko}의 고용률을 2022년부터 보여줘",
    "{ko} 여성 65세 이상 고용률 추이",
    "{ko} 민원 처리 지연",
    "최근 3개월 {ko} 사건",
    "{typo} 실업률",
)
EN = (
    "air quality in {en} this week",
    "employment rate of women in {en} since 2022",
    "overdue complaints in {en}",
    "{en} ranking of unemployment last year",
)


@dataclass(frozen=True)
class SearchBench:
    city: str
    areas: int
    phrases: int
    commands: int
    understood: int
    index_seconds: float
    p50_ms: float
    p95_ms: float
    max_ms: float
    cached_p95_ms: float
    baseline_p95_ms: float


def _typo(name: str) -> str:
    """The name with the vowel of its first syllable changed (강남구 → 겅남구)."""
    first = name[0]
    code = ord(first) - 0xAC00
    if not 0 <= code <= 11171:
        return name
    vowel = (code % 588) // 28
    changed = code - vowel * 28 + ((vowel + 4) % 21) * 28
    return chr(0xAC00 + changed) + name[1:]


def commands_for(index: CityIndex, limit_areas: int = 25) -> list[str]:
    districts: dict[str, Entry] = {}
    for _, _, entry in index.named:
        if entry.kind == "area" and entry.level == "district":
            districts.setdefault(entry.value, entry)
    out = list(FIXED)
    for entry in list(districts.values())[:limit_areas]:
        out += [t.format(ko=entry.label_ko, typo=_typo(entry.label_ko)) for t in KO]
        out += [t.format(en=entry.label_en) for t in EN]
    return out


def _p(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def run(session: Session, city: City, rounds: int = 5) -> SearchBench:
    started = time.perf_counter()
    index = build_index(session, city)
    index_seconds = time.perf_counter() - started
    commands = commands_for(index)
    today = dt.date.today()
    timings: list[float] = []
    understood = 0
    for round_number in range(rounds):
        for command in commands:
            t0 = time.perf_counter()
            result = interpret(index, command, today=today, internal=True)
            timings.append((time.perf_counter() - t0) * 1000)
            if round_number == 0 and result.path is not None:
                understood += 1
    index_for(session, city)  # warm the cache, then time the whole service call
    cached = []
    for command in commands:
        t0 = time.perf_counter()
        service.run_command(session, SYSTEM_VIEWER, command, city=city.code, today=today)
        cached.append((time.perf_counter() - t0) * 1000)
    baseline = []
    for _ in range(rounds):
        for command in commands:
            t0 = time.perf_counter()
            for token in tokens(command):
                index.phrases.get(token.text)
            baseline.append((time.perf_counter() - t0) * 1000)
    return SearchBench(
        city=f"{city.name} ({city.code})",
        areas=len({e.value for _, _, e in index.named if e.kind == "area"}),
        phrases=len(index.phrases),
        commands=len(commands),
        understood=understood,
        index_seconds=index_seconds,
        p50_ms=statistics.median(timings),
        p95_ms=_p(timings, 0.95),
        max_ms=max(timings),
        cached_p95_ms=_p(cached, 0.95),
        baseline_p95_ms=_p(baseline, 0.95),
    )
