"""Answering over the real seed index with the real bundled model (slow: quotes, citations, abstention)
or with the HashEmbedder (what does not depend on the model)."""

from __future__ import annotations

import numpy as np
import pytest

from answer.answering import NOT_IN_ARTICLES, QuestionError, clean_question
from index.retrieval import ChunkRow, Passage, diversify
from tests.conftest import SEEDS

SEED_FILE = next(SEEDS.glob("*.txt"))
SEED_TEXT = SEED_FILE.read_text(encoding="utf-8")


def assert_verbatim(answer):
    for c in answer.citations:
        assert SEED_TEXT[c.start:c.end] == c.quote


@pytest.mark.slow
def test_english_question_quotes_the_us_demand_in_english(seed_answerer):
    answer = seed_answerer.ask("What did the US demand?")
    assert not answer.abstained
    assert_verbatim(answer)
    quotes = [c.quote for c in answer.citations]
    # the article carries the US statement in its English original: it is preferred
    assert quotes[0].startswith("Upcoming bilateral engagements with Mexico will require concrete, verifiable outcomes")
    assert answer.citations[0].n == 1
    assert answer.citations[0].title.startswith("EU pide a México resultados concretos")
    assert answer.citations[0].source == f"seeds/{SEED_FILE.name}"
    assert "[1]" in answer.answer


@pytest.mark.slow
def test_spanish_question_quotes_the_spanish_sentence(seed_answerer):
    answer = seed_answerer.ask("¿Qué pidió Estados Unidos a México?")
    assert not answer.abstained
    assert_verbatim(answer)
    assert "resultados concretos" in answer.citations[0].quote


@pytest.mark.slow
@pytest.mark.parametrize("question, expected", [
    ("When is the security meeting?", "febrero"),
    ("Where will the security meeting take place?", "Washington"),
    ("Who spoke on the phone?", "Marco Rubio"),
    ("¿Cuándo será la reunión ministerial de seguridad?", "febrero"),
])
def test_questions_find_the_sentence_that_answers(seed_answerer, question, expected):
    answer = seed_answerer.ask(question)
    assert not answer.abstained
    assert_verbatim(answer)
    assert any(expected in c.quote for c in answer.citations), [c.quote for c in answer.citations]


@pytest.mark.slow
@pytest.mark.parametrize("question", [
    "Who won the 2022 World Cup?",
    "¿Quién ganó el mundial de 2022?",
    "When was the Eiffel Tower built?",
    "What is the boiling point of mercury?",
    "What is the weather tomorrow?",
])
def test_off_topic_questions_are_abstained(seed_answerer, question):
    answer = seed_answerer.ask(question)
    assert answer.abstained
    assert answer.answer == NOT_IN_ARTICLES
    assert answer.citations == []


@pytest.mark.slow
def test_follow_up_uses_the_earlier_turn(seed_answerer):
    answer = seed_answerer.ask("and where will it be held?", context=["When is the security meeting?"])
    assert not answer.abstained
    assert any("Washington" in c.quote for c in answer.citations)


def test_answer_json_shape(hash_seed_answerer):
    d = hash_seed_answerer.ask("What will the United States require from Mexico?").as_dict()
    assert d["citations"], "the question shares the article's words: quoted even by the hash embedder"
    assert {"question", "answer", "abstained", "citations", "timings_ms"} <= set(d)
    for c in d["citations"]:
        assert set(c) == {"n", "article_id", "title", "source", "published", "quote", "start", "end", "score",
                          "outlet", "also_reported_by", "author", "agency"}
    assert d["reason"] == ""
    assert d["timings_ms"]["total"] > 0


@pytest.mark.parametrize("bad", ["", "   \n\t ", "?!", "\x00\x01\x02", "a" * 501])
def test_bad_questions_are_refused_with_a_message(hash_seed_answerer, bad):
    with pytest.raises(QuestionError) as e:
        hash_seed_answerer.ask(bad)
    assert len(str(e.value)) < 120


def test_clean_question_normalises_whitespace_and_controls():
    # zero-width and control characters are dropped, runs of whitespace become one space
    assert clean_question("  What\u200b did\n the US\x07 demand? ", max_chars=500) == "What did the US demand?"


def _passage(article, start, end, text, score):
    row = ChunkRow(f"{article}:{start}", article, start, end, text, [(start, end)], "es")
    return Passage(row, score, score, 0.0)


def test_diversify_keeps_a_second_source_over_near_copies():
    copy = "El gobierno anunció hoy un plan de seguridad con nuevas medidas en la frontera norte del país."
    other = "La oposición criticó el plan y pidió más detalles sobre el presupuesto asignado."
    ranked = [_passage("a", 0, 90, copy, 0.9), _passage("b", 0, 90, copy, 0.89),
              _passage("c", 0, 90, copy + " ", 0.88), _passage("d", 0, 80, other, 0.5)]
    chosen = diversify(ranked, 3)
    assert [p.chunk.article_id for p in chosen] == ["a", "d"]


def test_diversify_skips_overlapping_chunks_of_one_article():
    text = "x " * 50
    ranked = [_passage("a", 0, 100, text, 0.9), _passage("a", 20, 120, "y " * 50, 0.8),
              _passage("a", 200, 300, "z " * 50, 0.7)]
    assert [p.chunk.start for p in diversify(ranked, 3)] == [0, 200]


def _diversify_by_definition(passages, k, groups):
    """diversify as its docstring states it, comparing each passage with every chosen one."""
    from index.retrieval import _shingles

    chosen = []
    for p in passages:
        if len(chosen) >= k:
            break
        c = p.chunk
        group = groups.get(c.article_id, c.article_id)
        if any(q.chunk.article_id != c.article_id and groups.get(q.chunk.article_id, q.chunk.article_id) == group
               for q in chosen):
            continue
        if any(q.chunk.article_id == c.article_id and min(q.chunk.end, c.end) - max(q.chunk.start, c.start)
               > 0.5 * (c.end - c.start) for q in chosen):
            continue
        sh = _shingles(c.text)
        if any(len(sh & (other := _shingles(q.chunk.text))) > 0.7 * min(len(sh), len(other)) for q in chosen):
            continue
        chosen.append(p)
    return chosen


def test_diversify_chooses_what_its_definition_chooses_on_random_pools():
    import random

    rng = random.Random(7)
    vocabulary = "el la plan puerto huelga grúas turnos sindicato empresa acuerdo mediación enero".split()
    for trial in range(300):
        texts = [" ".join(rng.choice(vocabulary) for _ in range(rng.randint(2, 30))) for _ in range(6)]
        pool = []
        for i in range(rng.randint(1, 30)):
            text = rng.choice(texts)
            if rng.random() < 0.5:  # a copy with a few words changed
                words = text.split()
                for _ in range(rng.randint(1, 4)):
                    words[rng.randrange(len(words))] = rng.choice(vocabulary)
                text = " ".join(words)
            start = rng.randrange(0, 300, 20)
            pool.append(_passage(rng.choice("abcdefgh"), start, start + rng.randint(20, 120), text, 1 - i / 100))
        groups = {a: rng.choice(["g1", "g2", a]) for a in "abcdefgh"}
        k = rng.randint(1, 20)
        assert diversify(pool, k, groups) == _diversify_by_definition(pool, k, groups), trial


@pytest.mark.slow
def test_query_vector_for_a_follow_up_leans_on_the_context(e5):
    from index.retrieval import query_vector

    plain = query_vector(e5, "and where?")
    with_context = query_vector(e5, "and where?", ["When is the security meeting?"])
    assert abs(float(np.linalg.norm(with_context)) - 1.0) < 1e-5
    assert float(plain @ with_context) < 0.999


def _candidate(article, start, score, vector):
    from answer.ranking import Candidate

    p = _passage(article, start, start + 40, "x" * 40, 1.0)
    p.sentence_vectors[(start, start + 40)] = np.asarray(vector, dtype=np.float32)
    return Candidate(p, (start, start + 40), (start, start + 40), f"sentence {article}{start}", score, False)


def test_a_third_source_is_quoted_when_it_comes_as_close_as_the_second():
    from answer.ranking import THIRD_QUOTE_MARGIN, choose

    e = np.eye(4)
    close = [_candidate("a", 0, 1.00, e[0]), _candidate("b", 0, 0.95, e[1]),
             _candidate("c", 0, 0.95 - THIRD_QUOTE_MARGIN / 2, e[2])]
    assert [c.passage.chunk.article_id for c in choose("¿Qué pasó?", close)] == ["a", "b", "c"]
    far = close[:2] + [_candidate("c", 0, 0.95 - 2 * THIRD_QUOTE_MARGIN, e[2])]
    assert [c.passage.chunk.article_id for c in choose("¿Qué pasó?", far)] == ["a", "b"]
    # a third sentence of an article already quoted, or a copy of a quoted sentence, is not added
    same = close[:2] + [_candidate("a", 100, 0.94, e[2]), _candidate("d", 0, 0.94, e[1])]
    assert [c.passage.chunk.article_id for c in choose("¿Qué pasó?", same)] == ["a", "b"]


def _sentences_passage(article, sentences, language="es"):
    text = " ".join(sentences)
    spans, start = [], 0
    for s in sentences:
        spans.append((start, start + len(s)))
        start += len(s) + 1
    row = ChunkRow(f"{article}:0", article, 0, len(text), text, spans, language)
    p = Passage(row, 1.0, 1.0, 0.0)
    for span in spans:
        p.sentence_scores[span] = 0.8
        p.sentence_vectors[span] = np.ones(4, dtype=np.float32) / 2
    return p


@pytest.mark.parametrize("question, sentence, typed", [
    # a same-language sentence must name one of the question's rare names (or its title must)
    ("¿Cuántas hectáreas quemó el incendio de Yumbel?", "El incendio de Quillón quemó 5.000 hectáreas.", False),
    ("¿Cuántas hectáreas quemó el incendio de Yumbel?", "En Yumbel, las llamas consumieron 300 hectáreas.", True),
    # one of them is enough
    ("¿En qué año regresó Iqbal a Lahore?", "Regresó a Lahore en 1908.", True),
])
def test_a_typed_sentence_names_what_the_question_names(question, sentence, typed):
    from answer.question import analyse
    from answer.ranking import candidates

    ranked = candidates(question, analyse(question), [_sentences_passage("a", [sentence])],
                        {"a": {"title": "Incendios"}}, idf=lambda w: 3.0)
    assert [c.typed for c in ranked] == [typed]
