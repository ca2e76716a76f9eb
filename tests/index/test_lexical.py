"""The saved chunk table (rows + BM25) of a generation: written by the build, loaded by readers
with the same rows and scores as reading Chroma, and rebuilt from Chroma when missing or damaged."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from index.build import BuildConfig, Builder
from index.lexical import ChunkTable, load_table, table_dir
from index.store import LocalStore

from .conftest import SEEDS, write_articles

QUESTIONS = ["What did the US demand?", "¿Qué pidió Estados Unidos a México?", "seguridad fronteriza",
             "zzz-unknown-word"]


def build(data_dir, hash_embedder, paths):
    builder = Builder(LocalStore(data_dir), hash_embedder, BuildConfig())
    try:
        return builder.rebuild(paths)
    finally:
        builder.close()


def table_from_chroma(store, gen):
    manifest = store.manifest(gen)
    chunks, _, _ = store.open(gen)
    return ChunkTable.from_collection(chunks, {a["id"]: a["title"] for a in manifest["articles"]}), chunks


def same(a: ChunkTable, b: ChunkTable) -> None:
    assert [r.__dict__ for r in a.rows] == [r.__dict__ for r in b.rows]
    for q in QUESTIONS:
        assert np.allclose(a.scores(q), b.scores(q)), q


def test_the_build_saves_the_table_and_a_reader_loads_the_same_rows_and_scores(hash_warm_data_dir, hash_embedder):
    summary = build(hash_warm_data_dir, hash_embedder, [SEEDS])
    folder = table_dir(hash_warm_data_dir, summary.generation)
    assert (folder / "rows.json").exists(), "written by the build, before the first question"
    store = LocalStore(hash_warm_data_dir)
    fresh, chunks = table_from_chroma(store, summary.generation)
    try:
        saved = ChunkTable.load(folder)
        assert saved is not None and len(saved.rows) == summary.chunks
        same(saved, fresh)
        assert saved.scores("seguridad fronteriza").max() > 0
    finally:
        store.release(summary.generation)


@pytest.mark.parametrize("damage", ["missing", "garbage rows", "no bm25", "wrong row count"])
def test_a_missing_or_damaged_table_is_read_from_chroma_again_and_saved(hash_warm_data_dir, hash_embedder, damage):
    summary = build(hash_warm_data_dir, hash_embedder, [SEEDS])
    folder = table_dir(hash_warm_data_dir, summary.generation)
    if damage == "missing":
        shutil.rmtree(folder)
    elif damage == "garbage rows":
        (folder / "rows.json").write_bytes(b"\x00\xff not json")
    elif damage == "no bm25":
        shutil.rmtree(folder / "bm25")
    else:
        rows = json.loads((folder / "rows.json").read_text())
        (folder / "rows.json").write_text(json.dumps(rows[:-1]))
    store = LocalStore(hash_warm_data_dir)
    fresh, chunks = table_from_chroma(store, summary.generation)
    try:
        titles = {a["id"]: a["title"] for a in store.manifest(summary.generation)["articles"]}
        same(load_table(hash_warm_data_dir, summary.generation, chunks, titles), fresh)
        same(ChunkTable.load(folder), fresh)  # and saved again, whole
    finally:
        store.release(summary.generation)


def test_only_the_tables_of_segments_still_there_are_kept(hash_warm_data_dir, hash_embedder, tmp_path):
    folder = tmp_path / "articles"
    shutil.copytree(SEEDS, folder)
    generations = []
    for i in range(4):
        write_articles(folder, 1, start=i)
        generations.append(build(hash_warm_data_dir, hash_embedder, [folder]).generation)
    kept = sorted(p.name for p in (hash_warm_data_dir / "lexical").iterdir())
    assert kept == LocalStore(hash_warm_data_dir).generation_ids() == generations[-2:]


def _sentence_scores(data_dir, hash_embedder, question):
    """What retrieval scored every sentence of its passages with, and the Chroma gets of sentences
    by id it made (a small segment's whole read, for searching it in memory, is not one)."""
    from index.retrieval import Library, retrieve

    library = Library(LocalStore(data_dir), hash_embedder)
    view = library.view()
    gets = []
    for seg, cols in view.cols.items():
        original = cols[1].get

        def counting(*a, _original=original, **kw):
            if kw.get("ids"):
                gets.append(kw["ids"])
            return _original(*a, **kw)
        cols[1].get = counting
    qvec = hash_embedder.query(question)
    try:
        passages = retrieve(view, qvec, question, k=20)
        return {(p.chunk.id, span): round(score, 6) for p in passages for span, score in p.sentence_scores.items()}, gets
    finally:
        view.close()


def test_the_build_saves_every_rows_sentence_vectors_and_answers_read_them_instead_of_chroma(
        hash_warm_data_dir, hash_embedder):
    summary = build(hash_warm_data_dir, hash_embedder, [SEEDS])
    folder = table_dir(hash_warm_data_dir, summary.generation)
    saved = ChunkTable.load(folder)
    assert saved.vectors is not None and len(saved.vectors) == sum(len(r.sentences) for r in saved.rows)
    store = LocalStore(hash_warm_data_dir)
    _, sentences, _ = store.open(summary.generation)
    try:
        row = saved.rows[0]
        got = sentences.get(ids=[f"{row.article_id}:{s}:{e}" for s, e in row.sentences], include=["embeddings"])
        assert np.array_equal(saved.sentence_vectors(0), np.asarray(got["embeddings"], dtype=np.float32))
    finally:
        store.release(summary.generation)

    question = "What did the US demand?"
    from_table, gets = _sentence_scores(hash_warm_data_dir, hash_embedder, question)
    assert from_table and gets == [], "no Chroma get when the table has the vectors"
    for name in ("sentence_vectors.npy", "sentence_offsets.npy"):
        (folder / name).unlink()  # an index saved before the vectors were: read from Chroma
    from_chroma, gets = _sentence_scores(hash_warm_data_dir, hash_embedder, question)
    assert gets and from_chroma == from_table


@pytest.mark.parametrize("damage", ["offsets of another table", "truncated vectors", "not a matrix"])
def test_damaged_sentence_vectors_are_read_from_chroma_instead(hash_warm_data_dir, hash_embedder, caplog, damage):
    summary = build(hash_warm_data_dir, hash_embedder, [SEEDS])
    folder = table_dir(hash_warm_data_dir, summary.generation)
    question = "¿Qué pidió Estados Unidos a México?"
    expected, _ = _sentence_scores(hash_warm_data_dir, hash_embedder, question)
    vectors = folder / "sentence_vectors.npy"
    if damage == "offsets of another table":
        np.save(folder / "sentence_offsets.npy", np.arange(3))
    elif damage == "truncated vectors":
        vectors.write_bytes(vectors.read_bytes()[:-100])
    else:
        vectors.write_bytes(b"\x00\xff garbage")
    loaded = ChunkTable.load(folder)
    assert loaded is not None and loaded.vectors is None and len(loaded.rows) == summary.chunks
    assert "cannot be read" in caplog.text
    got, gets = _sentence_scores(hash_warm_data_dir, hash_embedder, question)
    assert gets and got == expected
