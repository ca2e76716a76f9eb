"""The news evaluation sets (dev and held-out) and the news test fixture stay valid (eval/news/check_questions.py)."""

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _checker():
    spec = importlib.util.spec_from_file_location("check_questions", ROOT / "eval/news/check_questions.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("folder", ["tests/fixtures/news", "eval/news", "eval/news-holdout"])
def test_questions_are_answered_by_their_sources_as_cita_loads_them(folder, capsys):
    if not (ROOT / folder / "questions.jsonl").exists():
        pytest.skip(f"{folder} has no questions yet")
    status = _checker().check(ROOT / folder, use_loader=True)
    out = capsys.readouterr().out
    assert status == 0, out
    assert "PROBLEM" not in out
