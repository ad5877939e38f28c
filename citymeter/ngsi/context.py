"""JSON-LD @context handling for NGSI-LD: the core context served locally, term expansion and
compaction, and the Link header.

CityMeter never fetches a remote @context (it must work in a closed network). A request may use
  - no context at all (the core context applies),
  - the core context by any of its URLs (ETSI's, versioned or not, or CityMeter's own copy),
  - inline context objects (term → IRI maps) inside an `application/ld+json` body.
Any other URL is answered with LdContextNotAvailable (503).

Names are stored as the short term when they expand into the core context's default vocabulary
(https://uri.etsi.org/ngsi-ld/default-context/) and as the full IRI otherwise, so that the same
attribute sent with and without a context lands on the same stored name.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from citymeter.ngsi.errors import BadRequestData, LdContextNotAvailable

CORE_CONTEXT_PATH = "/ngsi-ld/v1/contexts/core"
ETSI_CORE_URL = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context.jsonld"
_ETSI_CORE_PATTERN = re.compile(
    r"^https?://uri\.etsi\.org/ngsi-ld/v1/ngsi-ld-core-context(-v1\.\d+)?\.jsonld$"
)
DEFAULT_VOCAB = "https://uri.etsi.org/ngsi-ld/default-context/"
NGSI_LD_PREFIX = "https://uri.etsi.org/ngsi-ld/"
CONTEXT_REL = "http://www.w3.org/ns/json-ld#context"
JSONLD = "application/ld+json"

_ABSOLUTE_IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


@cache
def core_context_document() -> dict[str, Any]:
    """The core @context document CityMeter serves at CORE_CONTEXT_PATH."""
    text = (resources.files("citymeter.ngsi") / "contexts" / "ngsi-ld-core-context.json").read_text(
        encoding="utf-8"
    )
    document: dict[str, Any] = json.loads(text)
    return document


@cache
def core_terms() -> frozenset[str]:
    """Terms the core context defines (never expanded or renamed by a user context)."""
    return frozenset(k for k in core_context_document()["@context"] if not k.startswith("@"))


def is_core_url(url: str) -> bool:
    """True for ETSI's core context URLs and for CityMeter's own copy (on any host)."""
    url = url.strip()
    if _ETSI_CORE_PATTERN.match(url):
        return True
    path = re.sub(r"^https?://[^/]+", "", url)
    return path.rstrip("/") == CORE_CONTEXT_PATH


@dataclass(frozen=True)
class LdContext:
    """The user part of a request's @context (the core context is always implied)."""

    terms: dict[str, str] = field(default_factory=dict)
    vocab: str | None = None
    # What the request gave, to echo back in responses (None: the core context alone).
    given: Any = None

    @property
    def is_core(self) -> bool:
        return not self.terms and self.vocab is None

    def expand(self, term: str) -> str:
        """The stored name of `term` (an attribute name or an entity type)."""
        if term in self.terms:
            return _short(self.terms[term])
        if term in core_terms():
            return term
        if _ABSOLUTE_IRI.match(term):
            prefix, _, rest = term.partition(":")
            if prefix in self.terms and not rest.startswith("//"):
                return _short(self.terms[prefix] + rest)
            return _short(term)
        if self.vocab is not None:
            return _short(self.vocab + term)
        return term

    def compact(self, name: str) -> str:
        """The term a client using this context sees for the stored `name`."""
        if self.is_core:
            return name
        iri = name if _ABSOLUTE_IRI.match(name) else DEFAULT_VOCAB + name
        for term, mapped in self.terms.items():
            if mapped == iri:
                return term
        if name in core_terms():
            return name
        if self.vocab is not None and iri.startswith(self.vocab) and len(iri) > len(self.vocab):
            return iri[len(self.vocab) :]
        if not _ABSOLUTE_IRI.match(name) and (name in self.terms or self.vocab is not None):
            return iri  # the short name means something else under this context
        return name


CORE = LdContext()


def _short(iri: str) -> str:
    if iri.startswith(DEFAULT_VOCAB) and len(iri) > len(DEFAULT_VOCAB):
        return iri[len(DEFAULT_VOCAB) :]
    return iri


def resolve(given: Any) -> LdContext:
    """An LdContext from an @context value (a URL, an object, or a list of them)."""
    if given is None:
        return CORE
    entries = given if isinstance(given, list) else [given]
    terms: dict[str, str] = {}
    vocab: str | None = None
    for entry in entries:
        if isinstance(entry, str):
            if not is_core_url(entry):
                raise LdContextNotAvailable(
                    f"The @context {entry!r} is not available: CityMeter does not download "
                    f"remote contexts. Use the core context ({ETSI_CORE_URL} or "
                    f"{CORE_CONTEXT_PATH}) or put the term definitions inline in an "
                    "application/ld+json body."
                )
            continue
        if not isinstance(entry, dict):
            raise BadRequestData(
                "An @context must be a URL, an object of term definitions, or a list of those."
            )
        entry_terms, entry_vocab = _parse_object(entry)
        terms.update(entry_terms)
        if entry_vocab is not None:
            vocab = entry_vocab
    return LdContext(terms=terms, vocab=vocab, given=given)


def _parse_object(entry: dict[str, Any]) -> tuple[dict[str, str], str | None]:
    raw: dict[str, str] = {}
    vocab: str | None = None
    for term, definition in entry.items():
        if term == "@vocab":
            if not isinstance(definition, str):
                raise BadRequestData("@vocab in an @context must be an IRI string.")
            vocab = definition
            continue
        if term.startswith("@"):
            continue
        if isinstance(definition, dict):
            definition = definition.get("@id")
        if definition is None:
            continue
        if not isinstance(definition, str):
            raise BadRequestData(f"The @context definition of {term!r} must be an IRI string.")
        raw[term] = definition
    # Resolve compact IRIs ("fiware:Building") against prefixes defined in the same object.
    terms: dict[str, str] = {}
    for term, iri in raw.items():
        if iri.startswith("@") or term in core_terms():
            continue
        prefix, sep, rest = iri.partition(":")
        if sep and prefix in raw and not rest.startswith("//"):
            iri = raw[prefix] + rest
        elif sep and prefix == "ngsi-ld":
            iri = NGSI_LD_PREFIX + rest
        terms[term] = iri
    return terms, vocab


def parse_link_header(header: str | None) -> str | None:
    """The @context URL named by a Link header with rel=json-ld#context, if any."""
    if not header:
        return None
    for link in _split_links(header):
        match = re.match(r"\s*<([^>]*)>(.*)$", link, re.S)
        if match is None:
            raise BadRequestData(f"The Link header {link.strip()!r} is not <url>; rel=...")
        url, params = match.group(1), match.group(2)
        rel = re.search(r';\s*rel\s*=\s*"?([^";]+)"?', params)
        if rel is not None and CONTEXT_REL in rel.group(1).split():
            return url.strip()
    return None


def _split_links(header: str) -> list[str]:
    parts: list[str] = []
    depth_angle = False
    in_quotes = False
    current: list[str] = []
    for char in header:
        if char == "<" and not in_quotes:
            depth_angle = True
        elif char == ">" and not in_quotes:
            depth_angle = False
        elif char == '"' and not depth_angle:
            in_quotes = not in_quotes
        if char == "," and not depth_angle and not in_quotes:
            parts.append("".join(current))
            current.clear()
            continue
        current.append(char)
    if "".join(current).strip():
        parts.append("".join(current))
    return parts


def link_header(url: str) -> str:
    return f'<{url}>; rel="{CONTEXT_REL}"; type="{JSONLD}"'
