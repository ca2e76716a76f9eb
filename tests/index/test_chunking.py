"""Chunks: exact character offsets, sentence offsets inside them, no text lost, stable ids."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from index.articles import load_file, make_article
from index.chunking import chunk_article, count_tokens

ROOT = Path(__file__).resolve().parents[2]
SEED = next((ROOT / "seeds").glob("*.txt"))


def seed_article():
    [article], _ = load_file(SEED, max_bytes=1_000_000, key="seeds/" + SEED.name)
    return article


def assert_exact(article, chunks):
    text = article.text
    for c in chunks:
        assert text[c.start:c.end] == c.text
        assert c.article_id == article.id
        assert c.sentences, "a chunk without sentences is useless to quote"
        for s, e in c.sentences:
            assert c.start <= s < e <= c.end
            assert text[s:e] == text[s:e].strip()


def assert_covers(article, chunks):
    """Every letter and digit of the article is inside a chunk and inside one of its sentences."""
    covered = set()
    for c in chunks:
        for s, e in c.sentences:
            covered.update(range(s, e))
    lost = [i for i, ch in enumerate(article.text) if ch.isalnum() and i not in covered]
    assert not lost, f"text lost at {lost[:5]}: {article.text[lost[0]:lost[0] + 40]!r}"


def test_seed_chunks_slice_back_to_the_exact_text():
    article = seed_article()
    chunks = chunk_article(article, chunk_tokens=256, overlap_tokens=48)
    assert len(chunks) >= 2
    assert_exact(article, chunks)
    assert_covers(article, chunks)
    demand = ("Estados Unidos pidió a México resultados concretos y verificable de la lucha contra las redes "
              "de narcoterroristas y el fentanilo para llevar a cabo los próximos compromisos bilaterales, "
              "según informó la Oficina de Asuntos del Hemisferio Occidental.")
    sentences = {article.text[s:e] for c in chunks for s, e in c.sentences}
    assert demand in sentences
    assert any(s.startswith("The United States made clear that incremental progress") for s in sentences)


def test_chunks_respect_the_size_and_overlap():
    article = seed_article()
    chunks = chunk_article(article, chunk_tokens=128, overlap_tokens=48)
    assert len(chunks) >= 4
    assert_exact(article, chunks)
    assert_covers(article, chunks)
    for c in chunks:
        assert len(count_tokens(c.text)) <= 128
    starts = [c.start for c in chunks]
    assert starts == sorted(starts)
    assert any(b.start < a.end for a, b in zip(chunks, chunks[1:])), "consecutive chunks overlap by whole sentences"


def test_chunk_ids_are_stable_and_follow_the_content():
    article = seed_article()
    first = chunk_article(article, chunk_tokens=128, overlap_tokens=24)
    again = chunk_article(article, chunk_tokens=128, overlap_tokens=24)
    assert [c.id for c in first] == [c.id for c in again]
    assert len({c.id for c in first}) == len(first)
    edited = make_article(key="seeds/" + SEED.name, title=article.title, source=article.source,
                          text=article.text.replace("Marco Rubio", "Marco Antonio Rubio"))
    changed = chunk_article(edited, chunk_tokens=128, overlap_tokens=24)
    unchanged_ids = {c.id for c in first} & {c.id for c in changed}
    assert unchanged_ids, "chunks before the edit keep their ids"
    assert len(unchanged_ids) < len(first), "the edited chunk gets a new id"


def test_a_sentence_longer_than_a_chunk_is_still_covered():
    words = " ".join(f"palabra{i}" for i in range(400))
    article = make_article(key="long", title="Largo", source="long.txt",
                           text=f"Titular\n\nEmpieza así {words} y termina aquí. Una frase corta después.")
    chunks = chunk_article(article, chunk_tokens=64, overlap_tokens=8)
    assert_exact(article, chunks)
    assert_covers(article, chunks)


_sentence = st.builds(
    lambda words, end: " ".join(words).capitalize() + end,
    st.lists(st.sampled_from(["México", "pidió", "resultados", "el", "de", "EE.", "UU.", "3.5", "«sí»",
                              "fentanilo", "Sr.", "the", "U.S.", "border", "1.500", "—", "“dijo”"]),
             min_size=1, max_size=30),
    st.sampled_from([".", "?", "!", "…", "", ".»", "."]))
_paragraph = st.lists(_sentence, min_size=1, max_size=8).map(" ".join)
_separator = st.sampled_from(["\n\n", "\n", "\n\n\n", " \n\n", "\r\n\r\n"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(_paragraph, _separator), min_size=1, max_size=12),
       st.sampled_from([(32, 8), (64, 16), (256, 48)]))
def test_any_article_chunks_exactly_and_loses_nothing(parts, size):
    text = "Titular de prueba\n\n" + "".join(p + sep for p, sep in parts)
    article = make_article(key="prop", title="", text=text, source="prop.txt")
    chunks = chunk_article(article, chunk_tokens=size[0], overlap_tokens=size[1])
    assert_exact(article, chunks)
    assert_covers(article, chunks)
    assert len({c.id for c in chunks}) == len(chunks)


def test_a_paragraph_repeated_later_gets_its_own_offsets():
    """A quote repeated at the end of an article is chunked where it stands, not at its first copy."""
    quote = ("«Los próximos compromisos bilaterales con México requerirán resultados concretos y "
             "verificables», escribió la Oficina en la red social X.")
    filler = " ".join(["El secretario viajará a Washington en febrero para la reunión ministerial."] * 12)
    text = f"Titular\n\n{quote}\n\n{filler}\n\n{quote}\n"
    article = make_article(key="rep", title="", text=text, source="rep.txt")
    chunks = chunk_article(article, chunk_tokens=64, overlap_tokens=8)
    assert_exact(article, chunks)
    assert_covers(article, chunks)
    assert chunks[-1].end == len(text.rstrip())
