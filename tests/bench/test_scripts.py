"""The benchmark scripts run as documented (README "Performance"), on a small corpus: each exits
0 and prints its headline figures last, one `name: value` per line. Smoke runs only: the
figures of a run this small mean nothing (they are saved as *-smoke.json, beside the real ones in
data/bench/results/)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow


def run(script: str, *args: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CITA_", "DISCORD_", "CHROMA_"))}
    env.update(HF_HUB_OFFLINE="1", ANONYMIZED_TELEMETRY="False")
    done = subprocess.run([sys.executable, f"bench/{script}.py", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    figures = {}
    for line in done.stdout.splitlines():
        if line and not line.startswith("#") and ": " in line:
            key, value = line.split(": ", 1)
            figures[key] = value
    return figures


def number(value: str) -> float:
    return float(value)


def test_answer_latency_prints_the_ratio_against_the_bare_query():
    f = run("answer_latency", "--articles", "12", "--questions", "10")
    assert number(f["answer_p95_ratio"]) > 0 and number(f["baseline_p95_ms"]) > 0
    assert list(f)[-1] == "answer_p95_ratio"


def test_index_throughput_prints_both_builds_and_the_unchanged_rebuild():
    f = run("index_throughput", "--articles", "12", "--paragraphs", "4")
    assert number(f["index_throughput_ratio"]) > 0 and number(f["sentence_mean_throughput_ratio"]) > 0
    assert number(f["unchanged_rebuild_embeddings"]) == 0 and f["unchanged_published_new_generation"] == "False"
    assert int(f["sentence_mean_build_embedded"]) < int(f["build_embedded"]), "no chunk pass"


def test_footprint_starts_the_bot_against_the_stand_in_and_runs_cita_ask():
    f = run("footprint", "--articles", "12", "--runs", "1")
    assert 0 < number(f["bot_ready_s"]) < 120 and number(f["bot_rss_mb"]) > 0 and number(f["ask_ready_s"]) > 0
    assert "torch" not in f["bot_heavy_imports"] and "sentence_transformers" not in f["bot_heavy_imports"]


def test_vs_llamaindex_runs_both_pipelines_on_the_same_questions():
    f = run("vs_llamaindex", "--articles", "2", "--limit", "10")
    assert f["questions"] == "10"
    assert 0 <= number(f["cita_recall_at_1"]) <= 1 and 0 <= number(f["llamaindex_recall_at_1"]) <= 1
    assert number(f["llamaindex_index_s"]) > 0 and number(f["rss_vs_llamaindex"]) > 0
