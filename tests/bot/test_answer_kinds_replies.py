"""The answer kinds of the news issues as Discord messages (bot/replies.py), within every limit:
the outlet on each source, "not stated" with the closest context quoted, and timelines in pages.
Plain logic; the end-to-end /timeline test runs against the stand-in."""

from __future__ import annotations

import pytest

from answer.answering import Answer, Citation
from answer.timeline import Timeline, TimelineEvent
from bot.replies import (
    CONTENT_LIMIT, answer_replies, answer_text_replies, reply_problems, timeline_page_count, timeline_replies)
from tests.bot.discord_standin import pings_nobody, text_of
from tests.conftest import ROOT

FIXTURE = ROOT / "tests" / "fixtures" / "news" / "articles"


def citation(n: int, **kw) -> Citation:
    base = dict(n=n, article_id=f"a{n}", title=f"Huelga portuaria {n}", source=f"https://diario{n}.example/huelga",
                published="2026-01-14", quote=f"Los estibadores levantaron la huelga el día {n}.", start=0, end=40,
                score=0.9, outlet=f"Diario {n}")
    base.update(kw)
    return Citation(**base)


def test_each_source_names_its_outlet_and_date():
    answer = Answer(question="¿Cuándo terminó la huelga?", answer="…", abstained=False,
                    citations=[citation(1), citation(2, outlet="")])
    [reply] = answer_replies(answer)
    sources = reply.embeds[0]["fields"][0]["value"]
    assert "**[1]** [Huelga portuaria 1](https://diario1.example/huelga) · Diario 1 · 2026-01-14" in sources
    assert "**[2]** [Huelga portuaria 2](https://diario2.example/huelga) · 2026-01-14" in sources
    text = "\n".join(r.content for r in answer_text_replies(answer))
    assert "**[1]** Huelga portuaria 1 · Diario 1 · 2026-01-14 · <https://diario1.example/huelga>" in text


def test_not_stated_shows_the_statement_then_the_closest_context_with_sources():
    from answer.answering import quoted

    c = citation(1, agency="EFE")
    # as answer/answering.py words it: the reason, then the closest quote inline
    answer = Answer(question="¿Cuántos contenedores quedaron retenidos?", abstained=True, reason="not_stated",
                    answer=f"Los artículos no dicen cuántos. {quoted(c.quote)} [1]", citations=[c])
    for reply in answer_replies(answer) + answer_text_replies(answer):
        assert not reply_problems(reply)
    embed = answer_replies(answer)[0].embeds[0]
    assert embed["description"].startswith("Los artículos no dicen cuántos.\n\n**Lo más cercano en los artículos**")
    assert embed["description"].count(c.quote) == 1, "the quote once, as a block quote with its number"
    assert "> Los estibadores levantaron la huelga el día 1. [1]" in embed["description"]
    assert embed["fields"][0]["name"] == "Sources" and "Diario 1 · (EFE) · 2026-01-14" in embed["fields"][0]["value"]
    plain = "\n".join(r.content for r in answer_text_replies(answer))
    assert "Lo más cercano en los artículos" in plain and "Sources" in plain


def test_an_abstention_without_context_has_no_sources():
    answer = Answer(question="Who won the 2022 World Cup?", answer="The indexed articles don't say.", abstained=True)
    embed = answer_replies(answer)[0].embeds[0]
    assert "fields" not in embed and embed["description"] == "The indexed articles don't say."


def events(n: int, quote_len: int = 200) -> list[TimelineEvent]:
    return [TimelineEvent(date=f"2026-01-{i + 1:02d}", n=i + 1, quote=("Evento %d: " % i) + "x" * quote_len,
                          article_id=f"a{i}", title=f"Artículo {i}", source=f"https://o{i}.example/a", outlet=f"o{i}",
                          published=f"2026-01-{i + 1:02d}", start=0, end=10, score=0.9,
                          also_reported_by=[{"outlet": f"copia{i}", "published": "2026-01-20",
                                             "source": f"https://c{i}.example/a"}])
            for i in range(n)]


def test_a_timeline_is_paged_dated_and_within_the_limits():
    timeline = Timeline(topic="huelga portuaria", events=events(14, quote_len=900))
    assert timeline_page_count(14) == 3
    first = timeline_replies(timeline, 1)
    embed = first[0].embeds[0]
    assert embed["title"] == "Timeline: huelga portuaria"
    assert embed["description"].startswith("**2026-01-01**\n> Evento 0: ")
    footer = [e for r in first for e in r.embeds if "footer" in e][0]["footer"]["text"]
    assert footer == "Page 1 of 3 · 14 events · /timeline page:N shows another page"
    last = timeline_replies(timeline, 99)  # clamped to the last page
    assert "Evento 13" in text_of({"embeds": [e for r in last for e in r.embeds]})
    for page in (1, 2, 3):
        for reply in timeline_replies(timeline, page) + timeline_replies(timeline, page, embeds=False):
            assert not reply_problems(reply), reply_problems(reply)
    plain = timeline_replies(timeline, 1, embeds=False)
    assert all(len(r.content) <= CONTENT_LIMIT for r in plain)
    assert "↳ also reported by: copia0 (2026-01-20) <https://c0.example/a>" in "\n".join(r.content for r in plain)


def test_a_timeline_with_nothing_dated_says_why():
    [reply] = timeline_replies(Timeline(topic="fútbol", abstained=True, message="The indexed articles don't say."))
    assert reply.embeds[0]["description"] == "The indexed articles don't say."


# -- end to end ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def news_index(tmp_path_factory, e5):
    from cita.app import make_answerer, make_builder
    from tests.conftest import make_settings

    data_dir = tmp_path_factory.mktemp("news-index")
    builder = make_builder(make_settings(data_dir), e5)
    builder.rebuild([FIXTURE])
    builder.close()
    return data_dir, make_answerer(make_settings(data_dir), e5)


@pytest.mark.slow
def test_slash_timeline_answers_with_dated_quoted_events(standin, start_bot, news_index):
    data_dir, answerer = news_index
    runner = start_bot(answerer=answerer, data_dir=data_dir)
    interaction = standin.slash("timeline", {"topic": "Valparaíso port strike"})
    ack = standin.wait_for(lambda r: r.path.endswith(f"/{interaction['token']}/callback"), what="the defer")
    assert ack.json["type"] == 5
    answer = standin.wait_for(lambda r: standin.is_interaction_reply(r, interaction["token"]), timeout=60,
                              what="the timeline")
    assert answer.method == "PATCH"
    embed = answer.json["embeds"][0]
    assert embed["title"] == "Timeline: Valparaíso port strike"
    assert embed["description"].index("**2026-01-14**") < embed["description"].index("**2026-01-20**")
    assert "also reported by" in text_of(answer.json)
    assert pings_nobody(answer.json) and not reply_problems_of(answer.json)
    runner.settle()
    assert standin.interaction_replies(interaction["token"]) == [answer], "one page, one message"


def reply_problems_of(payload: dict) -> list[str]:
    from bot.replies import Reply

    return reply_problems(Reply(content=payload.get("content") or "", embeds=payload.get("embeds") or []))
