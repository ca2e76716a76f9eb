"""Run the reliability suites (issue 6) and print their figures.

    .venv/bin/python tests/report_reliability.py            # run the six suites, print the table
    .venv/bin/python tests/report_reliability.py --from F   # print the table of an earlier run
    .venv/bin/python tests/report_reliability.py -- -x      # extra arguments go to pytest

The counts come from the suites themselves (tests/reliability.py, loaded as a pytest plugin);
the JSON is written to data/reliability.json (or $CITA_RELIABILITY_JSON). The exit status is pytest's.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SUITE_FILES = [
    "tests/index/test_crash_rebuild.py",
    "tests/bot/test_concurrency.py",
    "tests/bot/test_hostile_messages.py",
    "tests/index/test_hostile_files.py",
    "tests/bot/test_faults.py",
    "tests/bot/test_secrets.py",
]


def table(report: dict) -> str:
    rows = [("suite", "tests", "trials", "faults", "inputs", "failures", "data lost", "seconds")]
    for name, s in report["suites"].items():
        rows.append((name, f"{s['tests'] - s['tests_failed']}/{s['tests']}", s["trials"], s["faults"], s["inputs"],
                     s["failures"], s["data_lost"], f"{s['seconds']:.0f}"))
    t = report["totals"]
    rows.append(("total", f"{t['tests'] - t['tests_failed']}/{t['tests']}", t["trials"], t["faults"], t["inputs"],
                 t["failures"], t["data_lost"], f"{t['seconds']:.0f}"))
    lines = ["| " + " | ".join(str(c) for c in rows[0]) + " |",
             "| " + " | ".join("---" for _ in rows[0]) + " |"]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows[1:]]
    notes = [f"- {name}: " + "; ".join(f"{k}: {v}" for k, v in s["notes"].items())
             for name, s in report["suites"].items() if s["notes"]]
    return "\n".join(lines + ([""] + notes if notes else []))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--from", dest="source", type=Path, help="print the figures of this JSON, run nothing")
    parser.add_argument("pytest_args", nargs="*", help="more arguments for pytest (after --)")
    args = parser.parse_args()
    out = Path(os.environ.get("CITA_RELIABILITY_JSON", ROOT / "data" / "reliability.json")).resolve()
    code = 0
    if args.source is None:
        env = {**os.environ, "CITA_RELIABILITY_JSON": str(out), "HF_HUB_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False"}
        code = subprocess.call([sys.executable, "-m", "pytest", "-p", "tests.reliability", "-q", *SUITE_FILES,
                                *args.pytest_args], cwd=ROOT, env=env)
    report = json.loads((args.source or out).read_text(encoding="utf-8"))
    print(table(report))
    print(f"\nwall time {report['wall_seconds']:.0f} s; pytest exit status {report['exit_status']}; "
          f"figures in {args.source or out}")
    return code


if __name__ == "__main__":
    sys.exit(main())
