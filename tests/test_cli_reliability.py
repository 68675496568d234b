"""Smoke test of benchmarks/bench_reliability.py at tiny sizes: SIGKILLed writers, concurrent
writers and readers, and a killed `remem import` leave 0 lost, 0 corrupt, 0 partial, 0 errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_reliability_benchmark_small(tmp_path: Path) -> None:
    out = tmp_path / "reliability.json"
    cmd = [sys.executable, str(ROOT / "benchmarks" / "bench_reliability.py"), "--kills", "3", "--seconds", "2",
           "--import-size", "1000", "--import-kills", "1", "--batch-size", "200", "--json", str(out)]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 lost, 0 corrupt, 0 errors, 0 partial" in result.stdout
    report = json.loads(out.read_text())
    assert report["ok"] is True
    scenarios = {r["scenario"]: r for r in report["results"]}
    assert set(scenarios) == {"sigkill loop", "concurrent 4w+2r", "killed import"}
    for r in scenarios.values():
        assert r["lost"] == r["corrupt"] == r["errors"] == r["partial"] == 0, r
        assert r["runs"] > 0 and r["writes"] > 0, r
    assert scenarios["sigkill loop"]["runs"] == 3 and scenarios["killed import"]["writes"] == 1000
