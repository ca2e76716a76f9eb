"""News over time in Discord replies (bot/replies.py), without Discord: the heading with the dates,
"also reported by" with each copy's link, and sources that disagree, all within the limits."""

from __future__ import annotations

from answer.answering import Answer, Citation
from bot.replies import answer_replies, answer_text_replies, reply_problems

COPIES = [{"article_id": f"c{i}", "outlet": f"outlet{i}.example", "title": "Copia", "published": "2026-01-14",
           "source": f"https://outlet{i}.example/noticias/2026/01/14/huelga"} for i in range(3)]


def _answer(n_copies: int = 2) -> Answer:
    jan = Citation(n=1, article_id="a", title="Huelga en Valparaíso", source="https://diario.example/huelga",
                   published="2026-01-14", quote="Ambas partes volverán a reunirse el 23 de enero.", start=0, end=48,
                   score=0.9, outlet="diario.example", also_reported_by=COPIES[:n_copies])
    feb = Citation(n=2, article_id="b", title="Huelga", source="https://radio.example/huelga", published="2026-01-15",
                   quote="Ambas partes volverán a reunirse el 23 de febrero.", start=0, end=50, score=0.9,
                   outlet="radio.example")
    summary = ("Las fuentes no coinciden en la fecha: [1] diario.example, 14 de enero de 2026: 23 de enero de 2026; "
               "[2] radio.example, 15 de enero de 2026: 23 de febrero de 2026.")
    return Answer(question="¿Cuándo volverán a reunirse?", answer="...", abstained=False, citations=[jan, feb],
                  heading="De artículos que cubren 14 de enero de 2026.",
                  disagreements=[{"about": 1, "kind": "dates", "statements": [], "summary": summary}])


def test_the_heading_copies_and_disagreement_are_shown():
    [reply] = answer_replies(_answer())
    embed = reply.embeds[0]
    assert embed["description"].startswith("*De artículos que cubren 14 de enero de 2026.*")
    assert "⚠️ Las fuentes no coinciden en la fecha" in embed["description"]
    sources = "\n".join(f["value"] for f in embed["fields"] if f["name"].startswith("Sources"))
    assert "↳ also reported by: [outlet0.example](https://outlet0.example/noticias/2026/01/14/huelga) (2026-01-14)" \
        in sources
    assert sources.index("[1]") < sources.index("also reported by") < sources.index("[2]")
    assert reply_problems(reply) == []


def test_plain_text_replies_carry_the_copies_links_without_previews():
    text = "\n".join(r.content for r in answer_text_replies(_answer()))
    assert "↳ also reported by: outlet0.example (2026-01-14) <https://outlet0.example/noticias/2026/01/14/huelga>" in text


def test_many_copies_stay_within_the_limits():
    answer = _answer(0)
    answer.citations[0].also_reported_by = [dict(COPIES[0], outlet=f"outlet-{i}" * 5) for i in range(200)]
    for reply in answer_replies(answer) + answer_text_replies(answer):
        assert reply_problems(reply) == []


def _timeline(n: int, quote: str = "La huelga sigue en el puerto de Valparaíso."):
    from answer.timeline import Timeline, TimelineEvent

    events = [TimelineEvent(date=f"2026-01-{i % 28 + 1:02d}", n=i + 1, quote=quote, article_id=f"a{i}",
                            title=f"Artículo {i}", source=f"https://diario{i}.example/huelga", outlet=f"diario{i}",
                            published=f"2026-01-{i % 28 + 1:02d}", start=0, end=len(quote), score=0.9,
                            also_reported_by=COPIES[:1]) for i in range(n)]
    return Timeline(topic="huelga portuaria", events=events)


def test_a_timeline_pages_within_the_limits():
    from bot.replies import timeline_replies

    quote = "Una cita muy larga. " * 150
    timeline = _timeline(14, quote=quote)
    first = timeline_replies(timeline)
    embeds = [e for r in first for e in r.embeds]
    assert embeds[0]["title"] == "Timeline: huelga portuaria"
    assert embeds[-1]["footer"]["text"].startswith("Page 1 of 3 · 14 events")
    assert embeds[0]["description"].startswith("**2026-01-01**\n> ")
    described = "\n".join(e.get("description", "") for e in embeds)
    assert "[1]" in described and "[7]" not in described
    assert described.count(quote.strip()) == 6, "every quote whole (a quote is cut only if it exceeds a message)"
    assert all(reply_problems(r) == [] for r in first)
    last = timeline_replies(timeline, page=99)
    assert [e for r in last for e in r.embeds][-1]["footer"]["text"].startswith("Page 3 of 3")
    assert "[13]" in last[0].embeds[0]["description"] and all(reply_problems(r) == [] for r in last)


def test_an_empty_timeline_says_why():
    from answer.timeline import Timeline
    from bot.replies import timeline_replies

    [reply] = timeline_replies(Timeline(topic="x", abstained=True, message="The indexed articles don't say."))
    assert reply.embeds[0]["description"] == "The indexed articles don't say."
