"""Answers on news (tests/fixtures/news, real model): each kind of question, outlets in
citations and in questions, "not stated" in the terminal and in JSON, boilerplate never quoted,
and `cita eval news` on the fixture."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from answer.answering import NOT_IN_ARTICLES
from answer.render import attribution, render_terminal
from tests.conftest import make_settings

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "news"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def news_answerer(tmp_path_factory, e5):
    from cita.app import make_answerer, make_builder

    data_dir = tmp_path_factory.mktemp("news-index")
    builder = make_builder(make_settings(data_dir), e5)
    builder.rebuild([FIXTURE / "articles"])
    builder.close()
    return make_answerer(make_settings(data_dir), e5)


@pytest.fixture(scope="module")
def texts():
    from index.articles import load_paths

    articles, _ = load_paths([FIXTURE / "articles"], max_bytes=5_000_000)
    return {a.id: a for a in articles}


def check_quotes(answer, texts):
    """Every quote is an exact slice of its article and outside the article's furniture."""
    for c in answer.citations:
        article = texts[c.article_id]
        assert article.text[c.start:c.end] == c.quote
        assert not any(s < c.end and c.start < e for s, e in article.boilerplate), c.quote


@pytest.mark.parametrize("question, expected", [
    ("How long will the trip between Madrid and Lisbon take once the whole line is open?", "about three hours"),
    ("¿Cuántos operadores de grúa más contratará Terminal Pacífico Sur?", "60 additional crane operators"),
    ("How fast did the first test train on the Madrid–Lisbon line go?", "280 k"),
    ("¿Qué recargo por turnos nocturnos exigen los portuarios de Valparaíso?", "recargo del 35 %"),
])
def test_single_and_multi_source_facts(news_answerer, texts, question, expected):
    answer = news_answerer.ask(question)
    assert not answer.abstained
    check_quotes(answer, texts)
    assert any(expected in c.quote for c in answer.citations), [c.quote for c in answer.citations]


def test_who_said_names_the_speaker(news_answerer, texts):
    answer = news_answerer.ask('Who said "This is a milestone for Iberian rail"?')
    assert not answer.abstained
    check_quotes(answer, texts)
    assert "Mark Ellison" in answer.citations[0].quote


def test_a_question_naming_an_outlet_quotes_that_outlet(news_answerer, texts):
    answer = news_answerer.ask("Según Crónica Atlántica, ¿quién dijo que se había cumplido el objetivo técnico "
                               "de las pruebas?")
    assert not answer.abstained, (answer.reason, answer.answer)
    check_quotes(answer, texts)
    first = answer.citations[0]
    assert first.outlet == "Crónica Atlántica"
    assert "Inês Carvalho" in first.quote
    assert attribution(first) == "Crónica Atlántica, Marta Quiroga, 10 Feb 2026"


def test_citations_carry_outlet_and_agency(news_answerer):
    answer = news_answerer.ask("¿Qué recargo por turnos nocturnos exigen los portuarios de Valparaíso?")
    c = answer.citations[0]
    assert c.agency == "EFE"
    assert c.outlet in {"Diario del Sur", "La Gaceta Austral", "Radio Cordillera"}
    assert attribution(c).startswith(f"{c.outlet} (EFE)")
    assert f"— {attribution(c)}" in render_terminal(answer)


@pytest.mark.parametrize("question, reason", [
    ("How many containers were stranded in Valparaíso by the strike?", "how many containers"),
    ("¿Cuánto costará la línea de alta velocidad entre Madrid y Lisboa?", "cuánto cuesta"),
])
def test_on_topic_but_not_stated_is_an_abstention_with_context(news_answerer, texts, question, reason):
    answer = news_answerer.ask(question)
    assert answer.abstained and answer.reason == "not_stated"
    assert reason in answer.answer
    assert len(answer.citations) == 1  # the closest quote, as context
    check_quotes(answer, texts)
    shown = render_terminal(answer)
    assert shown.splitlines()[0].startswith(answer.answer[:30])
    assert "Closest:" in shown or "Lo más cercano:" in shown
    assert answer.citations[0].quote[:40] in shown.replace("\n", " ").replace("    ", "")
    d = answer.as_dict()
    assert d["abstained"] is True and d["reason"] == "not_stated"
    assert d["citations"][0]["quote"] == answer.citations[0].quote


def test_off_topic_keeps_the_short_reply(news_answerer):
    answer = news_answerer.ask("Who won the 2022 football World Cup?")
    assert answer.abstained and answer.reason == "off_topic"
    assert answer.answer == NOT_IN_ARTICLES and answer.citations == []
    assert render_terminal(answer) == NOT_IN_ARTICLES


def test_no_question_of_the_fixture_quotes_boilerplate(news_answerer, texts):
    for line in (FIXTURE / "questions.jsonl").read_text(encoding="utf-8").splitlines():
        answer = news_answerer.ask(json.loads(line)["q"])
        check_quotes(answer, texts)


def test_cita_eval_news_on_the_fixture(tmp_path, e5, monkeypatch):
    from cita import app
    from cita.evaluation import run_news

    monkeypatch.setattr(app, "make_embedder", lambda settings: e5)
    result = run_news(make_settings(tmp_path / "data"), directory=FIXTURE)
    assert {"by_kind", "overall", "non_verbatim", "questions", "p50_ms", "p95_ms"} <= set(result)
    assert set(result["by_kind"]) == {"single", "multi", "date", "latest", "who_said", "abstain", "offtopic"}
    assert result["non_verbatim"] == 0 and result["boilerplate"] == 0
    assert result["by_kind"]["offtopic"]["rate"] == 1.0
    assert result["overall"] >= 0.6
    assert len(result["questions"]) == 12


def test_reading_answer_types_only_near_the_top_answers_as_reading_them_all(news_answerer, monkeypatch):
    """ranking.candidates reads a sentence's answer type only within _TYPED_REACH of the best
    score (or near the best semantic score): every fixture question, and its answer-type and
    "not stated" checks, get the same answer as when every sentence's type is read."""
    from answer import ranking

    asked = [json.loads(line)["q"] for line in (FIXTURE / "questions.jsonl").read_text(encoding="utf-8").splitlines()
             if line.strip()]
    asked += list(json.loads((FIXTURE / "abstain_checks.json").read_text(encoding="utf-8")))  # "not stated" ones

    def answers():
        out = []
        for q in asked:
            a = news_answerer.ask(q, use_llm=False)
            out.append((a.answer, a.abstained, a.reason, [(c.article_id, c.start, c.end) for c in a.citations]))
        return out

    near_top = answers()
    monkeypatch.setattr(ranking, "_TYPED_REACH", float("inf"))
    assert answers() == near_top
    assert any(reason == "not_stated" for _, _, reason, _ in near_top), "the abstention path is compared too"
