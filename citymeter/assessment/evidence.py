"""Evidence documents: checked by content (not by file name) and size, stored once under their
SHA-256 in the data directory, versioned, and handed out only to those who may see the application.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from citymeter.accounts import audit
from citymeter.accounts.permissions import Viewer
from citymeter.assessment.access import applicant_application, visible_application
from citymeter.assessment.applications import framework_for
from citymeter.assessment.models import EvidenceDocument, EvidenceVersion
from citymeter.errors import Conflict, InvalidInput, NotFound, PayloadTooLarge

_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy Word/Excel/PowerPoint, HWP 5
ACCEPTED = (
    "PDF, Word/Excel/PowerPoint (OOXML or legacy), OpenDocument, HWP/HWPX, PNG, JPEG, GIF, WebP"
)


def _zip_kind(content: bytes) -> str | None:
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            names = set(archive.namelist())
            if "mimetype" in names:
                mimetype = archive.read("mimetype").decode("ascii", "replace").strip()
                if mimetype.startswith("application/vnd.oasis.opendocument."):
                    return mimetype
                if mimetype.startswith("application/hwp+zip"):
                    return "application/hwp+zip"
            if "[Content_Types].xml" in names:
                prefixes = {n.split("/", 1)[0] for n in names}
                if "word" in prefixes:
                    return "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
                if "xl" in prefixes:
                    return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
                if "ppt" in prefixes:
                    return (
                        "application/vnd.openxmlformats-officedocument.presentationml.presentation"
                    )
    except (zipfile.BadZipFile, KeyError, OSError):
        return None
    return None


def detect_content_type(content: bytes) -> str | None:
    """The document type from its first bytes (and a zip's contents); None if not accepted."""
    if content.startswith(b"%PDF-"):
        return "application/pdf"
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if content.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if content.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "image/webp"
    if content.startswith(_OLE2):
        return "application/x-ole-storage"
    if content.startswith(b"PK\x03\x04"):
        return _zip_kind(content)
    return None


def storage_path(data_dir: Path, sha256: str) -> Path:
    return data_dir / "evidence" / sha256[:2] / sha256


@dataclass(frozen=True)
class Upload:
    file_name: str
    content: bytes


def upload(
    session: Session,
    viewer: Viewer,
    application_id: int,
    title: str,
    file: Upload,
    data_dir: Path,
    max_bytes: int,
    element_ids: list[str] | None = None,
    document_id: int | None = None,
) -> EvidenceVersion:
    """Store a document (or a new version of one). Everything is checked before anything is
    written; the file is named by its hash, so the same content is stored once."""
    application = applicant_application(session, viewer, application_id)
    if application.status != "draft":
        raise Conflict(f"Application {application.id} was submitted; its evidence is closed.")
    size = len(file.content)
    if size > max_bytes:
        raise PayloadTooLarge(
            f"{file.file_name} is {size / 1_048_576:.1f} MB; evidence files may be at most "
            f"{max_bytes / 1_048_576:.0f} MB (setting evidence_max_mb)."
        )
    if size == 0:
        raise InvalidInput(f"{file.file_name} is empty.")
    content_type = detect_content_type(file.content)
    if content_type is None:
        raise InvalidInput(
            f"{file.file_name}: its content is not an accepted document type "
            f"(checked by content, not by name). Accepted: {ACCEPTED}."
        )
    framework = framework_for(session, application)
    known = {e.id for e in framework.scored_elements()} | {i.id for i in framework.all_items()}
    refs = list(element_ids or [])
    unknown = [r for r in refs if r not in known]
    if unknown:
        raise InvalidInput(f"Not elements of {framework.id}: {', '.join(unknown)}.")
    if document_id is None:
        if not title.strip():
            raise InvalidInput("Give the document a title.")
        document = EvidenceDocument(
            application_id=application.id, title=title.strip(), element_ids=refs
        )
        session.add(document)
        session.flush()
    else:
        found = session.get(EvidenceDocument, document_id)
        if found is None or found.application_id != application.id:
            raise NotFound(f"No evidence document {document_id} in application {application.id}.")
        document = found
        if refs:
            document.element_ids = refs
    number = session.scalar(
        select(func.coalesce(func.max(EvidenceVersion.version), 0)).where(
            EvidenceVersion.document_id == document.id
        )
    )
    digest = hashlib.sha256(file.content).hexdigest()
    version = EvidenceVersion(
        document_id=document.id,
        version=int(number or 0) + 1,
        file_name=Path(file.file_name).name[:300] or "upload",
        content_type=content_type,
        size_bytes=size,
        sha256=digest,
        uploaded_by=viewer.label,
    )
    session.add(version)
    session.flush()
    target = storage_path(data_dir, digest)
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".part")
        partial.write_bytes(file.content)
        partial.replace(target)
    audit.record(
        session,
        viewer,
        "evidence.upload",
        "evidence_version",
        version.id,
        {"document": document.id, "version": version.version, "sha256": digest},
    )
    return version


def documents(
    session: Session, viewer: Viewer, application_id: int
) -> list[tuple[EvidenceDocument, list[EvidenceVersion]]]:
    application = visible_application(session, viewer, application_id)
    docs = session.scalars(
        select(EvidenceDocument)
        .where(EvidenceDocument.application_id == application.id)
        .order_by(EvidenceDocument.id)
    )
    result = []
    for doc in docs:
        versions = list(
            session.scalars(
                select(EvidenceVersion)
                .where(EvidenceVersion.document_id == doc.id)
                .order_by(EvidenceVersion.version)
            )
        )
        result.append((doc, versions))
    return result


def open_version(
    session: Session, viewer: Viewer, version_id: int, data_dir: Path
) -> tuple[EvidenceVersion, bytes]:
    """The stored bytes, only for those who may see the application; the hash is re-checked."""
    version = session.get(EvidenceVersion, version_id)
    document = session.get(EvidenceDocument, version.document_id) if version else None
    if version is None or document is None:
        raise NotFound(f"No evidence file {version_id} that you may see.")
    try:
        visible_application(session, viewer, document.application_id)
    except NotFound:
        raise NotFound(f"No evidence file {version_id} that you may see.") from None
    path = storage_path(data_dir, version.sha256)
    if not path.is_file():
        raise NotFound(f"The file of evidence {version_id} is missing from the data directory.")
    content = path.read_bytes()
    if hashlib.sha256(content).hexdigest() != version.sha256:
        raise Conflict(f"The stored file of evidence {version_id} does not match its hash.")
    return version, content
