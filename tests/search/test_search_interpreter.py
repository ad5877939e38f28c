"""Typos, unknown commands, visibility, language, spans and the Hangul helpers."""

from __future__ import annotations

import pytest

from citymeter.search.index import CityIndex
from citymeter.search.interpreter import interpret
from citymeter.search.service import complete
from citymeter.search.text import distance, jamo, language_of, similarity, tokens
from tests.search.conftest import TODAY

GANGNAM, MAPO = "9900200000", "9900300000"


def run(index: CityIndex, command: str, *, internal: bool = False, lang: str | None = None):  # type: ignore[no-untyped-def]
    return interpret(index, command, today=TODAY, internal=internal, lang=lang)


def test_jamo_decomposes_syllables_into_letters() -> None:
    assert jamo("강") == "ㄱㅏㅇ"
    assert jamo("림구") == "ㄹㅣㅁㄱㅜ"
    assert len(jamo("강남구")) == 8
    assert jamo("PM2.5") == "PM2.5"


def test_a_typo_in_one_syllable_costs_one_letter() -> None:
    assert distance(jamo("강남구"), jamo("강낭구"), 3) == 1
    assert distance("강남구", "강낭구", 3) == 1  # same as a whole syllable here, but:
    assert distance(jamo("마포구"), jamo("머포구"), 3) == 1
    assert similarity(jamo("마포구"), jamo("머포구")) > 0.8
    assert similarity(jamo("마포구"), jamo("송림구")) == 0.0


def test_tokens_keep_spans_of_the_original_text() -> None:
    command = "Show me AIR quality in Gangnam's"
    found = tokens(command)
    assert [t.text for t in found][-1] == "gangnam"
    assert command[found[-1].start : found[-1].end] == "Gangnam"


@pytest.mark.parametrize(
    ("command", "lang"),
    [
        ("강남구 미세먼지", "ko"),
        ("air quality in Gangnam", "en"),
        ("PM2.5 강남구", "ko"),
        ("3번 공약", "ko"),
        ("pledge 3", "en"),
        ("Gangnam 미세먼지", "ko"),
    ],
)
def test_language_is_detected_per_command(command: str, lang: str) -> None:
    assert language_of(command) == lang


def test_labels_follow_the_command_language(city_index: CityIndex) -> None:
    ko = run(city_index, "강남구 미세먼지")
    assert ko.lang == "ko" and "강남구" in ko.label and "지표" in ko.label
    en = run(city_index, "air quality in Gangnam")
    assert en.lang == "en" and "Gangnam-gu" in en.label and "Indicator" in en.label
    forced = run(city_index, "강남구 미세먼지", lang="en")
    assert forced.lang == "en" and "Gangnam-gu" in forced.label


def test_parts_carry_spans_for_highlighting(city_index: CityIndex) -> None:
    command = "employment rate of women in Mapo since 2022"
    result = run(city_index, command)
    spans = {p.kind: command[p.start : p.end] for p in result.parts}
    assert spans["indicator"] == "employment rate"
    assert spans["sex"] == "women"
    assert spans["area"] == "Mapo"
    assert spans["period"] == "2022"
    assert all(p.text == command[p.start : p.end] for p in result.parts)


def test_korean_particles_are_stripped_but_spans_cover_the_word(city_index: CityIndex) -> None:
    command = "강남구의 미세먼지를"
    result = run(city_index, command)
    area = next(p for p in result.parts if p.kind == "area")
    assert area.text == "강남구의" and area.value == GANGNAM
    assert result.confidence == 1.0


@pytest.mark.parametrize(
    ("command", "path", "params"),
    [
        ("강낭구", "/districts/" + GANGNAM, {}),
        ("송니무", "/districts/9900400000", {}),
        ("songnimm district", "/districts/9900400000", {}),
        ("머포구 고용률", "/indicators/employment_rate", {"area": MAPO}),
        ("gangam air quality", "/indicators/pm25_annual_mean", {"area": GANGNAM}),
        ("employment rate in Mappo", "/indicators/employment_rate", {"area": MAPO}),
        ("미세멍지 강남구", "/indicators/pm25_annual_mean", {"area": GANGNAM}),
        ("unemploymant rate", "/indicators/unemployment_rate", {}),
    ],
)
def test_small_typos_still_match(
    city_index: CityIndex, command: str, path: str, params: dict[str, str]
) -> None:
    result = run(city_index, command)
    assert (result.path, result.params) == (path, params)
    assert any(p.fuzzy for p in result.parts)
    assert result.confidence < 1.0


def test_unknown_command_suggests_the_closest_matches(city_index: CityIndex) -> None:
    # 한빛동 does not exist; 한빛구 is three letters away: too far to take, near enough to offer.
    result = run(city_index, "한빛동")
    assert result.kind == "unknown" and result.path is None and result.url is None
    assert result.confidence == 0.0 and result.unmatched == ["한빛동"]
    assert result.suggestions[0].url == "/districts/9900100000"
    assert result.suggestions[0].label == "한빛구"
    english = run(city_index, "Hanbit-dong", lang="en")
    assert english.suggestions[0].label == "Hanbit-gu"


def test_unknown_english_command_suggests_by_substring(city_index: CityIndex) -> None:
    result = run(city_index, "people")
    assert result.kind == "unknown"
    assert any("/indicators/" in s.url for s in result.suggestions)


def test_gibberish_is_unknown_without_crashing(city_index: CityIndex) -> None:
    for command in ("zzzz qqqq", "!!!", "ㅋㅋㅋ", "1234567890123"):
        result = run(city_index, command)
        assert result.path is None or result.confidence <= 1.0


def test_internal_indicators_are_hidden_from_the_public(city_index: CityIndex) -> None:
    public = run(city_index, "자살률")
    assert public.kind == "unknown"
    assert all("suicide" not in s.url for s in public.suggestions)
    staff = run(city_index, "자살률", internal=True)
    assert staff.path == "/indicators/suicide_rate"
    income = run(city_index, "household income in Mapo")
    assert income.path != "/indicators/median_household_income"
    assert run(city_index, "household income in Mapo", internal=True).path == (
        "/indicators/median_household_income"
    )


def test_internal_names_are_not_suggested_to_the_public(city_index: CityIndex) -> None:
    typo = run(city_index, "자살뮬")
    assert all("suicide" not in s.url for s in typo.suggestions)
    assert all(p.value != "suicide_rate" for p in typo.parts)
    staff = run(city_index, "자살뮬", internal=True)
    assert staff.path == "/indicators/suicide_rate"


def test_internal_pledges_are_not_matched_by_title_for_the_public(city_index: CityIndex) -> None:
    public = run(city_index, "Confidential jobs plan")
    assert public.path != "/pledges/9"
    assert run(city_index, "Confidential jobs plan", internal=True).path == "/pledges/9"
    assert all(
        "Confidential" not in c.label
        for c in complete(city_index, "Confid", today=TODAY, internal=False)
    )


def test_a_name_with_two_meanings_follows_the_context(city_index: CityIndex) -> None:
    assert run(city_index, "범죄").path == "/indicators/crime_rate_per_1000"
    assert run(city_index, "범죄 사건").params == {"category": "crime"}
    assert run(city_index, "화재 발생 건수").path == "/indicators/fire_incidents"


def test_type_ahead_completes_the_last_word(city_index: CityIndex) -> None:
    found = complete(city_index, "air quality in Gang", today=TODAY, internal=False)
    assert found[0].text.startswith("air quality in gangnam")
    assert found[0].url == "/indicators/pm25_annual_mean?area=9900200000"
    # Typed halfway through a syllable: 가 + ㅇ is not yet 강.
    halfway = complete(city_index, "마포구 고요", today=TODAY, internal=False)
    assert any(c.text == "마포구 고용률" for c in halfway)
    assert complete(city_index, "자살", today=TODAY, internal=False) == []
    assert complete(city_index, "자살", today=TODAY, internal=True)
