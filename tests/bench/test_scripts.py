"""The benchmark scripts run as documented (README "Performance"), on a small corpus: each exits
0 and prints its headline figures last, one `name: value` per line. Smoke runs only: the
figures of a run this small mean nothing (they are saved as *-smoke.json, beside the real ones in
data/bench/results/)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import ROOT
from tests.helpers import cita_env

pytestmark = pytest.mark.slow


def run(script: str, *args: str) -> dict[str, str]:
    done = subprocess.run([sys.executable, f"bench/{script}.py", *args], cwd=ROOT, env=cita_env(),
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


def close(printed: str, expected: float) -> bool:
    """A printed figure (rounded to 4 decimals, or 1 above 10) equals one computed from others."""
    return number(printed) == pytest.approx(expected, rel=0.01, abs=1e-3)


def test_answer_latency_prints_the_ratio_against_the_bare_query():
    f = run("answer_latency", "--articles", "12", "--questions", "10")
    assert list(f)[-1] == "answer_p95_ratio"
    assert int(f["questions"]) == 10 and int(f["index_articles"]) == 12
    assert 12 <= int(f["index_chunks"]) <= int(f["index_sentences"])
    for who in ("baseline", "answer"):
        assert 0 < number(f[f"{who}_p50_ms"]) <= number(f[f"{who}_p95_ms"])
    # the ratios are the printed times' ratios (and not, say, the other way round)
    assert close(f["answer_p95_ratio"], number(f["answer_p95_ms"]) / number(f["baseline_p95_ms"]))
    assert close(f["answer_p50_ratio"], number(f["answer_p50_ms"]) / number(f["baseline_p50_ms"]))
    # the answer's parts fit in the answer (medians of parts of one whole)
    parts = sum(number(v) for k, v in f.items() if k.startswith("answer_") and k.endswith("_p50_ms")
                and k != "answer_p50_ms")
    assert 0 < parts <= number(f["answer_p95_ms"]) * 1.05
    assert 0 <= number(f["abstained_share"]) <= 1 and (number(f["abstained_share"]) * 10).is_integer()


def test_index_throughput_prints_both_builds_and_the_unchanged_rebuild():
    f = run("index_throughput", "--articles", "12", "--paragraphs", "4")
    assert list(f)[-1] == "unchanged_rebuild_embeddings"
    chunks, build_s = int(f["build_chunks"]), number(f["build_s"])
    assert 1 <= int(f["build_articles"]) <= chunks <= int(f["build_sentences"])
    assert close(f["build_chunks_per_s"], chunks / build_s)
    assert close(f["index_throughput_ratio"], number(f["build_chunks_per_s"]) / number(f["raw_chunks_per_s"]))
    assert close(f["sentence_mean_throughput_ratio"],
                 chunks / number(f["sentence_mean_build_s"]) / number(f["raw_chunks_per_s"]))
    assert number(f["unchanged_rebuild_embeddings"]) == 0 and f["unchanged_published_new_generation"] == "False"
    assert int(f["unchanged_command_embeddings"]) == 0
    assert close(f["news_share_of_build"], (number(f["news_dates_s"]) + number(f["news_grouping_s"])) / build_s)
    assert number(f["news_share_of_build"]) < 0.5
    assert int(f["news_regroup_articles"]) == int(f["unchanged_articles"]), "the regroup is of the whole corpus"
    # sentence-mean skips the chunk pass, and only that: at most one embedding fewer per chunk
    saved = int(f["build_embedded"]) - int(f["sentence_mean_build_embedded"])
    assert 0 < saved <= chunks, "no chunk pass"
    # adds: 5 articles to the larger and the smaller index
    assert int(f["add_small_index_chunks"]) < int(f["add_large_index_chunks"])
    # the target's ratio is of CPU time; the wall-time ratio is printed beside it
    assert close(f["add_overhead_ratio"], number(f["add_5_large_cpu_s"]) / number(f["add_5_small_cpu_s"]))
    assert close(f["add_overhead_wall_ratio"], number(f["add_5_large_s"]) / number(f["add_5_small_s"]))
    assert int(f["add_trials"]) == 3
    # the time in the model and the rest are parts of the add's time (medians of the same trials)
    assert 0 < number(f["add_5_overhead_s"]) <= number(f["add_5_large_s"])
    assert number(f["add_5_embed_s"]) <= number(f["add_5_large_s"])


def test_footprint_starts_the_bot_against_the_stand_in_and_runs_cita_ask():
    f = run("footprint", "--articles", "12", "--runs", "1")
    assert list(f)[-1] == "ask_ready_s" and int(f["runs"]) == 1
    assert 0 < number(f["bot_ready_s"]) < 120 and 0 < number(f["ask_ready_s"]) < 120
    # one run: start to first answer is the time to on_ready plus the time to the answer
    assert close(f["bot_start_to_first_answer_s"], number(f["bot_ready_s"]) + number(f["bot_first_answer_s"]))
    assert 0 < number(f["bot_rss_ready_mb"]) <= number(f["bot_peak_rss_mb"])
    assert 0 < number(f["bot_rss_mb"]) <= number(f["bot_peak_rss_mb"])
    assert "torch" not in f["bot_heavy_imports"] and "sentence_transformers" not in f["bot_heavy_imports"]


def test_vs_llamaindex_runs_both_pipelines_on_the_same_questions():
    f = run("vs_llamaindex", "--articles", "2", "--limit", "10")
    assert f["questions"] == "10"
    for who in ("cita", "llamaindex"):
        recall = number(f[f"{who}_recall_at_1"])
        assert 0 <= recall <= 1 and round(recall * 10, 3).is_integer(), "a share of 10 questions"
        assert 0 < number(f[f"{who}_p50_ms"]) <= number(f[f"{who}_p95_ms"])
        assert 0 < number(f[f"{who}_rss_mb"]) <= number(f[f"{who}_peak_rss_mb"])
        assert int(f[f"{who}_chunks"]) >= 1 and number(f[f"{who}_index_s"]) > 0
    assert number(f["llamaindex_recall_at_2"]) >= number(f["llamaindex_recall_at_1"])
    assert close(f["index_time_ratio"], number(f["cita_index_s"]) / number(f["llamaindex_index_s"]))
    assert close(f["rss_vs_llamaindex"], number(f["cita_rss_mb"]) / number(f["llamaindex_rss_mb"]))
    assert close(f["answer_p95_vs_llamaindex"], number(f["cita_p95_ms"]) / number(f["llamaindex_p95_ms"]))
    assert number(f["recall_at_1_gain"]) == pytest.approx(
        number(f["cita_recall_at_1"]) - number(f["llamaindex_recall_at_1"]), abs=1e-3)
