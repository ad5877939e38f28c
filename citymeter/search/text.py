"""Text handling for commands: tokens with spans, Korean particles, language, Hangul-aware distance.

Korean syllables are compared by their jamo (initial, medial, final letters), so a typo in one
letter of one syllable costs one edit rather than a whole syllable.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

_HANGUL_FIRST, _HANGUL_LAST = 0xAC00, 0xD7A3
_TOKEN = re.compile(
    r"[0-9A-Za-z\uAC00-\uD7A3\u3131-\u318E]+(?:[.\-+'’~][0-9A-Za-z\uAC00-\uD7A3]+)*\+?"
)

# Particles a Korean noun may carry, longest first; stripped only when the bare word is known.
PARTICLES: tuple[str, ...] = (
    "에서부터",
    "으로부터",
    "로부터",
    "에서의",
    "에서",
    "부터",
    "까지",
    "으로",
    "에게",
    "께서",
    "이랑",
    "하고",
    "에는",
    "은",
    "는",
    "이",
    "가",
    "을",
    "를",
    "의",
    "에",
    "로",
    "도",
    "와",
    "과",
    "만",
)


@dataclass(frozen=True)
class Token:
    """One word of a command: its text, where it sits, and its particle (if stripped)."""

    text: str
    start: int
    end: int


def normalise(text: str) -> str:
    """Lower case, NFC, straight apostrophes and dashes."""
    text = unicodedata.normalize("NFKC", text).replace("’", "'").replace("–", "-")
    return text.lower()


def tokens(command: str) -> list[Token]:
    """The words of a command with their character spans in the original text."""
    text = normalise(command)
    found = []
    for match in _TOKEN.finditer(text):
        word = match.group(0)
        if word.endswith("'s"):
            word = word[:-2]
        word = word.rstrip("'")
        if word:
            found.append(Token(word, match.start(), match.start() + len(word)))
    return found


def is_hangul(char: str) -> bool:
    return _HANGUL_FIRST <= ord(char) <= _HANGUL_LAST or 0x3131 <= ord(char) <= 0x318E


def language_of(command: str) -> str:
    """ "ko" when the command has any Hangul: Korean speakers mix in romanised names and codes
    ("Gangnam 미세먼지", "PM2.5 강남구"), English speakers do not type Hangul."""
    return "ko" if any(is_hangul(c) for c in command) else "en"


def without_particle(word: str) -> list[tuple[str, str]]:
    """(stem, particle) pairs for each particle the word may end with, longest particle first."""
    out = []
    for particle in PARTICLES:
        if len(word) > len(particle) and word.endswith(particle):
            stem = word[: -len(particle)]
            if is_hangul(stem[-1]) or stem[-1].isdigit() or particle in ("부터", "까지"):
                out.append((stem, particle))
    return out


_INITIALS = "ㄱㄲㄴㄷㄸㄹㅁㅂㅃㅅㅆㅇㅈㅉㅊㅋㅌㅍㅎ"
_VOWELS = "ㅏㅐㅑㅒㅓㅔㅕㅖㅗㅘㅙㅚㅛㅜㅝㅞㅟㅠㅡㅢㅣ"
_FINALS = " ㄱㄲㄳㄴㄵㄶㄷㄹㄺㄻㄼㄽㄾㄿㅀㅁㅂㅄㅅㅆㅇㅈㅊㅋㅌㅍㅎ"


def jamo(text: str) -> str:
    """Hangul syllables decomposed into their letters (as compatibility jamo, so a final ㅁ and
    an initial ㅁ are the same letter, and a letter typed on its own matches); other characters
    unchanged, spaces and dashes dropped."""
    out = []
    for char in text:
        code = ord(char)
        if _HANGUL_FIRST <= code <= _HANGUL_LAST:
            index = code - _HANGUL_FIRST
            out.append(_INITIALS[index // 588])
            out.append(_VOWELS[(index % 588) // 28])
            if index % 28:
                out.append(_FINALS[index % 28])
        elif char not in " -_":
            out.append(char)
    return "".join(out)


def distance(a: str, b: str, limit: int) -> int:
    """Levenshtein distance, giving up (returning limit + 1) once it must exceed `limit`."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        best = i
        for j, cb in enumerate(b, 1):
            value = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb))
            current.append(value)
            best = min(best, value)
        if best > limit:
            return limit + 1
        previous = current
    return previous[-1]


def similarity(a_jamo: str, b_jamo: str, threshold: float = 0.5) -> float:
    """1 for equal strings, falling towards 0 with the edit distance of their jamo forms; 0 once
    below `threshold` (which bounds the work done)."""
    longest = max(len(a_jamo), len(b_jamo), 1)
    limit = max(1, int(longest * (1 - threshold)))
    d = distance(a_jamo, b_jamo, limit)
    if d > limit:
        return 0.0
    return 1.0 - d / longest
