"""`cita ask` and `cita eval` as a user runs them: real subprocesses on the seed index."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import SHARED
from tests.helpers import run_cita



def run(args, data_dir: Path, stdin: str | None = None, **env):
    return run_cita(*args, data_dir=data_dir, stdin=stdin, **env)


@pytest.mark.slow
def test_ask_prints_quotes_and_sources(seed_data_dir):
    out = run(["ask", "What did the US demand?"], seed_data_dir)
    assert out.returncode == 0, out.stderr
    assert "“Upcoming bilateral engagements with Mexico" in out.stdout
    assert "Sources:" in out.stdout
    assert "[1] EU pide a México" in out.stdout
    assert "Traceback" not in out.stderr


@pytest.mark.slow
def test_ask_json_one_object(seed_data_dir):
    out = run(["ask", "--json", "¿Qué pidió Estados Unidos?"], seed_data_dir)
    assert out.returncode == 0, out.stderr
    d = json.loads(out.stdout)
    assert d["question"] == "¿Qué pidió Estados Unidos?"
    assert d["abstained"] is False
    assert d["citations"] and all({"n", "article_id", "title", "source", "published", "quote", "start", "end",
                                   "score"} <= set(c) for c in d["citations"])
    assert set(d["timings_ms"]) >= {"embed", "retrieve", "total"}


@pytest.mark.slow
def test_ask_json_batch_reads_stdin_one_answer_per_line(seed_data_dir):
    questions = "What did the US demand?\nWho won the 2022 World Cup?\n\n   \n¿Cuándo es la reunión?\n"
    out = run(["ask", "--json"], seed_data_dir, stdin=questions)
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert [d["question"] for d in lines] == ["What did the US demand?", "Who won the 2022 World Cup?",
                                              "¿Cuándo es la reunión?"]
    assert [d["abstained"] for d in lines] == [False, True, False]


@pytest.mark.slow
def test_ask_bad_question_is_one_line_not_a_traceback(seed_data_dir):
    out = run(["ask", "x" * 10_000], seed_data_dir)
    assert out.returncode == 1
    assert out.stderr.strip().startswith("cita: That question is 10000 characters long")
    assert "Traceback" not in out.stderr


def test_ask_without_index_says_how_to_build_it(tmp_path):
    out = run(["ask", "What did the US demand?"], tmp_path / "empty")
    assert out.returncode == 1
    assert "cita index rebuild" in out.stderr
    assert "Traceback" not in out.stderr


def test_help_lists_every_command():
    out = run_cita("--help")
    for word in ("index", "ask", "eval", "bot"):
        assert word in out.stdout
    out = run_cita("index", "--help")
    for word in ("rebuild", "add", "remove", "status"):
        assert word in out.stdout


@pytest.mark.slow
def test_eval_xquad_json_on_a_small_slice(tmp_path):
    """Two XQuAD articles, both languages: the command runs end to end and reports every key."""
    small = tmp_path / "xquad"
    small.mkdir()
    for lang in ("es", "en"):
        data = json.loads((SHARED / "eval" / "xquad" / f"xquad.{lang}.json").read_text(encoding="utf-8"))
        data["data"] = [{**a, "paragraphs": a["paragraphs"][:2]} for a in data["data"][:2]]
        (small / f"xquad.{lang}.json").write_text(json.dumps(data), encoding="utf-8")
    out = run(["eval", "xquad", "--dir", str(small), "--limit", "12", "--json"], tmp_path / "data")
    assert out.returncode == 0, out.stderr
    d = json.loads(out.stdout)
    assert set(d) >= {"recall_at_1", "recall_at_5", "mrr", "answer_contains", "abstained", "non_verbatim",
                      "p50_ms", "p95_ms", "questions"}
    assert d["questions"] == 12
    assert d["non_verbatim"] == 0
    assert d["recall_at_5"] >= 0.9  # four paragraphs: the right one is always near the top
