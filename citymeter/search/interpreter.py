"""Turn a command into a navigation target, by rules: recognise the parts (names from the city's
index, time phrases, breakdowns, view words), then pick the view those parts ask for."""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass, field
from urllib.parse import urlencode

from citymeter.search import lexicon
from citymeter.search.index import CityIndex, Entry
from citymeter.search.text import Token, jamo, language_of, similarity, tokens

_YEAR = re.compile(r"^((?:19|20)\d\d)(년|년도)?$")
_YEAR_RANGE = re.compile(r"^((?:19|20)\d\d)(?:년)?[~-]((?:19|20)\d\d)(?:년)?$")
_YEAR_MONTH = re.compile(r"^((?:19|20)\d\d)[-./](0?[1-9]|1[0-2])$")
_MONTH_KO = re.compile(r"^(0?[1-9]|1[0-2])월$")
_MONTH_EN = {m.lower(): i for i, m in enumerate(calendar.month_name) if m} | {
    m.lower(): i for i, m in enumerate(calendar.month_abbr) if m
}
_COUNT_UNIT = re.compile(r"^(\d{1,3})(개월|달|일|주|주일|년|시간)?$")
_EN_UNITS = {
    "month": "month",
    "months": "month",
    "day": "day",
    "days": "day",
    "week": "week",
    "weeks": "week",
    "year": "year",
    "years": "year",
}
_KO_UNITS = {
    "개월": "month",
    "달": "month",
    "일": "day",
    "주": "week",
    "주일": "week",
    "년": "year",
}
_NUMBER = re.compile(r"^#?(\d{1,4})(번|호|번째)?$")
_AGE_PLUS = re.compile(r"^(\d{1,3})(?:세|살)?\+$")
_AGE_KO = re.compile(r"^(\d{1,3})(세|살)$")
_AGE_DECADE = re.compile(r"^([1-9]0)대$")
_AGE_RANGE = re.compile(r"^(\d{1,3})[-~](\d{1,3})(세)?$")
_IDENT = re.compile(r"^(?=.*\d)(?=.*[a-z])[a-z0-9]+(?:-[a-z0-9]+)+$|^\d{5,}$")
_SPLIT_DIGITS = re.compile(r"\d+(?:개월|번째|번|호|년|월|일|주|세|살|대)?|\D+")
_RECENT = {"최근", "지난", "last", "past", "recent", "previous"}
_OVER = {"이상", "over", "and over", "plus", "older"}
FUZZY_ACCEPT = 0.75
FUZZY_SUGGEST = 0.5


@dataclass
class Part:
    """One recognised piece of the command, with its span for highlighting."""

    kind: str
    value: str
    text: str
    start: int
    end: int
    label: str = ""
    fuzzy: bool = False
    entry: Entry | None = field(default=None, repr=False, compare=False)


@dataclass
class Suggestion:
    label: str
    kind: str
    path: str
    params: dict[str, str]
    url: str
    score: float


@dataclass
class CommandResult:
    query: str
    lang: str
    kind: str
    label: str
    path: str | None
    params: dict[str, str]
    url: str | None
    confidence: float
    parts: list[Part]
    unmatched: list[str]
    suggestions: list[Suggestion]


@dataclass
class _Period:
    start: dt.date | None = None
    end: dt.date | None = None
    precision: str = "day"  # day | month


@dataclass
class _Slots:
    area: Entry | None = None
    indicator: Entry | None = None
    pledge: str | None = None
    poi: Entry | None = None
    incident_type: Entry | None = None
    incident_category: str | None = None
    service_type: Entry | None = None
    views: set[str] = field(default_factory=set)
    topics: set[str] = field(default_factory=set)
    sex: str | None = None
    age: str | None = None
    near: bool = False
    number: str | None = None
    ident: str | None = None
    period: _Period | None = None
    city: bool = False
    internal: bool = False


def url_of(path: str, params: dict[str, str]) -> str:
    return path + ("?" + urlencode(params, safe=",+") if params else "")


# ---------------------------------------------------------------------------------------------
# Tokens


def _split(index: CityIndex, toks: list[Token]) -> list[Token]:
    """Split words the index does not know: 3번공약 → 3번 공약, 강남구미세먼지 → 강남구 미세먼지."""
    out: list[Token] = []
    for tok in toks:
        word = tok.text
        if index.canonical(word)[0] in index.words or _is_pattern(word) or len(word) < 3:
            out.append(tok)
            continue
        pieces = _SPLIT_DIGITS.findall(word) if any(c.isdigit() for c in word) else []
        if len(pieces) > 1 and not _IDENT.match(word):
            offset = tok.start
            for piece in pieces:
                out.append(Token(piece, offset, offset + len(piece)))
                offset += len(piece)
            continue
        for cut in range(len(word) - 1, 0, -1):
            left, right = word[:cut], word[cut:]
            if index.canonical(left)[0] in index.words and (
                index.canonical(right)[0] in index.words
            ):
                out.append(Token(left, tok.start, tok.start + cut))
                out.append(Token(right, tok.start + cut, tok.end))
                break
        else:
            out.append(tok)
    return out


def _is_pattern(word: str) -> bool:
    return any(
        p.match(word)
        for p in (
            _YEAR,
            _YEAR_RANGE,
            _YEAR_MONTH,
            _NUMBER,
            _AGE_PLUS,
            _AGE_RANGE,
            _IDENT,
            _COUNT_UNIT,
        )
    )


# ---------------------------------------------------------------------------------------------
# Recognition


def _months_before(day: dt.date, months: int) -> dt.date:
    month_index = day.year * 12 + day.month - 1 - months
    year, month = divmod(month_index, 12)
    return dt.date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def _relative(value: str, today: dt.date) -> _Period:
    monday = today - dt.timedelta(days=today.weekday())
    first = today.replace(day=1)
    if value == "today":
        return _Period(today, None)
    if value == "yesterday":
        day = today - dt.timedelta(days=1)
        return _Period(day, day)
    if value == "this_week":
        return _Period(monday, None)
    if value == "last_week":
        return _Period(monday - dt.timedelta(days=7), monday - dt.timedelta(days=1))
    if value == "this_month":
        return _Period(first, None)
    if value == "last_month":
        end = first - dt.timedelta(days=1)
        return _Period(end.replace(day=1), end, "month")
    if value == "this_year":
        return _Period(dt.date(today.year, 1, 1), None, "month")
    # last_year
    return _Period(dt.date(today.year - 1, 1, 1), dt.date(today.year - 1, 12, 31), "month")


def _year(year: int) -> _Period:
    return _Period(dt.date(year, 1, 1), dt.date(year, 12, 31), "month")


def _month(year: int, month: int) -> _Period:
    last = calendar.monthrange(year, month)[1]
    return _Period(dt.date(year, month, 1), dt.date(year, month, last), "month")


def _ago(count: int, unit: str, today: dt.date) -> _Period:
    if unit == "day":
        return _Period(today - dt.timedelta(days=count), None)
    if unit == "week":
        return _Period(today - dt.timedelta(weeks=count), None)
    if unit == "year":
        return _Period(_months_before(today, 12 * count), None, "month")
    return _Period(_months_before(today, count), None, "month")


class _Reader:
    """Walks the tokens once, left to right, taking the longest thing recognised at each place."""

    def __init__(self, index: CityIndex, toks: list[Token], today: dt.date, internal: bool) -> None:
        self.index = index
        self.toks = toks
        self.words = [index.canonical(t.text)[0] for t in toks]
        self.particles = [index.canonical(t.text)[1] for t in toks]
        self.today = today
        self.internal = internal
        self.parts: list[Part] = []
        self.unmatched: list[int] = []
        self.periods: list[tuple[_Period, int, int]] = []

    def part(self, kind: str, value: str, i: int, n: int = 1, entry: Entry | None = None) -> None:
        start, end = self.toks[i].start, self.toks[i + n - 1].end
        self.parts.append(Part(kind, value, "", start, end, entry=entry))

    def word(self, i: int) -> str:
        return self.words[i] if 0 <= i < len(self.words) else ""

    def read(self) -> None:
        i = 0
        while i < len(self.toks):
            used = self.phrase(i) or self.pattern(i)
            if used:
                i += used
            else:
                self.unmatched.append(i)
                i += 1

    def visible(self, entries: list[Entry]) -> list[Entry]:
        return [e for e in entries if self.internal or not e.internal]

    def phrase(self, i: int) -> int:
        for n in range(min(self.index.longest, len(self.toks) - i), 0, -1):
            key = " ".join(self.words[i : i + n])
            entries = self.visible(self.index.lookup(key))
            if entries:
                best = max(entries, key=lambda e: e.rank)
                start, end = self.toks[i].start, self.toks[i + n - 1].end
                self.parts.append(Part(best.kind, best.value, key, start, end, entry=best))
                if best.kind == "time":
                    self.periods.append((_relative(best.value, self.today), i, n))
                # Other meanings stay available for the resolver (crime: indicator or incident).
                for other in entries:
                    if other is not best:
                        self.parts.append(
                            Part(other.kind, other.value, "", start, end, entry=other, fuzzy=False)
                        )
                        self.parts[-1].label = "alternative"
                return n
        return 0

    def pattern(self, i: int) -> int:
        w, nxt = self.word(i), self.word(i + 1)
        if m := _YEAR_RANGE.match(w):
            first, last = _year(int(m.group(1))), _year(int(m.group(2)))
            self.period_part(_Period(first.start, last.end, "month"), i)
            return 1
        if m := _YEAR_MONTH.match(w):
            self.period_part(_month(int(m.group(1)), int(m.group(2))), i)
            return 1
        if m := _YEAR.match(w):
            year = int(m.group(1))
            if (k := _MONTH_KO.match(nxt)) is not None:
                self.period_part(_month(year, int(k.group(1))), i, 2)
                return 2
            if nxt in _MONTH_EN:
                self.period_part(_month(year, _MONTH_EN[nxt]), i, 2)
                return 2
            self.period_part(_year(year), i)
            return 1
        if w in _MONTH_EN and len(w) > 2 and (m := _YEAR.match(nxt)):
            self.period_part(_month(int(m.group(1)), _MONTH_EN[w]), i, 2)
            return 2
        if w in _RECENT:
            # 최근 3개월, last 3 months, past 7 days, 지난 2주
            count_match = _COUNT_UNIT.match(nxt)
            if count_match:
                count = int(count_match.group(1))
                unit = _KO_UNITS.get(count_match.group(2) or "")
                used = 2
                if unit is None:
                    unit = _EN_UNITS.get(self.word(i + 2))
                    used = 3
                if unit is not None:
                    self.period_part(_ago(count, unit, self.today), i, used)
                    return used
            if nxt in _EN_UNITS:  # past month, last year handled by phrases; past day etc.
                self.period_part(_ago(1, _EN_UNITS[nxt], self.today), i, 2)
                return 2
        # Ages: 65세 이상, 65+, aged 65 and over, over 65, 20대, 15-29세
        if m := _AGE_PLUS.match(w):
            self.part("age", f"{int(m.group(1))}+", i)
            return 1
        if m := _AGE_DECADE.match(w):
            lo = int(m.group(1))
            self.part("age", f"{lo}-{lo + 9}", i)
            return 1
        if (m := _AGE_KO.match(w)) is not None:
            if nxt in ("이상", "넘는", "초과"):
                self.part("age", f"{int(m.group(1))}+", i, 2)
                return 2
            if nxt in ("미만", "이하"):
                self.part("age", f"0-{int(m.group(1)) - (nxt == '미만')}", i, 2)
                return 2
        if (m := _AGE_RANGE.match(w)) and int(m.group(1)) < int(m.group(2)) <= 120:
            self.part("age", f"{int(m.group(1))}-{int(m.group(2))}", i)
            return 1
        if w in ("aged", "over", "age", "ages") and (m := _NUMBER.match(nxt)):
            age = int(m.group(1))
            used = 2
            if self.word(i + 2) == "and" and self.word(i + 3) in ("over", "older", "above"):
                used = 4
            elif self.word(i + 2) in ("plus", "over", "older"):
                used = 3
            self.part("age", f"{age}+", i, used)
            return used
        if m := _NUMBER.match(w):
            self.part("number", str(int(m.group(1))), i)
            return 1
        if _IDENT.match(w) and not self.index.lookup(w):
            tok = self.toks[i]
            self.parts.append(Part("ident", w, "", tok.start, tok.end))
            return 1
        return 0

    def period_part(self, period: _Period, i: int, n: int = 1) -> None:
        start, end = self.toks[i].start, self.toks[i + n - 1].end
        value = "/".join(d.isoformat() if d else "" for d in (period.start, period.end))
        self.parts.append(Part("period", value, "", start, end))
        self.periods.append((period, i, n))

    def fuzzy(self) -> None:
        """Unknown words that are one small typo away from a known name are read as that name."""
        still: list[int] = []
        for i in self.unmatched:
            word = self.toks[i].text
            found = best_matches(self.index, word, self.internal, FUZZY_ACCEPT, 1)
            if found:
                _, entry = found[0]
                self.parts.append(
                    Part(
                        entry.kind,
                        entry.value,
                        "",
                        self.toks[i].start,
                        self.toks[i].end,
                        entry=entry,
                        fuzzy=True,
                    )
                )
            else:
                still.append(i)
        self.unmatched = still


def best_matches(
    index: CityIndex, word: str, internal: bool, threshold: float, limit: int
) -> list[tuple[float, Entry]]:
    """Named things whose name is closest to `word` by jamo edit distance (or contains it)."""
    target = jamo(word)
    if len(target) < 4:
        return []
    scored: dict[tuple[str, str], tuple[float, Entry]] = {}
    for _, key_jamo, entry in index.named:
        if entry.internal and not internal:
            continue
        if abs(len(key_jamo) - len(target)) > max(1, int(len(target) * (1 - threshold))):
            continue
        if key_jamo[0] != target[0] and key_jamo[-1] != target[-1]:
            continue
        score = similarity(target, key_jamo, threshold)
        if score >= threshold:
            ident = (entry.kind, entry.value)
            if ident not in scored or scored[ident][0] < score:
                scored[ident] = (score, entry)
    ranked = sorted(scored.values(), key=lambda s: (-s[0], -s[1].rank, s[1].value))
    return ranked[:limit]


# ---------------------------------------------------------------------------------------------
# Resolution


def _fmt(day: dt.date, precision: str) -> str:
    return day.strftime("%Y-%m") if precision == "month" else day.isoformat()


def _collect(reader: _Reader) -> _Slots:
    slots = _Slots()
    parts = reader.parts
    alternatives: dict[tuple[int, int], list[Entry]] = {}
    for part in parts:
        if part.entry is not None:
            alternatives.setdefault((part.start, part.end), []).append(part.entry)
    has_incident_context = any(
        p.entry is not None
        and (
            (p.entry.kind == "topic" and p.entry.value == "incidents")
            or p.entry.kind in ("near", "poi", "incident_type")
        )
        for p in parts
    )
    chosen: list[Part] = []
    for part in parts:
        if part.label == "alternative":
            continue
        entry = part.entry
        if entry is not None:
            options = alternatives[(part.start, part.end)]
            kinds = {e.kind: e for e in options}
            # One phrase, two meanings: "crime" is an incident category near incidents words,
            # an indicator otherwise.
            if "incident_type" in kinds and (has_incident_context or "indicator" not in kinds):
                entry = kinds["incident_type"]
            elif has_incident_context and "incident_category" in kinds:
                entry = kinds["incident_category"]
            elif "poi" in kinds and kinds["poi"].lat is not None:
                entry = kinds["poi"]
            elif entry.kind in ("incident_category", "incident_type") and "indicator" in kinds:
                entry = kinds["indicator"]
            part.entry = entry
            part.kind, part.value = entry.kind, entry.value
        chosen.append(part)
    reader.parts = chosen

    since_marks = [p for p in chosen if p.kind == "since"]
    for period, i, n in reader.periods:
        direction = _direction(reader, i, n, since_marks)
        if direction == "from":
            period = _Period(period.start, None, period.precision)
        elif direction == "to":
            period = _Period(None, period.end, period.precision)
        if slots.period is None:
            slots.period = period
        else:
            merged = slots.period
            slots.period = _Period(
                merged.start or period.start, period.end or merged.end, merged.precision
            )
    for part in chosen:
        entry = part.entry
        if part.kind == "area" and entry is not None:
            if slots.area is None or (slots.area.level == "city" and entry.level != "city"):
                slots.area = entry
        elif part.kind == "indicator" and slots.indicator is None:
            slots.indicator = entry
        elif part.kind == "pledge":
            slots.pledge = part.value
        elif part.kind == "poi":
            slots.poi = entry
        elif part.kind == "incident_type":
            slots.incident_type = entry
        elif part.kind == "incident_category":
            slots.incident_category = part.value
        elif part.kind == "service_type":
            slots.service_type = entry
        elif part.kind == "view":
            slots.views.add(part.value)
        elif part.kind == "topic":
            slots.topics.add(part.value)
        elif part.kind == "sex":
            slots.sex = part.value
        elif part.kind == "age":
            slots.age = part.value
        elif part.kind == "near":
            slots.near = True
        elif part.kind == "number":
            slots.number = part.value
        elif part.kind == "ident":
            slots.ident = part.value
        elif part.kind == "city":
            slots.city = True
    return slots


def _direction(reader: _Reader, i: int, n: int, marks: list[Part]) -> str | None:
    """from / to for a period next to a since-word (English before it, Korean after it)."""
    before = reader.toks[i - 1] if i > 0 else None
    after = reader.toks[i + n] if i + n < len(reader.toks) else None
    particle = reader.particles[i + n - 1]
    if particle in ("부터", "에서부터", "로부터"):
        return "from"
    if particle == "까지":
        return "to"
    for mark in marks:
        korean = any("\uac00" <= c <= "\ud7a3" for c in mark.text)
        # Korean puts the word after the year (2022년 이후), English before it (since 2022).
        if korean and after is not None and mark.start == after.start:
            return mark.value
        if not korean and before is not None and mark.end == before.end:
            return mark.value
    return None


def _period_params(slots: _Slots, style: str) -> dict[str, str]:
    period = slots.period
    if period is None:
        return {}
    out: dict[str, str] = {}
    if style == "range":
        if period.start:
            out["from"] = _fmt(period.start, period.precision)
        if period.end:
            out["to"] = _fmt(period.end, period.precision)
    else:
        if period.start:
            out["since"] = period.start.isoformat()
        if period.end:
            out["until"] = period.end.isoformat()
    return out


def _point(entry: Entry) -> str:
    return f"{entry.lat:.5f},{entry.lon:.5f}"


def _pledge_about(index: CityIndex, code: str, internal: bool) -> str | None:
    """The pledge measured by this indicator, else one on the same theme (housing → housing)."""
    theme = index.themes.get(code)
    best: tuple[int, str] | None = None
    for number, pledge in index.pledges.items():
        if pledge.internal and not internal:
            continue
        if code in pledge.indicator_codes:
            score = 2
        elif theme is not None and any(
            index.themes.get(c) == theme for c in pledge.indicator_codes
        ):
            score = 1
        else:
            continue
        key = (-score, number.zfill(6))
        if best is None or key < (best[0], best[1].zfill(6)):
            best = (-score, number)
    return best[1] if best else None


def resolve(index: CityIndex, slots: _Slots) -> tuple[str, str | None, dict[str, str]]:
    """(view kind, path, query parameters) for the recognised parts."""
    area = slots.area
    district = {"district": area.value} if area is not None and area.level != "city" else {}
    topics, views = slots.topics, slots.views

    if "pledges" in topics or slots.pledge is not None:
        number = slots.pledge or slots.number
        if number is None and slots.indicator is not None:
            number = _pledge_about(index, slots.indicator.value, slots.internal)
        if number is not None:
            return "pledge", f"/pledges/{number}", {}
        return "dashboard", "/", {"panel": "pledges", **district}
    if "incidents" in topics and slots.ident is not None:
        return "incident", f"/incidents/{slots.ident.upper()}", {}
    if "complaints" in topics and (slots.ident or slots.number):
        return "complaint", f"/complaints/{slots.ident or slots.number}", {}
    for view, path in (
        ("alerts", "/alerts"),
        ("suggestions", "/suggestions"),
        ("open_data", "/open-data"),
        ("sources", "/sources"),
    ):
        if view in views and slots.indicator is None:
            return view, path, dict(district)
    poi = slots.poi
    if poi is not None and poi.lat is None:
        poi = index.root_area  # city hall without a stored location: the city's centre
    wants_incidents = (
        "incidents" in topics
        or slots.incident_type is not None
        or (slots.incident_category is not None and slots.indicator is None)
        or (poi is not None and "complaints" not in topics)
    )
    if wants_incidents:
        params: dict[str, str] = {}
        if poi is not None and poi.lat is not None:
            params["near"] = _point(poi)
        if slots.incident_type is not None:
            params["type"] = slots.incident_type.value
        elif slots.incident_category is not None:
            params["category"] = slots.incident_category
        if "near" not in params:
            params.update(district)
        params.update(_period_params(slots, "since"))
        return "incidents", "/incidents", params
    if (
        "complaints" in topics
        or slots.service_type is not None
        or (("backlog" in views or "late" in views) and slots.indicator is None)
    ):
        params = {}
        if "backlog" in views or "late" in views:
            params["status"] = "open"
        if "late" in views:
            params["late"] = "1"
        params.update(district)
        if slots.service_type is not None:
            params["type"] = slots.service_type.value
        params.update(_period_params(slots, "since"))
        return "complaints", "/complaints", params
    if slots.indicator is not None:
        params = {}
        if area is not None:
            params["area"] = area.value
        if slots.sex:
            params["sex"] = slots.sex
        if slots.age:
            params["age"] = slots.age
        params.update(_period_params(slots, "range"))
        for view in ("ranking", "trend", "map"):
            if view in views:
                params["view"] = view
                break
        return "indicator", f"/indicators/{slots.indicator.value}", params
    if area is not None and area.level != "city":
        if "map" in views or "dashboard" in views:
            return "dashboard", "/", {"district": area.value}
        return "district", f"/districts/{area.value}", {}
    if area is not None or slots.city or views & {"dashboard", "map"}:
        return "dashboard", "/", {}
    return "unknown", None, {}


def _label(kind: str, slots: _Slots, lang: str) -> str:
    ko, en = lexicon.VIEW_LABELS[kind]
    bits = [ko if lang == "ko" else en]
    for entry in (slots.indicator, slots.area, slots.poi, slots.incident_type, slots.service_type):
        if entry is not None:
            bits.append(entry.label(lang))
    if slots.pledge:
        bits.append(f"{slots.pledge}번" if lang == "ko" else f"#{slots.pledge}")
    if slots.sex:
        bits.append(lexicon.SEX_LABELS[slots.sex][0 if lang == "ko" else 1])
    if slots.age:
        bits.append(f"{slots.age}세" if lang == "ko" else f"age {slots.age}")
    return " · ".join(bits)


def _part_label(part: Part, lang: str) -> str:
    if part.entry is not None and part.kind not in ("filler", "since"):
        return part.entry.label(lang)
    ko, en = lexicon.KIND_LABELS.get(part.kind, (part.kind, part.kind))
    return ko if lang == "ko" else en


def entry_target(index: CityIndex, entry: Entry) -> tuple[str, str, dict[str, str]]:
    """Where a named thing on its own leads (for suggestions)."""
    slots = _Slots()
    if entry.kind == "area":
        slots.area = entry
    elif entry.kind == "indicator":
        slots.indicator = entry
    elif entry.kind == "pledge":
        slots.pledge = entry.value
    elif entry.kind == "poi":
        slots.poi = entry
    elif entry.kind == "incident_type":
        slots.incident_type = entry
    elif entry.kind == "service_type":
        slots.service_type = entry
    elif entry.kind == "view":
        slots.views.add(entry.value)
    elif entry.kind == "topic":
        slots.topics.add(entry.value)
    kind, path, params = resolve(index, slots)
    if path is None and entry.kind == "view":
        return "complaints", "/complaints", {"status": "open"}
    return kind, path or "/", params


def suggestions_for(
    index: CityIndex, words: list[str], internal: bool, lang: str, limit: int = 5
) -> list[Suggestion]:
    scored: dict[tuple[str, str], tuple[float, Entry]] = {}
    for word in words:
        for score, entry in best_matches(index, word, internal, FUZZY_SUGGEST, limit * 2):
            key = (entry.kind, entry.value)
            if key not in scored or scored[key][0] < score:
                scored[key] = (score, entry)
        if len(word) >= 2:
            for name, _, entry in index.named:
                if entry.internal and not internal:
                    continue
                if word in name and (entry.kind, entry.value) not in scored:
                    scored[(entry.kind, entry.value)] = (0.5 * len(word) / len(name) + 0.3, entry)
    ranked = sorted(scored.values(), key=lambda s: (-s[0], -s[1].rank, s[1].value))[:limit]
    out = []
    for score, entry in ranked:
        kind, path, params = entry_target(index, entry)
        out.append(
            Suggestion(entry.label(lang), kind, path, params, url_of(path, params), round(score, 3))
        )
    return out


def interpret(
    index: CityIndex,
    command: str,
    *,
    today: dt.date,
    internal: bool,
    lang: str | None = None,
) -> CommandResult:
    """The navigation target of one command, with its recognised parts and a confidence."""
    lang = lang if lang in ("ko", "en") else language_of(command)
    toks = _split(index, tokens(command))
    reader = _Reader(index, toks, today, internal)
    reader.read()
    reader.fuzzy()
    slots = _collect(reader)
    slots.internal = internal
    kind, path, params = resolve(index, slots)
    parts = sorted(reader.parts, key=lambda p: p.start)
    for part in parts:
        part.text = command[part.start : part.end]
        part.label = _part_label(part, lang)
    unmatched = [toks[i].text for i in reader.unmatched]
    total = sum(t.end - t.start for t in toks) or 1
    understood = sum((t.end - t.start) for n, t in enumerate(toks) if n not in reader.unmatched)
    fuzzy_chars = sum(p.end - p.start for p in parts if p.fuzzy)
    confidence = 0.0 if path is None else max(0.05, (understood - 0.25 * fuzzy_chars) / total)
    suggestions: list[Suggestion] = []
    if path is None or confidence < 0.6:
        words = unmatched or [t.text for t in toks]
        suggestions = suggestions_for(index, words, internal, lang)
    visible_parts = [p for p in parts if p.kind not in ("filler",)]
    return CommandResult(
        query=command,
        lang=lang,
        kind=kind,
        label=_label(kind, slots, lang),
        path=path,
        params=params,
        url=url_of(path, params) if path else None,
        confidence=round(confidence, 3),
        parts=visible_parts,
        unmatched=unmatched,
        suggestions=suggestions,
    )
