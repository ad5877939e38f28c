"""Korean and English terms: particles and endings stripped, stopwords dropped, phrases kept."""

from __future__ import annotations

from citymeter.trends.tokens import language_of, normalise_term, terms


def test_korean_particles_and_endings_are_stripped() -> None:
    found = terms("불법 주차가 너무 많아요. 단속 해주세요!")
    assert {"불법", "주차", "단속", "불법 주차"} <= found
    assert "너무" not in found and "주차가" not in found
    assert terms("주차를 막아주세요") >= {"주차"}
    assert "설치" in terms("신호등 설치해주세요")
    # Nouns that end like a particle are kept whole.
    assert {"지하차도", "지하차도 침수"} <= terms("지하차도 침수") and "지하차도" in terms(
        "지하차도가"
    )
    # One-syllable stems are dropped ("차가" → "차").
    assert "차" not in terms("차가 막혀요")


def test_phrases_do_not_jump_over_dropped_words() -> None:
    assert "불법 주차" in terms("불법 주차 단속")
    assert "불법 단속" not in terms("불법 너무 단속")
    assert "illegal parking" in terms("Illegal parking on Main Street, please!")
    assert "parking main" not in terms("parking on main street")


def test_english_stopwords_and_case() -> None:
    found = terms("The potholes on THE street are really bad")
    # Stopwords also break phrases: no "potholes street".
    assert found == {"potholes", "street", "bad"}


def test_normalise_and_language() -> None:
    assert normalise_term("불법 주차를") == "불법 주차"
    assert normalise_term("Illegal  Parking") == "illegal parking"
    assert normalise_term("the") is None
    assert normalise_term("red green blue") is None
    assert language_of("주차 문제") == "ko" and language_of("parking") == "en"
