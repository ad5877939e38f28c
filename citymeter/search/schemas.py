"""JSON shapes of command search results."""

from __future__ import annotations

from pydantic import BaseModel

from citymeter.search.interpreter import CommandResult
from citymeter.search.service import Completion


class PartPublic(BaseModel):
    kind: str
    value: str
    text: str
    start: int
    end: int
    label: str
    fuzzy: bool


class SuggestionPublic(BaseModel):
    label: str
    kind: str
    path: str
    params: dict[str, str]
    url: str
    score: float


class CommandResultPublic(BaseModel):
    query: str
    lang: str
    kind: str
    label: str
    path: str | None
    params: dict[str, str]
    url: str | None
    confidence: float
    parts: list[PartPublic]
    unmatched: list[str]
    suggestions: list[SuggestionPublic]

    @classmethod
    def of(cls, result: CommandResult) -> CommandResultPublic:
        return cls(
            query=result.query,
            lang=result.lang,
            kind=result.kind,
            label=result.label,
            path=result.path,
            params=result.params,
            url=result.url,
            confidence=result.confidence,
            parts=[
                PartPublic(
                    kind=p.kind,
                    value=p.value,
                    text=p.text,
                    start=p.start,
                    end=p.end,
                    label=p.label,
                    fuzzy=p.fuzzy,
                )
                for p in result.parts
            ],
            unmatched=result.unmatched,
            suggestions=[
                SuggestionPublic(
                    label=s.label,
                    kind=s.kind,
                    path=s.path,
                    params=s.params,
                    url=s.url,
                    score=s.score,
                )
                for s in result.suggestions
            ],
        )


class CompletionPublic(BaseModel):
    text: str
    label: str
    kind: str
    url: str | None

    @classmethod
    def of(cls, completion: Completion) -> CompletionPublic:
        return cls(
            text=completion.text, label=completion.label, kind=completion.kind, url=completion.url
        )
