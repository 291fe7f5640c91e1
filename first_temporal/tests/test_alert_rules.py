"""The shipped Prometheus alert rules: valid for Prometheus' own checker, and firing when a
pipeline stops committing while silent as long as it commits (promtool's rule tests)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

RULES = Path(__file__).resolve().parents[2] / "ops" / "prometheus"


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    tool = shutil.which("promtool")
    assert tool, "promtool is missing: ./build.sh test installs Debian's prometheus package"
    return subprocess.run([tool, *args], cwd=RULES, capture_output=True, text=True, timeout=60)


def test_the_alert_rules_pass_promtool_check():
    checked = promtool("check", "rules", "etl_alerts.yml")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 1 rules found" in checked.stdout


def test_the_stale_pipeline_alert_fires_when_commits_stop_and_not_before():
    tested = promtool("test", "rules", "etl_alerts_test.yml")
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "SUCCESS" in tested.stdout
