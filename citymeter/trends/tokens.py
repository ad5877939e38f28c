"""Terms of a text: words and two-word phrases, for Korean and English, with no model download.

Korean: each run of Hangul syllables (an eojeol) loses a trailing particle or verb ending from a
short list ("주차가" → "주차", "설치해주세요" → "설치"); stems of one syllable and stopwords are
dropped. This is a rule-based light stemmer, not a morphological analyser: compounds written
without a space ("불법주차") stay one term. (kiwipiepy would split them, but it is a native
extension whose model package is an 88 MB source-only download; see docs/trends.md.)
English: lowercase words of two or more letters, minus stopwords; no stemming.
Phrases: two kept terms that stood next to each other in the text ("불법 주차", "illegal parking").
"""

from __future__ import annotations

import functools
import itertools
import re

_TOKEN = re.compile(r"[가-힣]+|[A-Za-z][A-Za-z'\-]*[A-Za-z]|[A-Za-z]|[^\s]")
_HANGUL = re.compile(r"[가-힣]")

# Longest first, so "에서는" is stripped before "는".
# fmt: off
_KO_SUFFIXES = tuple(
    sorted(
        {
            # particles (josa)
            "이", "가", "은", "는", "을", "를", "의", "에", "도", "만", "와", "과", "로", "으로",
            "에서", "에게", "한테", "께서", "까지", "부터", "처럼", "보다", "마다", "조차", "이나",
            "나", "랑", "이랑", "하고", "에는", "에서는", "으로는", "로는", "에도", "까지는",
            "이라도", "라도", "에게서", "으로서", "으로써", "들", "들이", "들은", "들을", "들의",
            # verb and adjective endings common in complaints and posts
            "해주세요", "해주십시오", "해주시기", "해주시길", "해주시면", "해줘요", "해주길",
            "합니다", "입니다", "습니다", "했습니다", "됩니다", "되었습니다", "됐습니다",
            "하는", "해서", "하여", "해야", "했다", "한다", "하다", "해요", "했어요",
            "되어", "되고", "되는", "된", "돼요", "돼서", "이다", "였다", "에요", "예요",
            "이에요", "인데", "는데", "지만", "하게", "스럽다", "스러운", "적인", "적으로",
            "하기", "하면", "해도", "할", "한", "아요", "어요", "워요", "어서", "아서",
            "았어요", "었어요", "니다",
        },
        key=len,
        reverse=True,
    )
)
# fmt: on
_SUFFIX_SET = frozenset(_KO_SUFFIXES)
_SUFFIX_LENGTHS = sorted({len(x) for x in _KO_SUFFIXES}, reverse=True)

# fmt: off
KO_STOPWORDS = frozenset(
    {
        "너무", "정말", "매우", "아주", "많이", "조금", "그리고", "하지만", "그래서", "그런데",
        "또한", "이런", "저런", "그런", "이번", "지금", "오늘", "어제", "내일", "항상", "계속",
        "때문", "관련", "대한", "대해", "위한", "위해", "통해", "부탁", "부탁드립니다",
        "바랍니다", "감사", "감사합니다", "있습니다", "없습니다", "있어요", "없어요", "있는",
        "없는", "있다", "없다", "같아요", "같습니다", "해주세요", "주세요", "드립니다", "합니다",
        "입니다", "여기", "거기", "저기", "우리", "저희", "이것", "그것", "무엇", "어떻게",
        "언제", "어디", "모든", "다른", "같은", "가장", "더욱", "이미", "아직", "다시",
        "자꾸", "요즘", "최근", "근처", "주변", "경우", "정도", "부분", "문의", "요청",
    }
)
# fmt: on

EN_STOPWORDS = frozenset(
    """a about above after again against all also am an and any are as at be because been
    before being below between both but by can could did do does doing down during each few
    for from further had has have having he her here hers him his how i if in into is it its
    itself just me more most my no nor not now of off on once only or other our ours out over
    own please same she should so some such than thank thanks that the their theirs them then
    there these they this those through to too under until up very was we were what when where
    which while who whom why will with would you your yours yourselves get got still really
    there's it's i'm don't can't won't isn't aren't doesn't didn't we're they're let let's
    one two lot lots many much every near since via per""".split()  # noqa: SIM905
)


# City nouns that end in a syllable which is also a particle ("지하차도" is not "지하차" + "도").
# fmt: off
KO_KEEP = frozenset(
    {
        "지하차도", "차도", "인도", "보도", "도로", "고가도로", "교차로", "산책로", "통로", "경로",
        "자전거도로", "어린이", "놀이", "제도", "속도", "온도", "습도", "정도", "주민센터",
        "쓰레기",
    }
)
# fmt: on


def _korean_stem(word: str) -> str | None:
    if word in KO_STOPWORDS:
        return None
    if word in KO_KEEP:
        return word
    for length in _SUFFIX_LENGTHS:  # longest first; a set lookup per length, not per suffix
        if len(word) - length >= 2 and word[-length:] in _SUFFIX_SET:
            word = word[:-length]
            break
    if len(word) < 2 or word in KO_STOPWORDS:
        return None
    return word


def _english(word: str) -> str | None:
    word = word.lower().strip("'-")
    if len(word) < 2 or word in EN_STOPWORDS:
        return None
    return word


def words(text: str) -> list[str | None]:
    """The text's tokens in order; None marks a dropped token (a stopword, punctuation, a
    number), which also breaks a phrase."""
    return [_term_of(token) for token in _TOKEN.findall(text)]


@functools.lru_cache(maxsize=65_536)
def _term_of(token: str) -> str | None:
    # Cached: a city's texts reuse a few thousand words, and stemming is the costly part.
    if _HANGUL.match(token):
        return _korean_stem(token)
    if token[0].isascii() and token[0].isalpha():
        return _english(token)
    return None


def terms(text: str) -> set[str]:
    """The distinct words and adjacent two-word phrases of a text."""
    tokens = words(text)
    found: set[str] = {t for t in tokens if t is not None}
    for first, second in itertools.pairwise(tokens):
        if first is not None and second is not None and first != second:
            found.add(f"{first} {second}")
    return found


def normalise_term(text: str) -> str | None:
    """A user's term as the counter stores it ("불법 주차를" → "불법 주차"); None if it has
    no countable word or more than two."""
    kept = [t for t in words(text) if t is not None]
    if not 1 <= len(kept) <= 2:
        return None
    return " ".join(kept)


def language_of(text: str) -> str:
    """ "ko" when the text has Hangul, else "en": enough to label a feed item."""
    return "ko" if _HANGUL.search(text) else "en"
