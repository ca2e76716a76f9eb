"""Answers as Discord messages, checked without Discord: limits, splitting, sources, paging."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from answer.answering import Answer, Citation
from bot.replies import (
    CONTENT_LIMIT, DESCRIPTION_LIMIT, EMBED_TOTAL_LIMIT, FEEDBACK_HINT, MARKER, Reply, answer_replies,
    answer_text_replies, embed_size, help_reply, reply_problems, source_line, sources_reply, split_text,
)

MEETING = ("En dicha conversación acordaron una reunión de Ministerial de Seguridad en Washington para el mes "
           "de febrero, con motivo del primer aniversario del inicio de la cooperación bilateral en temas de "
           "seguridad.")
DEMAND = ("Estados Unidos pidió a México resultados concretos y verificable de la lucha contra las redes de "
          "narcoterroristas y el fentanilo para llevar a cabo los próximos compromisos bilaterales, según informó "
          "la Oficina de Asuntos del Hemisferio Occidental.")


def citation(n: int, quote: str, *, title: str = "EU pide a México resultados concretos", source: str =
             "seeds/000_eu_pide_a_mexico_resultados_contra_fentanilo.txt", published: str = "2026-01-16") -> Citation:
    return Citation(n=n, article_id=f"a{n}", title=title, source=source, published=published, quote=quote,
                    start=0, end=len(quote), score=0.9)


def extractive(question: str, citations: list[Citation]) -> Answer:
    return Answer(question=question, answer=" ".join(f"“{c.quote}” [{c.n}]" for c in citations),
                  abstained=False, citations=citations)


def all_text(reps: list[Reply]) -> str:
    return "\n".join(r.content + "\n" + "\n".join(e.get("description", "") for e in r.embeds) for r in reps)


def descriptions(reps: list[Reply]) -> list[str]:
    return [e["description"] for r in reps for e in r.embeds if "description" in e]


# -- a normal answer ----------------------------------------------------------------------------

def test_an_answer_is_one_embed_with_the_question_quotes_sources_and_feedback_hint():
    answer = extractive("When is the security meeting?", [citation(1, MEETING), citation(1, DEMAND)])
    reps = answer_replies(answer)
    assert len(reps) == 1 and len(reps[0].embeds) == 1
    embed = reps[0].embeds[0]
    assert embed["title"] == "When is the security meeting?"
    assert embed["description"] == f"> {MEETING} [1]\n\n> {DEMAND} [1]"
    assert embed["fields"] == [{"name": "Sources", "inline": False, "value":
                                "**[1]** EU pide a México resultados concretos · 2026-01-16 · "
                                "`000_eu_pide_a_mexico_resultados_contra_fentanilo.txt`"}]
    assert embed["footer"]["text"] == FEEDBACK_HINT
    assert not reply_problems(reps[0])


def test_sources_are_listed_once_per_article_in_citation_order_with_links():
    answer = extractive("Q?", [citation(2, "Dos.", title="Second", source="https://example.com/b"),
                               citation(1, "Uno.", title="First [draft]", source="https://example.com/a?x=(1)"),
                               citation(2, "Otra.", title="Second", source="https://example.com/b")])
    value = answer_replies(answer)[0].embeds[0]["fields"][0]["value"]
    assert value.splitlines() == [
        "**[1]** [First \\[draft\\]](https://example.com/a?x=(1%29) · 2026-01-16",
        "**[2]** [Second](https://example.com/b) · 2026-01-16",
    ]


def test_a_source_without_date_or_with_a_url_in_plain_text():
    assert source_line(3, "T", "", "https://x.org/n") == "**[3]** [T](https://x.org/n)"
    assert source_line(3, "T", "", "https://x.org/n", markdown=False) == "**[3]** T · <https://x.org/n>"
    assert source_line(1, "", "2026-01-01", "") == "**[1]** \\(untitled\\) · 2026-01-01"


def test_an_abstention_has_no_sources_and_a_grey_colour():
    answer = Answer(question="What is the capital of Australia?", answer="The indexed articles don't say.",
                    abstained=True)
    embed = answer_replies(answer)[0].embeds[0]
    assert embed["description"] == "The indexed articles don't say."
    assert "fields" not in embed
    assert embed["color"] != answer_replies(extractive("Q?", [citation(1, MEETING)]))[0].embeds[0]["color"]


def test_not_stated_shows_the_reason_and_the_closest_quote_in_both_reply_forms():
    context = citation(1, MEETING)
    answer = Answer(question="When exactly is the meeting?", abstained=True, reason="not_stated",
                    answer=f"The articles discuss this but don't say when. “{MEETING}” [1]", citations=[context])
    for reps in (answer_replies(answer), answer_text_replies(answer)):
        text = all_text(reps)
        assert "don't say when" in text
        assert MEETING[:60] in text
        assert not any(reply_problems(r) for r in reps)


def test_a_written_answer_shows_its_text_then_the_verbatim_quotes_and_the_note():
    answer = Answer(question="When?", answer="The meeting is in February in Washington [1].", abstained=False,
                    citations=[citation(1, MEETING)], mode="llm", note="checked against the quotes")
    desc = answer_replies(answer)[0].embeds[0]["description"]
    assert desc == ("The meeting is in February in Washington [1].\n\n**Quoted from the articles**\n\n"
                    f"> {MEETING} [1]\n\n*checked against the quotes*")


def test_mentions_in_the_question_or_quotes_are_shown_as_they_are():
    # nothing is rewritten (quotes stay verbatim); the Discord layer sends allowed_mentions none
    answer = extractive("@everyone what happened? <@&123>", [citation(1, "Hola @everyone y <@42>.")])
    embed = answer_replies(answer)[0].embeds[0]
    assert embed["title"] == "@everyone what happened? <@&123>"
    assert "Hola @everyone y <@42>. [1]" in embed["description"]


# -- long answers -------------------------------------------------------------------------------

def long_sentence(i: int, words: int) -> str:
    return f"Frase {i}: " + " ".join(f"palabra{j}" for j in range(words)) + "."


def test_a_long_answer_is_split_between_quotes_and_every_message_is_within_limits():
    quotes = [long_sentence(i, 150) for i in range(12)]  # ~1,700 chars each
    answer = extractive("Everything?", [citation(i % 3 + 1, q) for i, q in enumerate(quotes)])
    reps = answer_replies(answer)
    for r in reps:
        assert not reply_problems(r), reply_problems(r)
    descs = descriptions(reps)
    assert len(descs) >= 5
    for q, c in zip(quotes, answer.citations):
        holders = [d for d in descs if q in d]
        assert len(holders) == 1, "each quote is whole in exactly one embed"
        assert f"> {q} [{c.n}]" in holders[0]
    # reading order is kept
    joined = "\n".join(descs)
    assert [joined.index(q) for q in quotes] == sorted(joined.index(q) for q in quotes)
    assert reps[0].embeds[0]["title"] == "Everything?"
    assert reps[-1].embeds[-1]["footer"]["text"] == FEEDBACK_HINT
    assert "fields" in reps[-1].embeds[-1]


def test_a_quote_longer_than_an_embed_is_cut_at_clause_boundaries_and_each_piece_keeps_its_number():
    clauses = [f"cláusula número {i} del acuerdo firmado por ambos gobiernos" for i in range(150)]
    quote = ", ".join(clauses) + "."
    assert 2 * DESCRIPTION_LIMIT < len(quote) < 3 * DESCRIPTION_LIMIT
    reps = answer_replies(extractive("Long?", [citation(4, quote)]))
    for r in reps:
        assert not reply_problems(r), reply_problems(r)
    descs = descriptions(reps)
    assert len(descs) == 3
    for d in descs:
        assert d.endswith("[4]") and d.startswith("> ")
    pieces = [d[2:-len(" … [4]")] for d in descs[:-1]] + [descs[-1][2:-len(" [4]")]]
    assert all(p.endswith("gobiernos,") for p in pieces[:-1]), "cut after a comma, not mid-word"
    assert " ".join(pieces) == quote


def test_plain_text_replies_stay_under_2000_characters_and_keep_quotes_whole():
    quotes = [long_sentence(i, 60) for i in range(5)]  # ~700 chars each
    answer = extractive("Plain?", [citation(1, q) for q in quotes])
    reps = answer_text_replies(answer)
    assert len(reps) >= 2
    for r in reps:
        assert not r.embeds and len(r.content) <= CONTENT_LIMIT
    for q in quotes:
        assert sum(q in r.content for r in reps) == 1
    assert reps[0].content.startswith("**Plain?**")
    assert reps[-1].content.endswith(f"-# {FEEDBACK_HINT}")
    assert "**Sources**\n**[1]** EU pide a México" in all_text(reps)


def test_many_sources_fill_several_fields_within_limits():
    cites = [citation(n, f"Cita {n}.", title=f"Artículo número {n} " + "x" * 150, source=f"https://e.com/{n}")
             for n in range(1, 41)]
    reps = answer_replies(extractive("Sources?", cites))
    for r in reps:
        assert not reply_problems(r), reply_problems(r)
    fields = [f for r in reps for e in r.embeds for f in e.get("fields", [])]
    assert len(fields) > 1
    listed = "\n".join(f["value"] for f in fields)
    assert [int(n) for n in re.findall(r"^\*\*\[(\d+)\]\*\*", listed, re.M)] == list(range(1, 41))


# -- split_text properties ----------------------------------------------------------------------

words = st.text(alphabet=st.characters(whitelist_categories=("L", "N")), min_size=1, max_size=12)
tokens = st.one_of(words, words.map(lambda w: w + "."), words.map(lambda w: w + ","),
                   st.integers(1, 9).map(lambda n: f"[{n}]"), st.just("\n\n"),
                   st.lists(words, min_size=1, max_size=8).map(lambda ws: "“" + " ".join(ws) + "”"))


@settings(max_examples=300, deadline=None)
@given(st.lists(tokens, min_size=1, max_size=120), st.integers(min_value=20, max_value=400))
def test_split_text_keeps_every_word_in_order_within_the_limit(parts, limit):
    text = " ".join(parts).strip()
    pieces = split_text(text, limit)
    assert all(0 < len(p) <= limit for p in pieces)
    assert "".join("".join(pieces).split()) == "".join(text.split())
    for prev, p in zip(pieces, pieces[1:]):
        # a marker stays with the text it cites; it starts a piece only when the previous piece
        # had no other place to break (every space in it stood before a marker)
        if MARKER.match(p):
            assert all(MARKER.match(prev, m.end()) for m in re.finditer(r"\s+", prev)), (prev, p)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(words, min_size=1, max_size=10), min_size=1, max_size=30),
       st.integers(min_value=1, max_value=5))
def test_split_text_never_cuts_a_quote_that_fits(quote_words, n):
    quotes = ["“" + " ".join(ws) + "”" for ws in quote_words]
    text = " ".join(f"{q} [{n}]" for q in quotes)
    limit = max(len(q) + 4 for q in quotes) + 10
    pieces = split_text(text, limit)
    for p in pieces:
        assert p.count("“") == p.count("”"), p
        assert not MARKER.match(p), "a piece never starts with a marker"


def test_split_prefers_paragraphs_then_sentences():
    text = "Uno dos tres. Cuatro cinco seis.\n\nSiete ocho nueve. Diez once doce."
    assert split_text(text, 40) == ["Uno dos tres. Cuatro cinco seis.", "Siete ocho nueve. Diez once doce."]
    assert split_text("Uno dos tres. Cuatro cinco seis siete.", 30) == ["Uno dos tres.", "Cuatro cinco seis siete."]
    assert split_text("Es así [1]. Y luego [2] otra cosa.", 16) == ["Es así [1].", "Y luego [2]", "otra cosa."]


# -- embed accounting ---------------------------------------------------------------------------

def test_embed_size_counts_what_discord_counts():
    e = {"title": "ab", "description": "cde", "fields": [{"name": "f", "value": "gh"}], "footer": {"text": "ij"},
         "author": {"name": "k"}, "color": 123, "url": "https://not.counted"}
    assert embed_size(e) == 11
    big = Reply(embeds=[{"description": "x" * 4000}, {"description": "y" * 2001}])
    assert any(str(EMBED_TOTAL_LIMIT) in p for p in reply_problems(big))


# -- /sources and /help -------------------------------------------------------------------------

def articles(n: int) -> list[dict]:
    return [{"id": f"id{i}", "title": f"Artículo {i:02d}", "published": f"2026-01-{i % 28 + 1:02d}",
             "source": f"https://news.example/{i}"} for i in range(n)]


def test_sources_are_paged_newest_first_and_the_page_is_clamped():
    first = sources_reply(articles(25), 1).embeds[0]
    assert first["footer"]["text"] == "Page 1 of 3 · 25 articles · /sources page:N shows another page"
    lines = first["description"].splitlines()
    assert len(lines) == 10
    assert lines[0] == "**[1]** [Artículo 24](https://news.example/24) · 2026-01-25"
    dates = [re.search(r"2026-01-\d\d", ln).group(0) for ln in lines]
    assert dates == sorted(dates, reverse=True)
    last = sources_reply(articles(25), 99).embeds[0]
    assert last["footer"]["text"].startswith("Page 3 of 3")
    assert len(last["description"].splitlines()) == 5
    assert last["description"].splitlines()[0].startswith("**[21]**")
    assert not reply_problems(sources_reply(articles(25), 2))


def test_sources_when_nothing_is_indexed():
    embed = sources_reply([], 1).embeds[0]
    assert embed["description"] == "No articles are indexed yet."
    assert embed["footer"]["text"] == "Page 1 of 1 · 0 articles"


def test_help_reflects_the_settings():
    text = help_reply(max_question_chars=300, answer_in_threads=True, answer_dms=False).embeds[0]["description"]
    assert "up to 300 characters" in text and "new thread" in text and "don't answer direct messages" in text
    text = help_reply(max_question_chars=500, answer_in_threads=False, answer_dms=True).embeds[0]["description"]
    assert "right in the channel" in text and "answer direct messages too" in text
