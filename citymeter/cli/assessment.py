"""`citymeter rounds` and `citymeter certificates`: run certification rounds from the server.

Commands act as the installation (the certification body's operator); cities and assessors work
through the pages and the API with their own accounts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from citymeter.assessment import applications, assessing, certificates, reports, rounds
from citymeter.cli.common import CLI_ACTOR, console, handle_errors, open_session
from citymeter.errors import InvalidInput

rounds_app = typer.Typer(help="Open and run certification rounds.", no_args_is_help=True)
certificates_app = typer.Typer(
    help="Issue, verify, surveil and withdraw certificates.", no_args_is_help=True
)


def _when(text: str, end_of_day: bool = False) -> dt.datetime:
    try:
        if len(text) == 10:
            day = dt.date.fromisoformat(text)
            clock = dt.time(23, 59, 59) if end_of_day else dt.time(0, 0)
            return dt.datetime.combine(day, clock, tzinfo=dt.UTC)
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{text!r} is not a date (YYYY-MM-DD) or date-time.") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _day(text: str | None) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{text!r} is not a date (YYYY-MM-DD).") from None


@rounds_app.command("open")
@handle_errors
def open_(
    code: str = typer.Argument(..., help="Round code, e.g. KR-2026."),
    framework: str = typer.Option(..., help="Shipped framework id or a framework file path."),
    name: str = typer.Option(..., help="Name shown to applicants."),
    closes: str = typer.Option(..., help="Submission deadline (YYYY-MM-DD: end of that day UTC)."),
    opens: str | None = typer.Option(None, help="Opening date (default: now)."),
    class_: list[str] = typer.Option(
        [], "--class", help="Population class ids taken (default all)."
    ),
) -> None:
    """Open a certification round on a framework; the framework's text is kept with the round."""
    spec = rounds.RoundSpec(
        code=code,
        name=name,
        framework=rounds.framework_text(framework),
        opens_at=_when(opens) if opens else dt.datetime.now(dt.UTC),
        closes_at=_when(closes, end_of_day=True),
        classes=tuple(class_),
    )
    with open_session() as session:
        opened = rounds.open_round(session, CLI_ACTOR, spec)
        console.print(
            f"Opened round {escape(opened.code)} on {opened.framework_id} "
            f"{opened.framework_version}; "
            f"deadline {opened.closes_at:%Y-%m-%d %H:%M} UTC."
        )


@rounds_app.command("list")
@handle_errors
def list_() -> None:
    """Rounds, newest first, with their applications."""
    with open_session() as session:
        table = Table("code", "name", "framework", "deadline (UTC)", "status", "applications")
        for r in rounds.list_rounds(session):
            count = len(applications.list_applications(session, CLI_ACTOR, r.code))
            table.add_row(
                escape(r.code),
                escape(r.name),
                r.framework_id,
                f"{r.closes_at:%Y-%m-%d %H:%M}",
                r.status,
                str(count),
            )
        console.print(table)


@rounds_app.command("show")
@handle_errors
def show(code: str = typer.Argument(..., help="Round code.")) -> None:
    """A round's applications: city, class, status and the committee's current result."""
    with open_session() as session:
        round_ = rounds.get_round(session, code)
        table = Table("application", "city", "class", "status", "result", "certified", "flags")
        for a in applications.list_applications(session, CLI_ACTOR, code):
            view = assessing.committee_view(session, CLI_ACTOR, a.id)
            decision = assessing.current_decision(session, a.id)
            result = decision.result if decision else (view.result_label if view.complete else "–")
            certified = decision.certified if decision else None
            table.add_row(
                str(a.id),
                str(a.city_id),
                a.class_id or "",
                a.status,
                result,
                "" if certified is None else ("yes" if certified else "no"),
                ", ".join(view.flagged[:5]),
            )
        console.print(f"{escape(round_.name)} ({round_.framework_id})")
        console.print(table)


@rounds_app.command("committee")
@handle_errors
def committee(application: int = typer.Argument(..., help="Application id.")) -> None:
    """The committee view of one application: per element the scores, the aggregate, flags."""
    with open_session() as session:
        view = assessing.committee_view(session, CLI_ACTOR, application)
        table = Table("element", "scores", "committee", "spread", "flag")
        for element_id, cs in view.elements.items():
            table.add_row(
                element_id,
                " ".join(f"{v:g}" for v in cs.scores),
                cs.level.code if cs.level else f"{cs.value:.2f}",
                f"{cs.spread:g}",
                "DISAGREE" if cs.disagreement else "",
            )
        console.print(table)
        if view.missing:
            console.print(f"Not scored yet in stage {view.stage}: {', '.join(view.missing)}")
        else:
            console.print(
                f"Result: {view.result_label}, total {view.total:.2f}, "
                f"{'certified' if view.certified else 'not certified'}."
            )


@rounds_app.command("decide")
@handle_errors
def decide(
    application: int = typer.Argument(..., help="Application id."),
    reasons: str = typer.Option(..., help="The committee's reasons (recorded)."),
) -> None:
    """Decide an application from its committee view (written to the tamper-evident log)."""
    with open_session() as session:
        decision = assessing.decide(session, CLI_ACTOR, application, reasons)
        verdict = "certified" if decision.certified else "not certified"
        console.print(f"Application {application}: {decision.result}, {verdict}.")


@rounds_app.command("reopen")
@handle_errors
def reopen(
    application: int = typer.Argument(..., help="Application id."),
    reason: str = typer.Option(..., help="Why the decision is reopened (recorded)."),
) -> None:
    """Reopen a decided application so that it can be rescored (recorded with the reason)."""
    with open_session() as session:
        assessing.reopen(session, CLI_ACTOR, application, reason)
        console.print(f"Application {application} is open for rescoring.")


@rounds_app.command("roadmap")
@handle_errors
def roadmap(
    application: int = typer.Argument(..., help="Application id."),
    output: Path | None = typer.Option(None, help="Write the roadmap as Markdown to this file."),
) -> None:
    """The gap analysis of an application as an improvement roadmap."""
    with open_session() as session:
        steps = assessing.roadmap(session, CLI_ACTOR, application)
        text = assessing.roadmap_markdown(steps, f"application {application}")
    if output is not None:
        output.write_text(text, encoding="utf-8")
        console.print(f"Wrote {len(steps)} steps to {output}.")
    else:
        console.print(escape(text))


@rounds_app.command("report")
@handle_errors
def report(
    application: int = typer.Argument(..., help="Application id."),
    format_: str = typer.Option("pdf", "--format", help="html or pdf."),
    output: Path = typer.Option(..., "--output", "-o", help="File to write."),
    lang: str = typer.Option("ko", help="Language of the labels: ko or en."),
    font: Path | None = typer.Option(
        None, help="A .ttf/.otf font to embed instead of NanumGothic."
    ),
) -> None:
    """The assessment report of an application (radar chart, item table, strengths, improvement
    areas) as HTML or PDF."""
    reports.check_format(format_)
    reports.check_language(lang)
    with open_session() as session:
        made = reports.assessment_report(session, CLI_ACTOR, application)
    _write(output, format_, reports.report_html(made, lang), lambda: _report_pdf(made, lang, font))


def _report_pdf(made: reports.AssessmentReport, lang: str, font: Path | None) -> bytes:
    from citymeter.assessment import pdf

    return pdf.report_pdf(made, lang, pdf.find_font(font))


def _write(output: Path, format_: str, html: str, render_pdf: Callable[[], bytes]) -> None:
    if format_ == "html":
        output.write_text(html, encoding="utf-8")
    else:
        output.write_bytes(render_pdf())
    console.print(f"Wrote {output} ({output.stat().st_size:,} bytes).")


@certificates_app.command("issue")
@handle_errors
def issue(
    application: int = typer.Argument(..., help="A certified application's id."),
    scope: str | None = typer.Option(None, help="Scope printed on the certificate."),
    on: str | None = typer.Option(None, help="Issue date (default today)."),
) -> None:
    """Issue the certificate of a certified decision (surveillance scheduled from the framework)."""
    with open_session() as session:
        c = certificates.issue(session, CLI_ACTOR, application, scope, _day(on))
        console.print(f"Issued {c.number} ({c.result}), valid {c.issued_on} to {c.expires_on}.")


@certificates_app.command("list")
@handle_errors
def registry(
    round_code: str | None = typer.Option(None, "--round", help="Only this round."),
    class_id: str | None = typer.Option(None, "--class", help="Only this population class."),
) -> None:
    """The public registry of certificates by round and class."""
    with open_session() as session:
        table = Table("number", "city", "round", "class", "result", "issued", "expires", "status")
        for p in certificates.registry(session, round_code, class_id):
            table.add_row(
                p.number,
                escape(p.city),
                escape(p.round_code),
                p.class_id or "",
                p.result,
                str(p.issued_on),
                str(p.expires_on),
                p.status,
            )
        console.print(table)


@certificates_app.command("verify")
@handle_errors
def verify(number: str = typer.Argument(..., help="Certificate number.")) -> None:
    """What the public verification page shows for a certificate number."""
    with open_session() as session:
        p = certificates.verify(session, number)
        console.print(
            f"{p.number}: {escape(p.city)}, {escape(p.framework)}, {p.result}, {p.status} "
            f"(issued {p.issued_on}, expires {p.expires_on})"
            + (f"; withdrawn: {escape(p.withdrawal_reason)}" if p.withdrawal_reason else "")
        )


@certificates_app.command("due")
@handle_errors
def due(
    within: int = typer.Option(90, help="Days ahead to look."),
    today: str | None = typer.Option(None, help="Pretend today is this date (YYYY-MM-DD)."),
) -> None:
    """Reminders: surveillance audits, renewal/extension requests and expiries coming due."""
    with open_session() as session:
        reminders = certificates.due(session, CLI_ACTOR, within, _day(today))
        table = Table("due", "certificate", "city", "what", "")
        for r in reminders:
            table.add_row(
                str(r.due_on), r.number, escape(r.city), r.what, "OVERDUE" if r.overdue else ""
            )
        console.print(table)
        console.print(f"{len(reminders)} reminder(s) within {within} days.")


@certificates_app.command("surveil")
@handle_errors
def surveil(
    number: str = typer.Argument(..., help="Certificate number."),
    outcome: str = typer.Option(..., help="What the surveillance audit found."),
    on: str | None = typer.Option(None, help="Date of the audit (default today)."),
) -> None:
    """Record a surveillance audit (closes the earliest open one)."""
    with open_session() as session:
        done = certificates.record_surveillance(session, CLI_ACTOR, number, outcome, _day(on))
        console.print(f"Recorded the surveillance audit due {done.due_on} for {number}.")


@certificates_app.command("withdraw")
@handle_errors
def withdraw(
    number: str = typer.Argument(..., help="Certificate number."),
    reason: str = typer.Option(..., help="Why (shown on the public verification page)."),
) -> None:
    """Withdraw a certificate, with a reason."""
    with open_session() as session:
        certificates.withdraw(session, CLI_ACTOR, number, reason)
        console.print(f"Withdrew {number}.")


@certificates_app.command("export")
@handle_errors
def export(
    number: str = typer.Argument(..., help="Certificate number."),
    format_: str = typer.Option("pdf", "--format", help="html or pdf."),
    output: Path = typer.Option(..., "--output", "-o", help="File to write."),
    lang: str = typer.Option("ko", help="Language of the labels: ko or en."),
    font: Path | None = typer.Option(
        None, help="A .ttf/.otf font to embed instead of NanumGothic."
    ),
) -> None:
    """A valid certificate as HTML or PDF (withdrawn and expired ones are not printed)."""
    reports.check_format(format_)
    reports.check_language(lang)
    with open_session() as session:
        found = reports.certificate_for_print(session, number)

    def render() -> bytes:
        from citymeter.assessment import pdf

        return pdf.certificate_pdf(found, lang, pdf.find_font(font))

    _write(output, format_, reports.certificate_html(found, lang), render)
