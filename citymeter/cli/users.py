"""`citymeter users`: accounts, passwords and API tokens, run by the operator on the server."""

from __future__ import annotations

import datetime as dt

import typer
from rich.markup import escape
from rich.table import Table

from citymeter.accounts import service
from citymeter.accounts.models import ROLES
from citymeter.cli.common import CLI_ACTOR, console, err_console, handle_errors, open_session
from citymeter.errors import InvalidInput

app = typer.Typer(
    help="Add, list, disable and enable users; passwords and API tokens.", no_args_is_help=True
)


def when(value: dt.datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value is not None else "-"


def _ask_password() -> str:
    password: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return password


@app.command("add")
@handle_errors
def add(
    username: str = typer.Argument(..., help="Login name: letters, digits, '.', '-', '_'."),
    role: str = typer.Option(..., "--role", "-r", help=f"One of: {', '.join(ROLES)}."),
    district: str | None = typer.Option(
        None, "--district", help="Area code of the district (district_head only)."
    ),
    password: str | None = typer.Option(
        None,
        "--password",
        help="The password (it lands in your shell history; leave out to be asked).",
    ),
    no_password: bool = typer.Option(
        False, "--no-password", help="A machine account that logs in with API tokens only."
    ),
    display_name: str | None = typer.Option(None, "--display-name", help="Name shown in pages."),
    email: str | None = typer.Option(None, "--email"),
    department: str | None = typer.Option(None, "--department", help="An official's department."),
    city: str | None = typer.Option(
        None, "--city", help="Code of the city the user acts for (e.g. its coordinator)."
    ),
) -> None:
    """Add a user with a role (a district head also needs --district)."""
    if role not in ROLES:  # say so before asking for a password that would be wasted
        raise InvalidInput(f"Unknown role {role!r}; choose one of: {', '.join(ROLES)}.")
    if no_password and password is not None:
        raise InvalidInput("Give --password or --no-password, not both.")
    if not no_password and password is None:
        password = _ask_password()
    with open_session() as session:
        user = service.create_user(
            session,
            CLI_ACTOR,
            username=username,
            role=role,
            password=None if no_password else password,
            display_name=display_name,
            email=email,
            district_code=district,
            department=department,
            city_code=city,
        )
        scope = f" for district {district}" if district else f" for city {city}" if city else ""
        console.print(f"Added user [bold]{escape(user.username)}[/] ({user.role}{scope}).")


@app.command("list")
@handle_errors
def list_() -> None:
    """List the users: role, district, whether active, last login."""
    with open_session() as session:
        table = Table("username", "name", "role", "district", "active", "last login")
        for user in service.list_users(session):
            table.add_row(
                escape(user.username),
                escape(user.display_name),
                user.role,
                user.district.code if user.district is not None else "-",
                "yes" if user.is_active else "[red]no[/]",
                when(user.last_login_at),
            )
        console.print(table)


@app.command("disable")
@handle_errors
def disable(username: str = typer.Argument(..., help="The user to disable.")) -> None:
    """Disable a user at once: their API tokens are revoked and browser sessions ended."""
    with open_session() as session:
        service.set_active(session, CLI_ACTOR, username, active=False)
        console.print(f"Disabled [bold]{escape(username)}[/]; their tokens and sessions are gone.")


@app.command("enable")
@handle_errors
def enable(username: str = typer.Argument(..., help="The user to enable again.")) -> None:
    """Enable a disabled user (revoked tokens stay revoked; give new ones)."""
    with open_session() as session:
        service.set_active(session, CLI_ACTOR, username, active=True)
        console.print(f"Enabled [bold]{escape(username)}[/].")


@app.command("passwd")
@handle_errors
def passwd(
    username: str = typer.Argument(..., help="Whose password to set."),
    password: str | None = typer.Option(
        None, "--password", help="The new password (leave out to be asked)."
    ),
) -> None:
    """Set a user's password; their browser sessions end and a lockout is lifted."""
    with open_session() as session:
        service.get_user(session, username)  # say "no such user" before asking for a password
    new_password = password if password is not None else _ask_password()
    with open_session() as session:
        service.set_password(session, CLI_ACTOR, username, new_password)
        console.print(f"Password of [bold]{escape(username)}[/] changed.")


@app.command("token")
@handle_errors
def token(
    username: str = typer.Argument(..., help="The user the token acts as."),
    name: str = typer.Option(..., "--name", help="What will use it, e.g. 'air-quality-feed'."),
    days: int | None = typer.Option(None, "--days", help="Expires after N days (default never)."),
) -> None:
    """Create an API token and print it once (only its hash is kept)."""
    with open_session() as session:
        row, secret = service.create_token(session, CLI_ACTOR, username, name, days)
        expires = when(row.expires_at) if row.expires_at else "never"
        err_console.print(
            f"Token [bold]{escape(row.name)}[/] for {escape(username)} (expires {expires}). "
            "Copy it now; it is not shown again:"
        )
        # The secret alone on stdout, so that `citymeter users token … > file` captures just it.
        typer.echo(secret)


@app.command("tokens")
@handle_errors
def tokens(username: str = typer.Argument(..., help="Whose tokens to list.")) -> None:
    """List a user's API tokens (names and prefixes, never the secrets)."""
    with open_session() as session:
        table = Table("name", "prefix", "created", "expires", "last used", "revoked")
        for row in service.list_tokens(session, username):
            table.add_row(
                escape(row.name),
                row.prefix + "…",
                when(row.created_at),
                when(row.expires_at) if row.expires_at else "never",
                when(row.last_used_at),
                when(row.revoked_at),
            )
        console.print(table)


@app.command("revoke-token")
@handle_errors
def revoke_token(
    username: str = typer.Argument(..., help="Whose token."),
    name: str = typer.Argument(..., help="The token's name or its prefix (see `users tokens`)."),
) -> None:
    """Revoke one of a user's API tokens at once."""
    with open_session() as session:
        row = service.revoke_token(session, CLI_ACTOR, username, name)
        console.print(
            f"Revoked token [bold]{escape(row.name)}[/] ({row.prefix}…) of {escape(username)}."
        )
