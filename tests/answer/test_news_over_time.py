"""News over time on the fixture corpus (tests/fixtures/news): dated questions, "latest", wire
copies, disagreeing sources and timelines, through the real Answerer, model and Chroma, and
through `cita ask` / `cita index status` as processes."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from tests.conftest import ROOT, make_settings
from tests.helpers import run_cita

pytestmark = pytest.mark.slow
FIXTURE = ROOT / "tests" / "fixtures" / "news" / "articles"
# the outlets of the three copies of the EFE text (index/outlets.py: a .txt's masthead line, the
# page's site name, the feed's source)
EFE = ("Diario del Sur", "La Gaceta Austral", "Radio Cordillera")


@pytest.fixture(scope="module")
def news_dir(tmp_path_factory, e5) -> Path:
    from cita.app import make_builder

    data_dir = tmp_path_factory.mktemp("news-index")
    builder = make_builder(make_settings(data_dir), e5)
    builder.rebuild([FIXTURE])
    builder.close()
    return data_dir


@pytest.fixture(scope="module")
def news(news_dir, e5):
    from cita.app import make_answerer

    return make_answerer(make_settings(news_dir), e5)


def _exact(answer, articles_text):
    for c in answer.citations:
        assert articles_text[c.article_id][c.start:c.end] == c.quote


@pytest.fixture(scope="module")
def texts():
    from index.articles import load_paths

    articles, _ = load_paths([FIXTURE], max_bytes=5_000_000)
    return {a.id: a.text for a in articles}


def test_manifest_has_iso_dates_groups_and_mentions(news):
    manifest = news.library.check()
    by_source = {a["source"].rsplit("/", 1)[-1]: a for a in manifest["articles"]}
    assert by_source["ledger-rail-trial-ap.txt"]["published"] == "2026-02-05"
    assert by_source["madrid-lisbon-high-speed-link"]["published"] == ""
    efe = [a for name, a in by_source.items() if name in {"diario-del-sur-huelga-portuaria.txt",
                                                          "paro-puerto-valparaiso", "huelga-puerto-valparaiso"}]
    assert len({a["group"] for a in efe}) == 1
    assert ["2026-01-23", "2026-01-23"] in by_source["diario-del-sur-huelga-portuaria.txt"]["mentions"]


def test_a_question_about_last_tuesday_answers_from_that_day(news, texts):
    answer = news.ask("What happened with the Madrid–Lisbon test train last Tuesday?", today=dt.date(2026, 2, 12))
    assert not answer.abstained
    assert answer.window == {"first": "2026-02-10", "last": "2026-02-10", "phrase": "last tuesday"}
    assert "302 kilómetros por hora" in answer.citations[0].quote
    assert answer.citations[0].published == "2026-02-10"
    assert "10 February 2026" in answer.heading
    _exact(answer, texts)


def test_a_date_stated_in_the_question_is_today(news):
    answer = news.ask("Hoy es 12 de febrero de 2026. ¿Qué velocidad alcanzó el tren de pruebas el martes pasado?",
                      today=dt.date(2026, 12, 1))
    assert answer.today == "2026-02-12"
    assert "302" in answer.citations[0].quote


def test_a_month_without_a_year_takes_the_year_the_articles_cover(news):
    # asked in December 2026, "February" first reads as the coming one; the index covers the last
    answer = news.ask("¿Qué velocidad alcanzó el tren de pruebas en febrero?", today=dt.date(2026, 12, 1))
    assert answer.window["first"] == "2026-02-01" and not answer.abstained
    assert all(c.published.startswith("2026-02") for c in answer.citations)


def test_a_window_no_article_covers_says_so_with_the_newest_date(news):
    answer = news.ask("What happened with the Madrid–Lisbon train between 2 and 8 March?", today=dt.date(2026, 3, 20))
    assert answer.abstained
    assert answer.answer == "No indexed article covers 2–8 March 2026; the newest is from 10 February 2026."
    spanish = news.ask("¿Qué pasó con el tren Madrid-Lisboa la semana pasada?", today=dt.date(2026, 3, 20))
    assert spanish.answer == ("Ningún artículo indexado cubre 9–15 de marzo de 2026; "
                              "el más reciente es del 10 de febrero de 2026.")


def test_an_off_topic_dated_question_is_still_not_in_the_articles(news):
    answer = news.ask("Who won the football match yesterday?", today=dt.date(2026, 3, 20))
    assert answer.abstained and answer.answer == "The indexed articles don't say."


def test_latest_answers_from_the_newest_relevant_article_and_says_its_date(news, texts):
    for question in ("What is the latest on the Valparaíso port strike?", "¿Cómo va la huelga del puerto de Valparaíso?"):
        answer = news.ask(question, today=dt.date(2026, 1, 28))
        assert answer.latest
        assert {c.published for c in answer.citations} == {"2026-01-20"}, question
        assert "end a six-day strike" in answer.citations[0].quote
        assert "20 January 2026" in answer.heading or "20 de enero de 2026" in answer.heading
        _exact(answer, texts)


def test_nothing_published_after_the_day_asked_is_used(news):
    answer = news.ask("What is the latest on the Madrid Lisbon train?", today=dt.date(2026, 2, 6))
    assert answer.citations and max(c.published for c in answer.citations) <= "2026-02-06"
    assert "2026" in answer.heading and "10 February" not in answer.heading


def test_wire_copies_take_one_quote_with_the_other_outlets_and_links(news, texts):
    answer = news.ask("¿Qué recargo por turnos nocturnos exigen los portuarios de Valparaíso?")
    assert "recargo del 35 %" in answer.citations[0].quote
    groups = news.library.view().articles
    cited_groups = [groups[c.article_id]["group"] for c in answer.citations]
    # never two quote slots from copies of one text (two quotes of one article are one source)
    assert len({(g, c.article_id) for g, c in zip(cited_groups, answer.citations)}) == len(set(cited_groups))
    also = answer.citations[0].also_reported_by
    assert len(also) == 2
    assert {x["outlet"] for x in also} | {answer.citations[0].outlet} == set(EFE)
    assert all(x["source"] for x in also)  # each copy's link
    _exact(answer, texts)


def test_sources_that_disagree_on_a_date_are_both_shown(news, texts):
    answer = news.ask("¿Cuándo volverán a reunirse los portuarios y la empresa con la mediación de la Dirección del Trabajo?")
    assert len(answer.disagreements) == 1
    d = answer.disagreements[0]
    assert d["kind"] == "dates"
    said = {st["values"]["dates"] for st in d["statements"]}
    assert said == {"23 de enero de 2026", "23 de febrero de 2026"}
    assert all(st["outlet"] and st["published"] for st in d["statements"])
    assert "no coinciden" in d["summary"]
    quotes = " ".join(c.quote for c in answer.citations)
    assert "23 de enero" in quotes and "23 de febrero" in quotes
    # the copy that differs is not listed as reporting the same thing
    for c in answer.citations:
        if "23 de enero" in c.quote:
            assert "Radio Cordillera" not in {x["outlet"] for x in c.also_reported_by}
    _exact(answer, texts)


def test_two_different_events_are_not_a_disagreement(news):
    answer = news.ask("How fast did the first test train on the Madrid–Lisbon line go?")
    assert answer.disagreements == []


def test_timeline_lists_one_dated_cited_quote_per_event_in_date_order(news, texts):
    from answer.timeline import build_timeline, render_timeline

    timeline = build_timeline(news, "tren de alta velocidad Madrid Lisboa")
    dates = [e.date for e in timeline.events]
    assert dates == sorted(dates)
    assert dates == ["2026-02-03", "2026-02-10"]  # the first run (reported twice, in two languages), the second
    assert "The Southern Ledger" in {x["outlet"] for x in timeline.events[0].also_reported_by}
    for e in timeline.events:
        assert texts[e.article_id][e.start:e.end] == e.quote
    strike = build_timeline(news, "Valparaíso port strike")
    assert [e.date for e in strike.events] == ["2026-01-14", "2026-01-20"]  # dated by the first copy
    for e in strike.events:
        assert texts[e.article_id][e.start:e.end] == e.quote
        assert e.published == e.date
    text = render_timeline(strike)
    assert text.startswith("Timeline: Valparaíso port strike")
    assert "14 January 2026 — “" in text and "[1]" in text and "also reported by:" in text
    json.dumps(strike.as_dict())


def _cita(args, data_dir):
    return run_cita(*args, data_dir=data_dir)


def test_cli_today_timeline_and_status(news_dir):
    out = _cita(["ask", "--json", "--today", "2026-02-12",
                 "What happened with the Madrid–Lisbon test train last Tuesday?"], news_dir)
    assert out.returncode == 0, out.stderr
    d = json.loads(out.stdout)
    assert d["today"] == "2026-02-12" and d["window"]["first"] == "2026-02-10"
    assert all(c["published"] for c in d["citations"])
    out = _cita(["ask", "--timeline", "--json", "Valparaíso port strike"], news_dir)
    assert out.returncode == 0, out.stderr
    assert [e["date"] for e in json.loads(out.stdout)["events"]] == ["2026-01-14", "2026-01-20"]
    out = _cita(["ask", "--today", "18/01/2026", "What happened?"], news_dir)
    assert out.returncode == 2 and "--today" in out.stderr and "Traceback" not in out.stderr
    out = _cita(["index", "status", "--json"], news_dir)
    status = json.loads(out.stdout)
    assert status["dates"] == {"first": "2026-01-14", "last": "2026-02-10", "undated": 1, "copy_groups": 1,
                               "copies": 3}
    out = _cita(["index", "status"], news_dir)
    assert "dates: 2026-01-14 to 2026-02-10 (1 undated)" in out.stdout
