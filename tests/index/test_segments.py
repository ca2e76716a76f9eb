"""Segments: an add writes only the new articles (one small segment) and leaves the old segments'
files untouched; readers see the live rows of every segment and never a removed article or an
older version; a merge copies the live rows into one segment, changing nothing readers see."""

from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

import index.build as build_module
from index.build import BuildConfig, Builder
from index.lexical import ChunkTable, table_dir
from index.retrieval import Library, retrieve
from index.store import LocalStore, segments_of

from .conftest import article_text, kept_dirs, live_rows, write_articles



def builder_for(data_dir: Path, hash_embedder) -> Builder:
    return Builder(LocalStore(data_dir), hash_embedder, BuildConfig())


def files_digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and "readers" not in p.parts}


def rows_seen(data_dir: Path) -> Counter:
    _, manifest, chunks, sentences = live_rows(LocalStore(data_dir))
    return Counter([("c", i, d) for i, d in zip(chunks["ids"], chunks["documents"])]
                   + [("s", i, None) for i in sentences["ids"]])


def top_text(library: Library, hash_embedder, question: str) -> str:
    with library.reading() as view:
        passages = retrieve(view, hash_embedder.query(question), question, k=1)
        return passages[0].chunk.text if passages else ""


def test_an_add_writes_one_small_segment_and_leaves_the_old_ones_untouched(hash_warm_data_dir, hash_embedder, tmp_path):
    corpus = tmp_path / "articles"
    write_articles(corpus, 6)
    builder = builder_for(hash_warm_data_dir, hash_embedder)
    library = Library(LocalStore(hash_warm_data_dir), hash_embedder, check_every=0)
    try:
        first = builder.rebuild([corpus])
        base = hash_warm_data_dir / "generations" / first.generation
        view_before = library.view()  # (embedded Chroma settles its files when first opened)
        view_before.idf("plan")
        before = files_digest(base / "chroma")
        extra = write_articles(tmp_path / "more", 1, start=40)[0]
        added = builder.add([str(extra)])
        assert added.segments == 2 and added.articles == 7
        assert files_digest(base / "chroma") == before, "the old segment's files are not written"
        store = LocalStore(hash_warm_data_dir)
        chunks, sentences, _ = store.open(added.generation)
        try:
            assert chunks.count() == 1, "the new segment holds the new article only"
        finally:
            store.release(added.generation)
        # the reader moves to the new generation, reusing the old segment's table
        view = library.view()
        assert view.generation == added.generation
        assert view.tables[first.generation] is view_before.tables[first.generation]
        # the word counts (idf) of the old segment are reused; the result is a count over every live row
        view.idf("plan")
        assert view._segment_df[first.generation] is view_before._segment_df[first.generation]
        from index.lexical import lexical_tokens
        for word in ("plan", "ayuntamiento", "euros", "nothing-like-it"):
            df = sum(word in set(lexical_tokens(r.text)) for r in view.rows)
            assert (view.idf(word) > 0) == (df > 0)
            if df:
                assert view.idf(word) == pytest.approx(float(np.log((len(view.rows) + 1) / (df + 0.5))))
        # a word the articles hold in another form ("ayuntamientos"): weighed by its first five letters
        assert 0 < view.idf("ayuntamientos") <= view.idf("ayuntamiento") + 1e-9
        assert view.idf("zzzzzzzz") == 0.0
        assert "plan 40" in top_text(library, hash_embedder, "¿Cuándo empiezan las obras del plan 40?")
        assert "plan 3 " in top_text(library, hash_embedder, "¿Cuántos proyectos tiene el plan 3?") + " "
    finally:
        library.view().close()
        builder.close()


def test_a_new_version_or_a_removal_hides_the_old_rows(hash_warm_data_dir, hash_embedder, tmp_path):
    corpus = tmp_path / "articles"
    paths = write_articles(corpus, 4)
    builder = builder_for(hash_warm_data_dir, hash_embedder)
    try:
        builder.rebuild([corpus])
        paths[1].write_text(article_text(1).replace("millones de euros", "millones de dólares"), encoding="utf-8")
        changed = builder.add([str(corpus)])
        assert changed.segments == 2 and changed.articles == 4
        _, manifest, chunks, _ = live_rows(LocalStore(hash_warm_data_dir))
        docs = [d for d in chunks["documents"] if "plan 1 " in d]
        assert len(docs) == 1 and "dólares" in docs[0], "only the new version is seen"
        assert len(chunks["ids"]) == len(set(chunks["ids"])) == manifest["chunks"] == 4

        removed, _ = builder.remove(["articles/002_plan.txt"])
        assert removed.segments == 2 and removed.articles == 3 and removed.embedded == 0
        library = Library(LocalStore(hash_warm_data_dir), hash_embedder, check_every=0)
        try:
            with library.reading() as view:
                assert not any("plan 2 " in r.text for r in view.rows)
                assert len(view.rows) == 3
                assert len(view.lexical_scores("plan")) == 3
                hits = retrieve(view, hash_embedder.query("plan 2 de energía"), "plan 2 de energía", k=3)
                assert all("plan 2 " not in p.chunk.text for p in hits)
        finally:
            library.view().close()
    finally:
        builder.close()


def test_a_merge_copies_the_live_rows_into_one_segment(hash_warm_data_dir, hash_embedder, tmp_path):
    corpus = tmp_path / "articles"
    paths = write_articles(corpus, 3)
    builder = builder_for(hash_warm_data_dir, hash_embedder)
    try:
        builder.rebuild([corpus])
        for i in range(3):
            builder.add([str(write_articles(tmp_path / "more", 1, start=60 + i)[0])])
        paths[0].write_text(article_text(0) + "Una frase añadida al final del artículo.\n", encoding="utf-8")
        builder.add([str(corpus)])
        builder.remove(["061_plan.txt"])
        store = LocalStore(hash_warm_data_dir)
        assert len(segments_of(store.current()[1])) == 5
        seen = rows_seen(hash_warm_data_dir)
        merged = builder.merge()
        assert merged.segments == 1 and merged.embedded == 0
        assert rows_seen(hash_warm_data_dir) == seen, "the same rows, once each"
        gen, manifest = store.current()
        assert segments_of(manifest) == [gen]
        chunks, _, _ = store.open(gen)
        try:
            assert chunks.count() == manifest["chunks"], "no dead rows copied"
        finally:
            store.release(gen)
        table = ChunkTable.load(table_dir(hash_warm_data_dir, gen))
        assert table.vectors is not None and len(table.offsets) == manifest["chunks"] + 1, \
            "the merged segment's sentence vectors are saved with it"
        assert builder.merge().unchanged, "one segment without dead rows: nothing to merge"
        assert set(store.generation_ids()) <= kept_dirs(store)
    finally:
        builder.close()


def test_too_many_segments_merge_the_small_ones(hash_warm_data_dir, hash_embedder, tmp_path, monkeypatch):
    monkeypatch.setattr(build_module, "MAX_SEGMENTS", 3)
    corpus = tmp_path / "articles"
    write_articles(corpus, 5)
    builder = builder_for(hash_warm_data_dir, hash_embedder)
    try:
        first = builder.rebuild([corpus])
        seen = None
        for i in range(4):
            summary = builder.add([str(write_articles(tmp_path / "more", 1, start=70 + i)[0])])
            seen = rows_seen(hash_warm_data_dir)
        assert summary.segments <= 3
        manifest = LocalStore(hash_warm_data_dir).current()[1]
        assert segments_of(manifest)[0] == first.generation, "the large segment is not copied"
        assert len(manifest["articles"]) == 9 and sum(1 for k in seen if k[0] == "c") == 9
    finally:
        builder.close()


def test_small_segments_searched_in_memory_find_what_chroma_finds(hash_warm_data_dir, hash_embedder, tmp_path,
                                                                  monkeypatch):
    """A segment of a few adds is searched with NumPy instead of two more Chroma queries a
    question; the nearest rows (and their order, and `only`) are the ones Chroma gives."""
    import index.retrieval as retrieval

    corpus = tmp_path / "articles"
    write_articles(corpus, 6)
    builder = builder_for(hash_warm_data_dir, hash_embedder)
    try:
        builder.rebuild([corpus])
        builder.add([str(write_articles(tmp_path / "more", 1, start=40)[0])])
    finally:
        builder.close()
    qvec = hash_embedder.query("¿Cuándo empiezan las obras del plan 40?")

    def results(small: int, **kw):
        monkeypatch.setattr(retrieval, "SMALL_SEGMENT", small)
        library = Library(LocalStore(hash_warm_data_dir), hash_embedder, check_every=0)
        view = library.view()
        try:
            assert len(view.segments) == 2
            return [view.query(qvec, kind, 5, **kw) for kind in (0, 1)], view._small
        finally:
            view.close()

    by_chroma, small_none = results(0)
    in_memory, small_all = results(10_000)
    assert not small_none and len(small_all) == 4, "every segment and kind searched in memory"
    for chroma, numpy_ in zip(by_chroma, in_memory):
        assert list(chroma) == list(numpy_)
        assert all(abs(chroma[k] - numpy_[k]) < 1e-4 for k in chroma)
    from index.text import parse_sentence_id

    article = parse_sentence_id(next(iter(by_chroma[1])))[0]
    only_chroma, _ = results(0, only={article})
    only_numpy, _ = results(10_000, only={article})
    assert only_numpy[1] and all(parse_sentence_id(k)[0] == article for k in only_numpy[1])
    assert list(only_chroma[0]) == list(only_numpy[0]) and list(only_chroma[1]) == list(only_numpy[1])
