"""Who may see and do what in a certification round, beyond the route's one permission.

The certification body (certifier_admin, or the operator's CLI) sees everything; an assessor sees
only the applications assigned to them; a city's coordinator sees only their own city's.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from citymeter.accounts.permissions import (
    APPLICATIONS_WRITE,
    ASSESSMENTS_SCORE,
    ROUNDS_MANAGE,
    Viewer,
)
from citymeter.assessment.models import Application, AssessorAssignment
from citymeter.errors import NotFound, PermissionDenied


def is_certification_body(viewer: Viewer) -> bool:
    """certifier_admin, or the installation itself (CLI and system jobs have no user id)."""
    return viewer.can(ROUNDS_MANAGE) or (viewer.user_id is None and viewer.role == "admin")


def require_body(viewer: Viewer, doing: str) -> None:
    if not is_certification_body(viewer):
        raise PermissionDenied(f"Only the certification body may {doing}.")


def is_assigned(session: Session, viewer: Viewer, application_id: int) -> bool:
    if viewer.user_id is None or not viewer.can(ASSESSMENTS_SCORE):
        return False
    found = session.scalar(
        select(AssessorAssignment.id).where(
            AssessorAssignment.application_id == application_id,
            AssessorAssignment.assessor_id == viewer.user_id,
        )
    )
    return found is not None


def is_applicant(viewer: Viewer, application: Application) -> bool:
    return (
        viewer.can(APPLICATIONS_WRITE)
        and viewer.city_id is not None
        and viewer.city_id == application.city_id
    )


def can_see(session: Session, viewer: Viewer, application: Application) -> bool:
    return (
        is_certification_body(viewer)
        or is_applicant(viewer, application)
        or is_assigned(session, viewer, application.id)
    )


def visible_application(session: Session, viewer: Viewer, application_id: int) -> Application:
    """The application, or NotFound: someone without the right learns nothing, not even that
    it exists."""
    application = session.get(Application, application_id)
    if application is None or not can_see(session, viewer, application):
        raise NotFound(f"No application {application_id} that you may see.")
    return application


def applicant_application(session: Session, viewer: Viewer, application_id: int) -> Application:
    """An application its own city's coordinator (or the certification body) may change."""
    application = visible_application(session, viewer, application_id)
    if not (is_applicant(viewer, application) or is_certification_body(viewer)):
        raise PermissionDenied("Only the applying city's coordinator may change its application.")
    return application
