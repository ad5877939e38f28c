"""Screenshots of CityMeter's main pages at phone and wall-screen sizes, into docs/screenshots/.

    .venv/bin/python tools/screenshots.py                 # builds a demo store in a temp folder
    .venv/bin/python tools/screenshots.py --database-url sqlite:///path/citymeter.db   # reuse one

A server runs on a free loopback port; Debian's Chromium (headless) loads each page, waits until
the map is drawn and saves a PNG (reduced to a 256-colour palette when Pillow is installed, to
keep the files small enough to commit).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "screenshots"
CHROMIUM = os.environ.get("CITYMETER_CHROMIUM", "/usr/bin/chromium")
SIZES = {"phone": (390, 844), "wall": (1920, 1080)}


def pages(district: str) -> list[tuple[str, str, str | None]]:
    """(file stem, path, demo account to log in as or None)."""
    return [
        ("dashboard-ko", "/?lang=ko", "mayor"),
        ("dashboard-en-public", "/?lang=en", None),
        ("district-ko", f"/districts/{district}?lang=ko", "district.head"),
        ("district-en-public", f"/districts/{district}?lang=en", None),
    ]


def shrink(path: Path) -> None:
    try:
        from PIL import Image
    except ImportError:
        return
    with Image.open(path) as image:
        reduced = image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
        reduced.save(path, optimize=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="A store with the demo built (default: build one)")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--only", choices=sorted(SIZES), help="One size only")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    from citymeter.dashboard.demo_store import build_demo_store
    from citymeter.dashboard.serving import ServerThread
    from citymeter.db.engine import make_engine
    from citymeter.demo.build import DEMO_PASSWORD
    from citymeter.settings import Settings

    folder = Path(tempfile.mkdtemp(prefix="citymeter-shots-"))
    url = args.database_url or f"sqlite:///{folder / 'citymeter.db'}"
    engine = make_engine(url)
    if args.database_url is None:
        print("Building the demo store (about a minute)…", flush=True)
        store = build_demo_store(engine)
        district = store.head_district or store.district_codes[0]
    else:
        from sqlalchemy import select

        from citymeter.places.models import Area

        with engine.connect() as conn:
            district = conn.execute(
                select(Area.code).where(Area.level == "district").order_by(Area.code).limit(1)
            ).scalar_one()
    settings = Settings(
        data_dir=folder / "data", database_url=url, secret_key="screenshots", run_connectors=False
    )
    args.out.mkdir(parents=True, exist_ok=True)
    sizes = {args.only: SIZES[args.only]} if args.only else SIZES
    with ServerThread(settings, engine) as server, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        for size, (width, height) in sizes.items():
            for stem, path, username in pages(district):
                context = browser.new_context(
                    base_url=server.url, viewport={"width": width, "height": height}
                )
                page = context.new_page()
                if username:
                    page.goto("/login")
                    page.fill("#username", username)
                    page.fill("#password", DEMO_PASSWORD)
                    with page.expect_navigation():
                        page.click("form[action=\"/login\"] button[type=submit]")
                page.goto(path)
                page.wait_for_function("document.body.dataset.map !== undefined", timeout=15000)
                page.wait_for_timeout(300)
                target = args.out / f"{stem}-{size}.png"
                page.screenshot(path=str(target), full_page=size == "phone")
                shrink(target)
                print(f"{target.relative_to(ROOT)}: {target.stat().st_size // 1024} KB")
                context.close()
        browser.close()
    engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
