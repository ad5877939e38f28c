"""The dashboard's words in Korean and English, and the view helpers its templates call."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from citymeter.web import i18n

TEXT: dict[str, dict[str, str]] = {
    "ko": {
        "title": "시장 대시보드",
        "district_title": "{district} 대시보드",
        "skip": "본문으로 건너뛰기",
        "status_area": "실시간 도시 현황",
        "voice_area": "시민의 목소리",
        "admin_area": "시정 현황",
        "map": "도시 지도",
        "map_label": "{city} 지도: 자치구별 초미세먼지(PM2.5) 농도와 진행 중인 사건. 같은 내용이 "
        "아래 표에 있습니다.",
        "district_map_label": "{district} 지도: 행정동 경계와 진행 중인 사건",
        "map_loading": "지도를 불러오는 중…",
        "map_error": "지도를 그릴 수 없습니다 (차트 라이브러리를 불러오지 못했습니다). "
        "아래 표에 같은 내용이 있습니다.",
        "map_layer": "지도 색:",
        "pm25": "초미세먼지 PM2.5",
        "pm10": "미세먼지 PM10",
        "ugm3": "µg/m³",
        "legend": "범례",
        "air": "대기질",
        "air_empty": "최근 3시간 안에 들어온 대기질 측정값이 없습니다.",
        "worst_air": "대기질이 가장 나쁜 곳",
        "band_good": "좋음",
        "band_moderate": "보통",
        "band_bad": "나쁨",
        "band_very_bad": "매우 나쁨",
        "band_none": "자료 없음",
        "incidents": "진행 중인 사건",
        "incidents_empty": "지난 24시간 동안 진행 중인 사건이 없습니다.",
        "incidents_today": "24시간 동안 {count}건 · 심각 {severe}건",
        "severity": "심각도",
        "reported": "접수",
        "place": "위치",
        "cctv_near": "선택한 사건 주변 CCTV",
        "cctv_pick": "지도나 목록에서 사건을 고르면 주변 CCTV가 표시됩니다.",
        "cctv_none": "반경 {radius}m 안에 CCTV가 없습니다.",
        "cctv_loading": "주변 CCTV를 찾는 중…",
        "cctv_error": "주변 CCTV를 불러오지 못했습니다.",
        "show_cctv": "주변 CCTV 보기",
        "mobility": "교통과 주차",
        "mobility_empty": "최근 교통·주차 측정값이 없습니다.",
        "speed": "평균 통행속도",
        "kmh": "km/h",
        "congested": "정체 구간",
        "segments_of": "{n}개 구간 중",
        "parking": "공영주차장 점유율",
        "spaces": "{occupied} / {capacity}면",
        "alerts": "경보",
        "alerts_none": "지금 울린 경보가 없습니다.",
        "alert_incident.severity": "심각도 {value} 사건 {subject}",
        "alert_pm25": "{subject} 초미세먼지 {value} µg/m³",
        "alert_source.stale": "자료원 {subject} 수신 끊김",
        "alert_source.failing": "자료원 {subject} 오류",
        "sources": "자료원 상태",
        "sources_empty": "연결된 자료원이 없습니다.",
        "state_fresh": "정상",
        "state_late": "지연",
        "state_stale": "끊김",
        "state_failing": "오류",
        "state_unknown": "미수신",
        "last_data": "마지막 수신",
        "complaints": "민원",
        "complaints_empty": "아직 접수된 민원이 없습니다.",
        "received_today": "오늘 접수",
        "closed_today": "오늘 처리",
        "backlog": "미처리",
        "late_share": "기한 초과 비율",
        "late_share_by_district": "자치구별 처리기한 초과 비율 (최근 30일)",
        "late_share_note": "기한이 지났는데 열려 있거나 기한을 넘겨 처리된 민원의 비율",
        "newest_complaints": "최근 민원",
        "late": "기한 초과",
        "open": "접수",
        "closed": "처리 완료",
        "description_hidden": "민원 내용과 민원인 정보는 개인정보 보호를 위해 담당자에게만 "
        "보입니다.",
        "suggestions": "최근 시민 제안",
        "suggestions_empty": "아직 시민 제안이 없습니다.",
        "suggestions_off": "시민 제안 기능이 설치되어 있지 않습니다.",
        "votes": "공감 {n}",
        "topics": "이번 주 떠오르는 주제",
        "topics_empty": "이번 주에 눈에 띄게 늘어난 주제가 없습니다.",
        "topic_count": "{n}건 · 평소의 {ratio}배",
        "cards": "주요 지표",
        "cards_empty": "아직 계산된 지표가 없습니다. `citymeter indicators compute`로 계산하세요.",
        "target": "목표",
        "by": "{date}까지",
        "change": "직전 대비",
        "trend_good": "개선",
        "trend_bad": "악화",
        "trend_flat": "변화 없음",
        "suppressed": "비공개",
        "why_small": "표본이 너무 작아 개인이 드러날 수 있어 공개하지 않습니다.",
        "why_personal": "내부·개인 자료로 계산된 값이라 공개하지 않습니다.",
        "why_other": "공개하지 않는 값입니다.",
        "no_value": "자료 없음",
        "pledges": "공약 이행",
        "pledge_n": "{number}번 공약",
        "pledges_empty": "등록된 공약이 없습니다.",
        "status_on_track": "순항",
        "status_at_risk": "주의",
        "status_off_track": "지연",
        "status_achieved": "달성",
        "status_no_data": "자료 없음",
        "progress": "진척 {progress}% (예상 {expected}%)",
        "rank": "자치구 순위",
        "rank_of": "{of}개 구 중 {rank}위",
        "rank_none": "순위 없음",
        "rank_note": "1위가 가장 좋음 (미세먼지·기한 초과는 낮을수록 좋음)",
        "districts": "자치구",
        "district": "자치구",
        "table_caption": "자치구별 대기질, 교통, 민원",
        "open_district": "{district} 대시보드 열기",
        "neighbourhoods": "행정동 {n}개",
        "population": "인구 {n}명",
        "level_internal": "내부 자료를 포함해 표시합니다.",
        "level_public": "공개 자료만 표시합니다. 내부 지표, 민원 내용, 사건 주소 같은 내부 자료는 "
        "권한 있는 담당자에게만 보입니다.",
        "level_other_district": "다른 자치구는 공개 수준으로 표시합니다. 내부 자료는 해당 "
        "구청장과 시장만 볼 수 있습니다.",
        "own_district": "내부 자료를 포함한 우리 구 현황:",
        "updated": "갱신 {time}",
        "live_on": "실시간 연결됨",
        "live_off": "실시간 연결 끊김 — 다시 연결하는 중",
        "live_wait": "실시간 연결 중…",
        "refresh_error": "갱신하지 못했습니다. 잠시 뒤 다시 시도합니다.",
        "print": "인쇄",
        "print_view": "인쇄용 보기",
        "back_to_city": "도시 전체 보기",
        "login": "로그인",
        "logout": "로그아웃",
        "other_language": "English",
        "switch_language": "영어로 보기",
        "empty_title": "아직 도시가 없습니다",
        "empty_demo": "예시 도시로 바로 살펴보려면 다음 명령을 실행하세요:",
        "empty_import": "실제 도시를 쓰려면 도시를 등록하고 경계와 통계를 가져오세요:",
        "unit_%": "%",
        "unit_jobs": "개",
        "unit_dwellings": "호",
        "unit_installations": "개",
        "unit_s": "초",
        "unit_h": "시간",
        "unit_µg/m³": "µg/m³",
        "cat_fire": "화재",
        "cat_rescue": "구조",
        "cat_medical": "구급",
        "cat_crime": "범죄",
        "cat_traffic_accident": "교통사고",
        "cat_flood": "침수",
        "cat_gas": "가스",
        "cat_other": "기타",
        "st_reported": "접수",
        "st_dispatched": "출동 지령",
        "st_en_route": "출동 중",
        "st_on_scene": "현장 도착",
        "st_cleared": "상황 종료",
        "st_resolved": "해결",
        "unassigned": "구 미지정",
    },
    "en": {
        "title": "Mayor's dashboard",
        "district_title": "{district} dashboard",
        "skip": "Skip to the content",
        "status_area": "Real-time city status",
        "voice_area": "Citizens' voice",
        "admin_area": "Administration",
        "map": "City map",
        "map_label": "Map of {city}: fine dust (PM2.5) by district and open incidents. The table "
        "below holds the same figures.",
        "district_map_label": "Map of {district}: neighbourhood boundaries and open incidents",
        "map_loading": "Loading the map…",
        "map_error": "The map cannot be drawn (the chart library did not load). The table below "
        "holds the same figures.",
        "map_layer": "Map colour:",
        "pm25": "Fine dust PM2.5",
        "pm10": "Dust PM10",
        "ugm3": "µg/m³",
        "legend": "Legend",
        "air": "Air quality",
        "air_empty": "No air-quality reading arrived in the last three hours.",
        "worst_air": "Worst air now",
        "band_good": "good",
        "band_moderate": "moderate",
        "band_bad": "bad",
        "band_very_bad": "very bad",
        "band_none": "no data",
        "incidents": "Open incidents",
        "incidents_empty": "No incident is open from the last 24 hours.",
        "incidents_today": "{count} in 24 hours · {severe} severe",
        "severity": "Severity",
        "reported": "Reported",
        "place": "Where",
        "cctv_near": "CCTV near the selected incident",
        "cctv_pick": "Pick an incident on the map or in the list to see the CCTV sites near it.",
        "cctv_none": "No CCTV site within {radius} m.",
        "cctv_loading": "Looking for CCTV nearby…",
        "cctv_error": "The CCTV sites nearby could not be loaded.",
        "show_cctv": "Show CCTV nearby",
        "mobility": "Traffic and parking",
        "mobility_empty": "No recent traffic or parking reading.",
        "speed": "Average road speed",
        "kmh": "km/h",
        "congested": "Congested segments",
        "segments_of": "of {n} segments",
        "parking": "Public car parks occupied",
        "spaces": "{occupied} / {capacity} spaces",
        "alerts": "Alerts",
        "alerts_none": "No alert is active.",
        "alert_incident.severity": "Severity {value} incident {subject}",
        "alert_pm25": "PM2.5 {value} µg/m³ in {subject}",
        "alert_source.stale": "Source {subject} went silent",
        "alert_source.failing": "Source {subject} is failing",
        "sources": "Data sources",
        "sources_empty": "No source is connected.",
        "state_fresh": "fresh",
        "state_late": "late",
        "state_stale": "silent",
        "state_failing": "failing",
        "state_unknown": "nothing yet",
        "last_data": "Last data",
        "complaints": "Complaints",
        "complaints_empty": "No complaint has been received yet.",
        "received_today": "Received today",
        "closed_today": "Closed today",
        "backlog": "Backlog",
        "late_share": "Past deadline",
        "late_share_by_district": "Complaints past their deadline by district (30 days)",
        "late_share_note": "Share of complaints still open after their deadline or closed after it",
        "newest_complaints": "Newest complaints",
        "late": "late",
        "open": "open",
        "closed": "closed",
        "description_hidden": "What a complaint says and who made it are shown to the staff "
        "in charge only, to protect personal data.",
        "suggestions": "Newest suggestions",
        "suggestions_empty": "No citizen suggestion yet.",
        "suggestions_off": "The suggestions feature is not installed.",
        "votes": "{n} votes",
        "topics": "Rising topics this week",
        "topics_empty": "No topic rose noticeably this week.",
        "topic_count": "{n} texts · {ratio}× the usual",
        "cards": "Headline indicators",
        "cards_empty": "No indicator has been computed yet; run `citymeter indicators compute`.",
        "target": "Target",
        "by": "by {date}",
        "change": "vs previous",
        "trend_good": "better",
        "trend_bad": "worse",
        "trend_flat": "no change",
        "suppressed": "withheld",
        "why_small": "Withheld: too few people behind it, someone could be recognised.",
        "why_personal": "Withheld: computed from internal or personal data.",
        "why_other": "Withheld from the public view.",
        "no_value": "no data",
        "pledges": "Pledges",
        "pledge_n": "Pledge {number}",
        "pledges_empty": "No pledge has been recorded.",
        "status_on_track": "on track",
        "status_at_risk": "at risk",
        "status_off_track": "off track",
        "status_achieved": "achieved",
        "status_no_data": "no data",
        "progress": "{progress}% done ({expected}% expected)",
        "rank": "Rank among districts",
        "rank_of": "{rank} of {of}",
        "rank_none": "not ranked",
        "rank_note": "1 is best (for dust and late complaints, lower is better)",
        "districts": "Districts",
        "district": "District",
        "table_caption": "Air, traffic and complaints by district",
        "open_district": "Open the {district} dashboard",
        "neighbourhoods": "{n} neighbourhoods",
        "population": "population {n}",
        "level_internal": "Internal data included.",
        "level_public": "Public data only. Internal indicators, what complaints say and incident "
        "addresses are shown to authorised staff only.",
        "level_other_district": "Other districts are shown at public level; their internal data "
        "is for their district head and the mayor.",
        "own_district": "Your district, with its internal data:",
        "updated": "Updated {time}",
        "live_on": "Live",
        "live_off": "Live connection lost — reconnecting",
        "live_wait": "Connecting live…",
        "refresh_error": "Could not refresh; trying again shortly.",
        "print": "Print",
        "print_view": "Print view",
        "back_to_city": "Whole city",
        "login": "Log in",
        "logout": "Log out",
        "other_language": "한국어",
        "switch_language": "Show in Korean",
        "empty_title": "There is no city yet",
        "empty_demo": "To look around with a synthetic demo city, run:",
        "empty_import": "To use a real city, add it and import its boundaries and statistics:",
        "unit_%": "%",
        "unit_jobs": "jobs",
        "unit_dwellings": "homes",
        "unit_installations": "",
        "unit_s": "s",
        "unit_h": "h",
        "unit_µg/m³": "µg/m³",
        "cat_fire": "Fire",
        "cat_rescue": "Rescue",
        "cat_medical": "Medical",
        "cat_crime": "Crime",
        "cat_traffic_accident": "Road accident",
        "cat_flood": "Flood",
        "cat_gas": "Gas",
        "cat_other": "Other",
        "st_reported": "reported",
        "st_dispatched": "dispatched",
        "st_en_route": "en route",
        "st_on_scene": "on scene",
        "st_cleared": "cleared",
        "st_resolved": "resolved",
        "unassigned": "no district",
    },
}


@dataclass(frozen=True)
class View:
    """What the templates call to write numbers, times and names in the page's language."""

    lang: str
    tz: ZoneInfo
    now: dt.datetime
    district_names: dict[str, str]

    @property
    def t(self) -> dict[str, str]:
        return TEXT[self.lang]

    def n(self, value: float | int | None, digits: int = 0) -> str:
        return i18n.number(value, digits, self.t["no_value"])

    def signed(self, value: float | None, digits: int = 1) -> str:
        return i18n.signed(value, digits)

    def time(self, moment: dt.datetime | None) -> str:
        return i18n.time_of_day(moment, self.tz, self.lang)

    def when(self, moment: dt.datetime | None) -> str:
        return i18n.day_and_time(moment, self.tz, self.lang)

    def ago(self, moment: dt.datetime | None) -> str:
        return i18n.ago(moment, self.now, self.lang)

    def period(self, day: dt.date | None, grain: str) -> str:
        return i18n.period(day, grain, self.lang)

    def date(self, day: dt.date | None) -> str:
        return i18n.date(day, self.lang)

    def unit(self, unit: str) -> str:
        return self.t.get("unit_" + unit, unit)

    def unit_after(self, unit: str) -> str:
        """The unit written straight after a number: "62.6%", "2,811 homes", "2,811호"."""
        text = self.unit(unit)
        return f" {text}" if self.lang == "en" and text[:1].isalpha() else text

    def district(self, code: str | None) -> str:
        if code is None:
            return self.t["unassigned"]
        return self.district_names.get(code, code)

    def word(self, prefix: str, key: str) -> str:
        return self.t.get(f"{prefix}_{key}", key)

    def why(self, reason: str | None) -> str:
        if not reason:
            return ""
        if reason.startswith("fewer than"):
            return self.t["why_small"]
        if "personal" in reason or "internal" in reason:
            return self.t["why_personal"]
        return self.t["why_other"]

    def digits(self, unit: str) -> int:
        return 1 if unit in ("%", "µg/m³", "h", "km/h") else 0

    def value(self, value: float | None, unit: str) -> str:
        return self.n(value, self.digits(unit))

    def spark(self, values: list[float | None], width: int = 120, height: int = 32) -> str:
        """An SVG path through the values (gaps where a value is missing)."""
        known = [v for v in values if v is not None]
        if len(known) < 2:
            return ""
        low, high = min(known), max(known)
        span = (high - low) or 1.0
        step = width / (len(values) - 1)
        parts = []
        pen_up = True
        for i, value in enumerate(values):
            if value is None:
                pen_up = True
                continue
            x = i * step
            y = height - 2 - (value - low) / span * (height - 4)
            parts.append(f"{'M' if pen_up else 'L'}{x:.1f} {y:.1f}")
            pen_up = False
        return " ".join(parts)
