"""Figures of the reliability suites (README, section Reliability): what each suite tried and
what went wrong, counted while the tests run.

The suites call `count(suite, trials=..., faults=..., inputs=..., failures=..., data_lost=...)`
as they go; counting costs nothing when no report is wanted. Loaded as a pytest plugin
(`-p tests.reliability`, which `tests/report_reliability.py` does), this module also records
each test's outcome and duration and, at the end of the session, writes everything as JSON to
`$CITA_RELIABILITY_JSON` (default `data/reliability.json` under the working directory).

The keys:
- trials: independent attempts (a killed rebuild, a question asked, a file loaded, ...)
- faults: faults injected (SIGKILLs, dropped connections, HTTP errors, server stops, ...)
- inputs: hostile inputs tried (questions, files)
- failures: anything the suite counted as wrong (an error reply, an exception that escaped,
  a limit broken, a ping) plus the tests that failed
- data_lost: chunks, sentences or answers missing or duplicated (the goal is zero)
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

# test module -> suite (the numbering of issue 6)
SUITES = {
    "test_crash_rebuild": "1 crash during rebuild",
    "test_concurrency": "2 concurrency",
    "test_hostile_messages": "3 hostile messages",
    "test_hostile_files": "4 hostile files",
    "test_faults": "5 faults",
    "test_secrets": "6 secrets and permissions",
}
KEYS = ("trials", "faults", "inputs", "failures", "data_lost")

_lock = threading.Lock()
_counts: dict[str, Counter] = defaultdict(Counter)
_notes: dict[str, dict] = defaultdict(dict)


def count(suite: str, **amounts: int) -> None:
    """Add to a suite's figures (suite: a key of SUITES's values or a module name)."""
    suite = SUITES.get(suite, suite)
    with _lock:
        for key, n in amounts.items():
            _counts[suite][key] += int(n)


def note(suite: str, key: str, value) -> None:
    """A detail worth reporting (e.g. at which phase the rebuilds were killed)."""
    suite = SUITES.get(suite, suite)
    with _lock:
        _notes[suite][key] = value


def snapshot() -> dict:
    with _lock:
        return {s: dict(c) for s, c in _counts.items()}


# -- the pytest plugin ----------------------------------------------------------------------

_tests: dict[str, dict] = {}
_started = time.time()


def _suite_of(nodeid: str) -> str | None:
    module = nodeid.split("::", 1)[0].rsplit("/", 1)[-1].removesuffix(".py")
    return SUITES.get(module)


def pytest_runtest_logreport(report) -> None:
    suite = _suite_of(report.nodeid)
    if suite is None:
        return
    entry = _tests.setdefault(report.nodeid, {"suite": suite, "outcome": "passed", "seconds": 0.0})
    entry["seconds"] += report.duration
    if report.failed:
        entry["outcome"] = "failed"
    elif report.skipped and entry["outcome"] == "passed":
        entry["outcome"] = "skipped"


def pytest_sessionfinish(session, exitstatus) -> None:
    suites: dict[str, dict] = {}
    for name in SUITES.values():
        tests = {k: v for k, v in _tests.items() if v["suite"] == name}
        if not tests and name not in _counts:
            continue
        counted = Counter(_counts.get(name, {}))
        failed = sum(1 for t in tests.values() if t["outcome"] == "failed")
        suites[name] = {
            **{k: counted.get(k, 0) for k in KEYS},
            "failures": counted.get("failures", 0) + failed,
            "tests": len(tests),
            "tests_failed": failed,
            "tests_skipped": sum(1 for t in tests.values() if t["outcome"] == "skipped"),
            "seconds": round(sum(t["seconds"] for t in tests.values()), 1),
            "notes": _notes.get(name, {}),
            "test_seconds": {k.split("::", 1)[1]: round(v["seconds"], 1) for k, v in tests.items()},
        }
    totals = {k: sum(s[k] for s in suites.values()) for k in (*KEYS, "tests", "tests_failed", "seconds")}
    out = {
        "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "wall_seconds": round(time.time() - _started, 1),
        "exit_status": int(exitstatus),
        "suites": suites,
        "totals": totals,
    }
    path = Path(os.environ.get("CITA_RELIABILITY_JSON", "data/reliability.json"))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
