"""`citymeter bench pages` on a small demo city: it prints every figure with its target, and it
refuses a store without the demo city. No timing is asserted (the machine decides those)."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from citymeter.cli.main import app

runner = CliRunner()


@pytest.mark.slow
def test_bench_pages_prints_the_figures_and_the_targets() -> None:
    args = ["bench", "pages", "--small", "--months", "13", "--requests", "3", "--warmup", "1"]
    result = runner.invoke(app, [*args, "--browser-runs", "1"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "25 districts, 13 months" in out
    for viewer in ("public", "mayor"):
        for path in ("/healthz", "/", "/districts/", "/indicators/employment_rate"):
            row = re.search(
                rf"^  .+{re.escape(path)}\S*\s+{viewer}\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+[\d,]+\s+0$",
                out,
                re.MULTILINE,
            )
            assert row, f"no figures without failures for {path} ({viewer}) in:\n{out}"
        for page in ("dashboard", "district page", "indicator page"):
            assert re.search(
                rf"{page} \({viewer}\) server p95 [\d.]+ ms < 150 ms: (PASS|FAIL)", out
            )
    if "Browser part skipped" not in out:
        assert "FAILED load" not in out
        assert re.search(r"public +dashboard complete .*: median [\d,]+ ms, max [\d,]+ ms", out)
        assert re.search(r"mayor +transferred on first load [\d,]+ bytes", out)
        assert "echarts.min.js" in out
        assert re.search(r"first load \(public\) [\d.]+ MB < 2 MB: (PASS|FAIL)", out)
        assert re.search(r"in Chromium \(mayor\) max [\d,]+ ms < 2,000 ms: (PASS|FAIL)", out)


def test_bench_pages_refuses_a_store_without_the_demo_city(database_url: str) -> None:
    result = runner.invoke(app, ["bench", "pages", "--database-url", database_url])
    assert result.exit_code == 1
    assert "has no demo city" in " ".join(result.output.split())  # rich wraps long lines
    assert "Traceback" not in result.output
