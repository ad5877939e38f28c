"""The audit log: written for account changes, readable by AUDIT_READ roles, never editable."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from citymeter.accounts.models import AuditEntry, User

MakeUser = Callable[..., User]
Bearer = Callable[..., dict[str, str]]


def test_account_changes_are_audited_with_the_actor(
    client: TestClient, db: Session, make_user: MakeUser, bearer: Bearer
) -> None:
    make_user("admin")
    headers = bearer("admin")
    assert (
        client.post(
            "/api/v1/users", json={"username": "kim", "role": "official"}, headers=headers
        ).status_code
        == 201
    )
    created = client.post("/api/v1/users/kim/tokens", json={"name": "feed"}, headers=headers)
    secret = created.json()["token"]
    assert client.post("/api/v1/users/kim/disable", headers=headers).status_code == 200

    kim = db.scalars(select(User).where(User.username == "kim")).one()
    entries = client.get("/api/v1/audit", params={"type": "user"}, headers=headers).json()
    about_kim = [e for e in entries if e["object_id"] == str(kim.id)]
    assert [e["action"] for e in about_kim] == ["user.disable", "token.create", "user.create"]
    assert {e["actor"] for e in about_kim} == {"admin"}
    assert about_kim[1]["detail"]["token"] == "feed"
    assert about_kim[1]["detail"]["prefix"] == secret[:10]
    assert secret not in str(entries)  # the secret itself is never logged
    admin_id = db.scalars(select(User.id).where(User.username == "admin")).one()
    stored = db.scalars(select(AuditEntry).where(AuditEntry.object_id == str(kim.id))).all()
    assert {e.actor_id for e in stored} == {admin_id}


def test_audit_list_pages_and_limits(
    client: TestClient, make_user: MakeUser, bearer: Bearer
) -> None:
    for role in ("official", "assessor", "mayor"):
        make_user(role)
    headers = bearer("mayor")  # the mayor may read the log
    newest = client.get("/api/v1/audit", params={"limit": 2}, headers=headers).json()
    assert len(newest) == 2 and newest[0]["id"] > newest[1]["id"]
    older = client.get(
        "/api/v1/audit", params={"limit": 2, "before": newest[1]["id"]}, headers=headers
    ).json()
    assert all(e["id"] < newest[1]["id"] for e in older)
    bad = client.get("/api/v1/audit", params={"limit": 0}, headers=headers)
    assert bad.status_code == 422 and "limit" in bad.json()["detail"]


def test_audit_entries_cannot_be_changed_through_the_orm(db: Session, make_user: MakeUser) -> None:
    make_user("official")
    entry = db.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
    assert entry is not None
    entry.action = "forged"
    with pytest.raises(DBAPIError, match="append-only"), db.begin_nested():
        db.flush()
