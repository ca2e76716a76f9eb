"""Sources that disagree (answer/disagreements.py), the pure parts: the facts a sentence states,
when two sentences state the same fact, and the numbering after an LLM rewrote the answer."""

from __future__ import annotations

from answer.answering import Answer, Citation
from answer.disagreements import facts, renumber_disagreements, same_statement


def test_facts_are_days_and_figures_compared_across_languages_and_separators():
    jan_es = facts("Ambas partes volverán a reunirse el 23 de enero.", "2026-01-14")
    jan_en = facts("Both sides will meet again on January 23.", "2026-01-14")
    feb_es = facts("Ambas partes volverán a reunirse el 23 de febrero.", "2026-01-15")
    assert jan_es[0] == jan_en[0] == frozenset({"2026-01-23"}) != feb_es[0]
    assert facts("Unos 1.400 trabajadores y un 35 % más", "")[1] == facts("About 1,400 workers, 35 percent", "")[1]
    assert facts("En 2026 habrá elecciones.", "")[1] == frozenset()  # a year alone is not a figure


def test_a_statement_is_the_same_with_most_of_its_words_and_close_in_time():
    a = "Ambas partes volverán a reunirse el 23 de enero con la mediación de la Dirección del Trabajo."
    b = "Ambas partes volverán a reunirse el 23 de febrero con la mediación de la Dirección del Trabajo."
    day14, day15, later = {"published": "2026-01-14"}, {"published": "2026-01-15"}, {"published": "2026-02-20"}
    assert same_statement(a, b, 0.97, day14, day15)
    assert not same_statement(a, b, 0.97, day14, later)  # a month later: an update, not a disagreement
    other = "El segundo tren de pruebas alcanzó este martes los 302 kilómetros por hora entre Évora y Elvas."
    first = "El primer tren de pruebas de la alta velocidad Madrid-Lisboa alcanza los 280 kilómetros por hora"
    assert not same_statement(first, other, 0.96, day14, day15)


def test_after_an_llm_the_differing_statements_are_cited_with_its_numbers():
    llm_cite = Citation(n=1, article_id="b", title="T", source="s", published="2026-01-14",
                        quote="Ambas partes volverán a reunirse el 23 de enero.", start=10, end=58, score=0.9)
    statements = [
        {"n": 1, "quote": llm_cite.quote, "outlet": "diario", "published": "2026-01-14", "source": "s",
         "article_id": "b", "start": 10, "end": 58, "title": "T", "values": {"dates": "23 January 2026"}},
        {"n": 2, "quote": "Ambas partes volverán a reunirse el 23 de febrero.", "outlet": "radio",
         "published": "2026-01-15", "source": "https://radio.example/x", "article_id": "c", "start": 0, "end": 50,
         "title": "R", "values": {"dates": "23 February 2026"}}]
    answer = Answer(question="q", answer="They meet on 23 January [1].", abstained=False, citations=[llm_cite],
                    mode="llm", disagreements=[{"about": 1, "kind": "dates", "statements": statements,
                                                "summary": "old"}])
    renumber_disagreements(answer)
    assert [(c.n, c.article_id) for c in answer.citations] == [(1, "b"), (2, "c")]
    assert answer.citations[1].quote == statements[1]["quote"]
    assert answer.disagreements[0]["summary"] == ("The sources differ on the date: [1] diario, 14 January 2026: "
                                                  "23 January 2026; [2] radio, 15 January 2026: 23 February 2026.")
