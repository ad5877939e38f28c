"""Regenerate migration 0001 from the models. Only while 0001 has not been released.

Run: .venv/bin/python tools/regen_initial_migration.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from alembic import command

from citymeter.db.engine import make_engine
from citymeter.db.migrate import MIGRATIONS_DIR, alembic_config

VERSIONS = MIGRATIONS_DIR / "versions"


def main() -> None:
    for old in VERSIONS.glob("0001_*.py"):
        old.unlink()
    # Later migrations name 0001 as their parent; hide them while 0001 is written anew.
    later = [p for p in VERSIONS.glob("*.py")]
    for path in later:
        path.rename(path.with_suffix(".hidden"))
    try:
        _generate()
    finally:
        for path in later:
            path.with_suffix(".hidden").rename(path)
    generated = next(VERSIONS.glob("0001_*.py"))
    target = VERSIONS / "0001_foundation.py"
    if generated != target:
        generated.rename(target)
    subprocess.run([sys.executable, "-m", "ruff", "format", str(target)], check=True)
    subprocess.run([sys.executable, "-m", "ruff", "check", "--fix", "-q", str(target)], check=False)
    print(f"wrote {target}")


def _generate() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'empty.db'}"
        engine = make_engine(url)
        config = alembic_config(url)
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.revision(
                config,
                message="foundation: places, sources, observations, accounts",
                autogenerate=True,
                rev_id="0001",
            )


if __name__ == "__main__":
    main()
