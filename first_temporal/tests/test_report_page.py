"""The report page, rendered by a real browser (headless Chromium): its charts and tables
are checked on the rendered page, and a screenshot is kept in .run/test-artifacts/."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
from matplotlib import image

from first_temporal.config import Pipeline
from first_temporal.mart import apply_pending
from first_temporal.report.__main__ import main as report_main
from first_temporal.report.charts import DISPUTE_COLOUR, REVENUE_COLOUR
from first_temporal.tests.batches import run_batches
from first_temporal.tests.processes import ROOT

ARTIFACTS = ROOT / ".run" / "test-artifacts"


def chromium(*args: str) -> subprocess.CompletedProcess[str]:
    browser = shutil.which("chromium")
    assert browser, "chromium is missing: ./build.sh test installs Debian's chromium package"
    return subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def share_of(pixels: np.ndarray, colour: str) -> float:
    """Share of the screenshot's pixels within a small distance of `colour`."""
    rgb = np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)]) / 255
    close = np.abs(pixels[..., :3] - rgb).max(axis=-1) < 0.06
    return float(close.mean())


def test_the_report_page_renders_its_charts_and_tables_in_chromium(tmp_path: Path):
    data, out = tmp_path / "data", tmp_path / "report"
    run_batches(Pipeline(location=str(data), seed=3), 40)
    apply_pending(str(data))
    assert report_main(["--data-dir", str(data), "--out", str(out)]) == 0
    page = out / "index.html"
    source = page.read_bytes()  # self-contained: nothing it would fetch to be seen
    assert not re.search(rb'(src|href)="https?:|url\(https?:|<link|<script|<img', source)

    dom = chromium("--dump-dom", page.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    rendered = dom.stdout
    assert rendered.count("<svg") >= 5  # timeline, makes, months, disputes, deliveries
    assert "Dealership report — through " in rendered and "Recent batches" in rendered
    assert rendered.count("<tr>") >= 10 + 3 + 3  # batches, dispute types, statuses

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "report_page.png"
    shot.unlink(missing_ok=True)
    taken = chromium("--window-size=1400,2600", f"--screenshot={shot}", page.as_uri())
    assert taken.returncode == 0 and shot.is_file(), taken.stderr[-2000:]
    pixels = image.imread(shot)
    assert pixels.shape[0] == 2600 and pixels.shape[1] == 1400
    assert share_of(pixels, REVENUE_COLOUR) > 0.005  # the revenue bars were drawn
    assert share_of(pixels, DISPUTE_COLOUR) > 0.002  # the dispute line and bars too
