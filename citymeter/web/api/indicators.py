"""JSON API: indicator definitions, computed values, rankings, exports, coverage, checks, and
the pledge board. Public, except internal indicators and pledges."""

from __future__ import annotations

import dataclasses
import datetime as dt

from fastapi import APIRouter, Query
from fastapi.responses import Response

from citymeter.accounts.permissions import READ_INTERNAL
from citymeter.indicators import catalog, checks, export, pledges, service
from citymeter.indicators.loader import all_shipped, load_pack
from citymeter.indicators.schemas import (
    CheckPublic,
    CoverageGroupPublic,
    CoveragePublic,
    FindingPublic,
    IndicatorDetail,
    IndicatorSummary,
    IndicatorValuePublic,
    PledgeBoard,
    PledgePublic,
    RankedAreaPublic,
    RankingPublic,
)
from citymeter.web.deps import PublicViewer, SessionDep, SettingsDep

router = APIRouter(prefix="/api/v1", tags=["indicators"])


@router.get("/indicators")
def list_indicators(
    viewer: PublicViewer,
    pack: str | None = None,
    theme: str | None = None,
    sdg: str | None = Query(None, description="SDG goal, target or indicator, e.g. 11.6.2"),
) -> list[IndicatorSummary]:
    """Indicator definitions of the shipped packs, filtered by pack, theme or SDG."""
    rows = {(r.pack, r.code) for r in catalog.list_indicators(pack=pack, theme=theme, sdg=sdg)}
    packs = [load_pack(pack)] if pack else all_shipped()
    return [
        IndicatorSummary.of(p.pack.id, d)
        for p in packs
        for d in p.indicators
        if (p.pack.id, d.code) in rows and (d.visibility == "public" or viewer.can(READ_INTERNAL))
    ]


@router.get("/indicators/coverage")
def indicator_coverage(
    session: SessionDep,
    viewer: PublicViewer,
    pack: str = "administration",
    city: str | None = None,
) -> CoveragePublic:
    """How many of a pack's indicators the city reports, by theme and by tier."""
    result = service.coverage(session, viewer, pack=pack, city=city)

    def groups(items: list[service.CoverageGroup]) -> list[CoverageGroupPublic]:
        return [
            CoverageGroupPublic(
                key=g.key,
                name=g.name,
                defined=g.defined,
                reported=g.reported,
                share=g.share,
                missing=g.codes_missing,
            )
            for g in items
        ]

    return CoveragePublic(
        pack=result.pack, city=result.city, defined=result.defined, reported=result.reported,
        by_theme=groups(result.by_theme), by_tier=groups(result.by_tier),
    )  # fmt: skip


@router.get("/indicators/checks")
def indicator_checks(
    session: SessionDep, viewer: PublicViewer, city: str, pack: str = "administration"
) -> list[CheckPublic]:
    """The pack's validation rules run on the city's data, with every finding."""
    return [
        CheckPublic(
            code=r.code,
            kind=r.kind,
            description=r.description,
            source=r.source,
            cells_checked=r.cells_checked,
            passed=r.passed,
            findings=[
                FindingPublic(
                    area_code=f.area_code,
                    grain=f.grain,
                    period_start=f.period_start,
                    detail=f.detail,
                )
                for f in r.findings
            ],
        )
        for r in checks.run_checks(session, city=city, pack=pack)
    ]


@router.get("/indicators/{code}")
def get_indicator(viewer: PublicViewer, code: str, pack: str | None = None) -> IndicatorDetail:
    """One definition: formula, derived unit, inputs, breakdowns, SDG links."""
    loaded, definition = service.definition_for(code, pack, viewer)
    return IndicatorDetail.of(loaded, definition)


@router.get("/indicators/{code}/values", response_model=None)
def indicator_values(
    session: SessionDep,
    viewer: PublicViewer,
    settings: SettingsDep,
    code: str,
    pack: str | None = None,
    city: str | None = None,
    area: str | None = Query(None, description="Area code."),
    level: str | None = None,
    period_from: dt.date | None = Query(None, alias="from"),
    period_to: dt.date | None = Query(None, alias="to"),
    grain: str | None = None,
    sex: str | None = None,
    age_band: str | None = None,
    limit: int = Query(1000, ge=1, le=service.MAX_ROWS),
    format: str | None = Query(None, description="csv, xlsx, json or sdg-csv: a download"),
) -> list[IndicatorValuePublic] | Response:
    """Computed values by area, period and breakdown; small or personal cells are suppressed
    for the public with the reason. `format` returns a file instead."""
    rows = service.query_values(
        session, viewer, code, pack=pack, city=city, area=area, level=level,
        period_from=period_from, period_to=period_to, grain=grain, sex=sex, age_band=age_band,
        limit=limit, min_count=settings.public_min_count,
    )  # fmt: skip
    if format is not None:
        _, definition = service.definition_for(code, pack, viewer)
        data, media = export.render(rows, format, definition)
        suffix = "csv" if format == "sdg-csv" else format
        name = f"{code}{'-sdg' if format == 'sdg-csv' else ''}.{suffix}"
        return Response(
            data,
            media_type=media,
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    return [IndicatorValuePublic(**dataclasses.asdict(r)) for r in rows]


@router.get("/indicators/{code}/ranking")
def indicator_ranking(
    session: SessionDep,
    viewer: PublicViewer,
    settings: SettingsDep,
    code: str,
    pack: str | None = None,
    city: str | None = None,
    period: dt.date | None = Query(None, description="Period start (default: the latest)."),
    grain: str | None = None,
    sex: str = "total",
) -> RankingPublic:
    """Districts ranked best first for one period; districts without a value listed as missing."""
    result = service.ranking(
        session, viewer, code, pack=pack, city=city, period=period, grain=grain, sex=sex,
        min_count=settings.public_min_count,
    )  # fmt: skip
    data = dataclasses.asdict(result)
    data["ranked"] = [RankedAreaPublic(**r) for r in data["ranked"]]
    data["missing"] = [RankedAreaPublic(**r) for r in data["missing"]]
    return RankingPublic(**data)


def _pledge(view: pledges.PledgeView) -> PledgePublic:
    return PledgePublic.model_validate(dataclasses.asdict(view))


@router.get("/pledges")
def list_pledges(session: SessionDep, viewer: PublicViewer, city: str) -> PledgeBoard:
    """The mayor's pledge board: progress and on track / at risk / off track status."""
    views = pledges.board(session, viewer, city)
    return PledgeBoard(
        city=city, summary=pledges.board_summary(views), pledges=[_pledge(v) for v in views]
    )


@router.get("/pledges/{number}")
def get_pledge(session: SessionDep, viewer: PublicViewer, city: str, number: str) -> PledgePublic:
    """One pledge with its milestones and status history."""
    return _pledge(pledges.view(session, pledges.get_pledge(session, viewer, city, number)))
