"""What each role may do. Routes name one permission or are declared public."""

from __future__ import annotations

from dataclasses import dataclass

# Permissions are "<object>:<verb>" strings; a route asks for exactly one.
READ_INTERNAL = "internal:read"
AREAS_WRITE = "areas:write"
METRICS_WRITE = "metrics:write"
OBSERVATIONS_IMPORT = "observations:import"
SOURCES_WRITE = "sources:write"
USERS_MANAGE = "users:manage"
AUDIT_READ = "audit:read"
DIRECTIVES_ISSUE = "directives:issue"
ASSESSMENTS_SCORE = "assessments:score"
ROUNDS_MANAGE = "rounds:manage"
# Push readings and entity updates (HTTP ingest, NGSI-LD writes) and read the dead letters.
INGEST_WRITE = "ingest:write"
# A city's certification coordinator (its officials and data stewards) applies to rounds;
# reading an application is also open to assessors and the certification body (filtered).
APPLICATIONS_WRITE = "applications:write"
APPLICATIONS_READ = "applications:read"
# File and import civil complaints (Open311 POST requests, historical imports).
COMPLAINTS_WRITE = "complaints:write"
# File a citizen suggestion: a resident's own account (role "public" with a login) or a city
# system with an API key; answer one officially (staff).
SUGGESTIONS_WRITE = "suggestions:write"
SUGGESTIONS_RESPOND = "suggestions:respond"
# A department answers (acknowledges, replies to) a directive addressed to it.
DIRECTIVES_ANSWER = "directives:answer"

_STEWARD = {
    READ_INTERNAL,
    AREAS_WRITE,
    METRICS_WRITE,
    OBSERVATIONS_IMPORT,
    SOURCES_WRITE,
    INGEST_WRITE,
    COMPLAINTS_WRITE,
    SUGGESTIONS_WRITE,
    SUGGESTIONS_RESPOND,
}

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    # Anonymous visitors have no user id, so `require` still refuses them; a logged-in resident
    # account (role "public") may file suggestions.
    "public": frozenset({SUGGESTIONS_WRITE}),
    "mayor": frozenset({READ_INTERNAL, DIRECTIVES_ISSUE, AUDIT_READ, SUGGESTIONS_RESPOND}),
    "district_head": frozenset({READ_INTERNAL, DIRECTIVES_ISSUE}),
    "official": frozenset(
        {
            READ_INTERNAL,
            OBSERVATIONS_IMPORT,
            APPLICATIONS_WRITE,
            APPLICATIONS_READ,
            COMPLAINTS_WRITE,
            SUGGESTIONS_WRITE,
            SUGGESTIONS_RESPOND,
            DIRECTIVES_ANSWER,
        }
    ),
    "data_steward": frozenset(
        _STEWARD | {APPLICATIONS_WRITE, APPLICATIONS_READ, DIRECTIVES_ANSWER}
    ),
    "assessor": frozenset({ASSESSMENTS_SCORE, APPLICATIONS_READ}),
    "certifier_admin": frozenset({ROUNDS_MANAGE, ASSESSMENTS_SCORE, AUDIT_READ, APPLICATIONS_READ}),
    "admin": frozenset(_STEWARD | {USERS_MANAGE, AUDIT_READ}),
}

ALL_PERMISSIONS = frozenset().union(*ROLE_PERMISSIONS.values())


@dataclass(frozen=True)
class Viewer:
    """Who is looking: decides what a service returns. Anonymous visitors are role "public"."""

    user_id: int | None
    username: str
    role: str
    district_id: int | None = None
    city_id: int | None = None

    def can(self, permission: str) -> bool:
        if self.user_id is None and self.role == "public":
            return False  # an anonymous visitor holds nothing; a resident's login may
        return permission in ROLE_PERMISSIONS.get(self.role, frozenset())

    def sees_internal_of(self, district_id: int | None) -> bool:
        """Internal data of a district: the whole city for the mayor and staff, one's own for a
        district head, nothing for the public."""
        if not self.can(READ_INTERNAL):
            return False
        if self.role == "district_head":
            return district_id is not None and district_id == self.district_id
        return True

    @property
    def label(self) -> str:
        return self.username


PUBLIC_VIEWER = Viewer(user_id=None, username="public", role="public")
SYSTEM_VIEWER = Viewer(user_id=None, username="system", role="admin")
