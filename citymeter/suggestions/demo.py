"""Citizen voice for the demo city: about 200 suggestions over ten weeks with votes and official
responses (this week, illegal parking in one district rises among the usual mix), news and social
posts for topic trends (with a topic rising this week), and a dozen directives in every state.
Seeded, so the same seed gives the same opinion."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from citymeter.accounts.permissions import Viewer
from citymeter.complaints.models import ServiceRequest
from citymeter.directives import service as directives
from citymeter.incidents.models import Incident
from citymeter.places.models import Area, City
from citymeter.suggestions import service as suggestions
from citymeter.suggestions.models import SuggestionVote
from citymeter.trends.models import TextPost
from citymeter.trends.tokens import language_of

WEEKS = 10
SUGGESTIONS = 200
THIS_WEEK = 22  # the newest suggestions, filed in the last seven days
PARKING_SHARE = 0.4  # of this week's: illegal parking in one district, the rising topic

# category: (title, body) pairs; "{place}" becomes the neighbourhood's name.
TOPICS: dict[str, tuple[tuple[str, str], ...]] = {
    "transport": (
        ("버스 배차 간격 단축", "{place} 출퇴근 시간 버스 배차 간격이 너무 깁니다. 증편해주세요."),
        ("자전거 도로 정비", "{place} 자전거 도로가 끊겨 있어 위험합니다. 이어서 정비해주세요."),
        ("불법 주차 단속 강화", "{place} 골목 불법 주차 때문에 소방차 진입이 어렵습니다."),
        ("마을버스 노선 신설", "{place}에서 지하철역까지 가는 마을버스 노선이 필요합니다."),
    ),
    "environment": (
        ("공원 녹지 확대", "{place}에 쉴 수 있는 공원과 나무 그늘이 부족합니다."),
        ("분리수거 시설 개선", "{place} 분리수거장이 좁고 악취가 심합니다. 개선해주세요."),
        ("미세먼지 알림 강화", "미세먼지 나쁨일 때 {place} 주민에게 문자 알림을 보내주세요."),
    ),
    "safety": (
        ("어린이 보호구역 CCTV 설치", "{place} 초등학교 앞 어린이 보호구역에 CCTV가 필요합니다."),
        ("가로등 추가 설치", "{place} 밤길이 어둡습니다. 가로등을 더 설치해주세요."),
        ("횡단보도 신호 시간 연장", "{place} 횡단보도 신호가 짧아 어르신이 건너기 어렵습니다."),
    ),
    "welfare": (
        ("무더위 쉼터 운영 시간 연장", "{place} 무더위 쉼터를 저녁까지 열어주세요."),
        ("경로당 프로그램 확대", "{place} 경로당에 건강 체조 프로그램을 늘려주세요."),
        ("국공립 어린이집 확충", "{place}에 국공립 어린이집 대기가 너무 깁니다."),
    ),
    "culture": (
        ("도서관 운영 시간 연장", "{place} 구립 도서관을 주말 저녁까지 열어주세요."),
        ("주민 문화 축제 개최", "{place} 주민이 함께하는 작은 축제를 열어주세요."),
    ),
    "housing": (("공공임대 주택 공급", "{place} 청년 공공임대 주택을 더 공급해주세요."),),
    "economy": (("전통시장 주차장 확보", "{place} 전통시장 방문객 주차장이 부족합니다."),),
    "administration": (
        ("민원 온라인 처리 확대", "동 주민센터 민원을 온라인으로 처리하게 해주세요."),
    ),
}
DEPARTMENTS = {
    "transport": "교통정책과",
    "environment": "기후환경과",
    "safety": "안전총괄과",
    "welfare": "복지정책과",
    "culture": "문화체육과",
    "housing": "주택정책과",
    "economy": "지역경제과",
    "administration": "행정지원과",
}
# This week's parking suggestions, in the words different residents use.
PARKING = (
    ("불법 주차 단속 강화", "{place} 골목 불법 주차 때문에 소방차 진입이 어렵습니다."),
    ("골목 불법 주차 단속 요청", "{place} 골목에 밤마다 불법 주차 차량이 줄지어 있습니다."),
    ("소방차 진입로 불법 주차 대책", "{place} 소방차 진입로가 불법 주차로 막혀 있어 불안합니다."),
    ("어린이 통학로 불법 주차 단속", "{place} 통학로 불법 주차 때문에 아이들이 차도로 걷습니다."),
)
ANSWERS = {
    "adopted": "제안을 채택하여 다음 분기 사업에 반영하겠습니다. 소중한 의견 감사합니다.",
    "answered": "관련 부서에서 현장을 확인하였으며, 예산 여건을 고려해 단계적으로 검토하겠습니다.",
    "declined": "검토 결과 현재 관련 법령과 예산 사정상 추진이 어렵습니다. 양해 부탁드립니다.",
}
# Feed posts: a steady background, and one topic that surges in the last seven days.
STEADY_POSTS = (
    "지하철 연장 공사 소식, 주민 설명회 열려",
    "전통시장 주말 장터 인기",
    "도서관 북콘서트 성황",
    "City marathon registration opens next month",
    "미세먼지 보통 수준, 야외 활동 무난",
)
RISING_POSTS = (
    "폭우로 지하차도 침수, 통행 통제",
    "집중 호우에 저지대 주택 침수 피해 잇따라",
    "Heavy rain floods underpass; roads closed",
    "폭우 침수 피해 신고 급증, 배수 시설 점검 요구",
)
DIRECTIVE_TEXTS = (
    (
        "침수 취약지역 긴급 점검",
        "폭우 대비 저지대 배수 시설을 점검하고 결과를 보고하세요.",
        "물순환안전과",
    ),
    ("불법 주차 집중 단속", "민원이 집중된 골목의 불법 주차 단속 계획을 수립하세요.", "교통정책과"),
    ("고용률 개선 대책", "청년 고용률 하락 원인을 분석하고 대책을 보고하세요.", "일자리정책과"),
    ("화재 현장 피해 지원", "피해 주민 임시 거처와 지원 현황을 보고하세요.", "소방재난본부"),
    (
        "어린이 보호구역 안전 강화",
        "보호구역 CCTV 설치 제안에 대한 추진 계획을 보고하세요.",
        "안전총괄과",
    ),
    ("무더위 쉼터 운영 점검", "쉼터 운영 시간과 이용 현황을 점검하세요.", "복지정책과"),
    ("분리수거장 악취 개선", "민원이 반복되는 분리수거장 개선안을 마련하세요.", "기후환경과"),
    ("버스 배차 간격 조정", "출퇴근 시간 배차 간격 단축 방안을 검토하세요.", "교통정책과"),
    ("포트홀 보수 현황 보고", "도로 파손 민원 처리 현황과 지연 사유를 보고하세요.", "도로관리과"),
    ("도서관 운영 시간 검토", "주말 연장 운영에 필요한 인력과 예산을 검토하세요.", "문화체육과"),
    ("민원 처리 기한 준수", "처리 기한을 넘긴 민원의 원인과 개선안을 보고하세요.", "행정지원과"),
)


@dataclass(frozen=True)
class _Place:
    district: Area
    neighbourhood: Area


def _places(session: Session, city: City) -> list[_Place]:
    districts = {
        a.id: a
        for a in session.scalars(
            select(Area).where(Area.city_id == city.id, Area.level == "district")
        )
    }
    found = [
        _Place(districts[a.parent_id], a)
        for a in session.scalars(
            select(Area)
            .where(Area.city_id == city.id, Area.level == "neighbourhood")
            .order_by(Area.code)
        )
        if a.parent_id in districts
    ]
    if not found:  # a city without neighbourhoods: place at district level
        found = [_Place(d, d) for d in sorted(districts.values(), key=lambda a: a.code)]
    return found


def seed_demo_opinion(
    session: Session, actor: Viewer, city: City, *, seed: int = 2026, now: dt.datetime | None = None
) -> dict[str, int]:
    """Store the demo city's suggestions, feed posts and directives; returns their counts
    (keys "opinion_suggestions", "opinion_votes", ...)."""
    rng = random.Random(seed)
    now = now or dt.datetime.now(dt.UTC)
    places = _places(session, city)
    if not places:
        return {}
    # Districts differ: how active their residents are, and what they care about.
    districts = sorted({p.district.id: p.district for p in places}.values(), key=lambda a: a.code)
    activity = {d.id: rng.uniform(0.3, 2.0) for d in districts}
    focus = {d.id: rng.choice(list(TOPICS)) for d in districts}
    weights = [activity[p.district.id] for p in places]
    # Responses come from a department, as they would in the city.
    staff = Viewer(user_id=None, username="official", role="official", city_id=city.id)
    counts = {"suggestions": 0, "votes": 0, "responses": 0, "posts": 0, "directives": 0}
    parking_district = districts[0]
    parking_places = [p for p in places if p.district.id == parking_district.id]
    # This week, one district's residents write about illegal parking: a share of this week's
    # suggestions; the others are the city's usual mix.
    this_week = range(SUGGESTIONS - THIS_WEEK, SUGGESTIONS)
    parking = set(rng.sample(list(this_week), round(THIS_WEEK * PARKING_SHARE)))

    for i in range(SUGGESTIONS):
        place = rng.choices(places, weights)[0]
        category = focus[place.district.id] if rng.random() < 0.35 else rng.choice(list(TOPICS))
        if i in parking:
            place = rng.choice(parking_places)
            category = "transport"
            title, body = rng.choice(PARKING)
        else:
            title, body = rng.choice(TOPICS[category])
        if i in this_week:
            age = dt.timedelta(hours=rng.uniform(0.5, 7 * 24 - 1))
        else:
            age = dt.timedelta(hours=rng.uniform(7 * 24, WEEKS * 7 * 24))
        filed = now - age
        created = suggestions.submit(
            session,
            actor,
            city,
            suggestions.NewSuggestion(
                title=title,
                body=body.format(place=place.neighbourhood.name),
                category=category,
                area_code=place.neighbourhood.code,
                author_name=f"주민{rng.randint(1000, 9999)}",
                created_at=filed,
            ),
            channel="demo",
        )
        votes = int(rng.paretovariate(1.3)) - 1 + (3 if category == focus[place.district.id] else 0)
        votes = min(votes, 120)
        for v in range(votes):
            session.add(SuggestionVote(suggestion_id=created.id, voter=f"client:demo-{i}-{v}"))
        created.vote_count = votes
        counts["suggestions"] += 1
        counts["votes"] += votes
        weeks_old = age.days / 7
        if rng.random() < min(0.85, weeks_old / 5):
            outcome = rng.choices(["answered", "adopted", "declined"], [5, 3, 2])[0]
            suggestions.respond(
                session,
                staff,
                created,
                text=ANSWERS[outcome],
                outcome=outcome,
                responder=DEPARTMENTS[category],
                at=filed + dt.timedelta(days=rng.uniform(3, 20)),
            )
            counts["responses"] += 1
        elif weeks_old > 1 and rng.random() < 0.4:
            created.status = "under_review"
    session.flush()

    for day in range(WEEKS * 7):
        published = now - dt.timedelta(days=day, hours=rng.uniform(0, 20))
        items = [rng.choice(STEADY_POSTS) for _ in range(rng.randint(2, 4))]
        if day < 7:
            items += [rng.choice(RISING_POSTS) for _ in range(rng.randint(3, 6))]
        elif rng.random() < 0.1:
            items.append(rng.choice(RISING_POSTS))
        for n, text in enumerate(items):
            district = rng.choice(districts)
            session.add(
                TextPost(
                    city_id=city.id,
                    source=rng.choice(["hanbit-news", "sns-monitor"]),
                    external_id=f"demo-{day}-{n}",
                    language=language_of(text),
                    published_at=published,
                    text=text,
                    district_id=district.id if rng.random() < 0.6 else None,
                )
            )
            counts["posts"] += 1
    session.flush()
    counts["directives"] = _seed_directives(session, city, districts, rng, now)
    return {f"opinion_{key}": value for key, value in counts.items()}


def _seed_directives(
    session: Session, city: City, districts: list[Area], rng: random.Random, now: dt.datetime
) -> int:
    mayor = Viewer(user_id=None, username="mayor", role="mayor", city_id=city.id)
    head = Viewer(
        user_id=None,
        username="district.head",
        role="district_head",
        district_id=districts[0].id,
        city_id=city.id,
    )
    department = Viewer(user_id=None, username="official", role="official", city_id=city.id)
    incident = session.scalar(
        select(Incident.number)
        .where(Incident.district_id.in_([d.id for d in districts]))
        .order_by(Incident.severity.desc(), Incident.id)
        .limit(1)
    )
    complaint_ids = list(
        session.scalars(
            select(ServiceRequest.service_request_id)
            .where(ServiceRequest.city_id == city.id, ServiceRequest.status == "open")
            .order_by(ServiceRequest.requested_at.desc())
            .limit(5)
        )
    )
    today = now.date()
    made = 0
    for i, (title, instruction, unit) in enumerate(DIRECTIVE_TEXTS):
        issuer = head if i % 4 == 1 else mayor
        subject: dict[str, Any] = {}
        district: Area | None = districts[0] if issuer is head else None
        if title.startswith("고용률"):
            subject = {"indicator": "employment_rate"}
        elif title.startswith("화재") and incident is not None and issuer is mayor:
            subject = {"incident": incident}
        elif title.startswith("포트홀") and complaint_ids and issuer is mayor:
            subject = {"complaints": tuple(complaint_ids)}
        elif issuer is mayor and rng.random() < 0.7:
            district = rng.choice(districts)
        directive = directives.issue(
            session,
            issuer,
            city,
            directives.NewDirective(
                department=unit,
                title=title,
                instruction=instruction,
                # Replaced below by the due date of its history; the service wants a future one.
                due_on=max(today, dt.date.today()) + dt.timedelta(days=14),
                district_code=district.code if district is not None else None,
                **subject,
            ),
        )
        # Give the directive a history: issued some days ago, due one to three weeks later,
        # acknowledged and answered on the way (the last ones not yet: some are overdue).
        issued = now - dt.timedelta(days=rng.randint(2, 30), hours=rng.uniform(0, 8))
        directive.issued_at = issued
        directive.due_on = (issued + dt.timedelta(days=rng.choice([7, 14, 21]))).date()
        stage = i % 5  # 0 issued, 1 acknowledged, 2-3 answered, 4 closed
        steps = sorted(issued + (now - issued) * rng.random() for _ in range(3))
        if stage >= 1:
            directives.acknowledge(session, department, directive)
            directive.acknowledged_at = steps[0]
        if stage >= 2:
            directives.answer(
                session, department, directive, "현장 점검을 마쳤으며 조치 계획을 첨부합니다."
            )
            directive.answered_at = steps[1]
        if stage == 4:
            directives.close(session, issuer, directive, "보고 내용을 확인했습니다.")
            directive.closed_at = steps[2]
        made += 1
    session.flush()
    return made
