"""Building the index in-process with embedded Chroma: exact offsets, incremental rebuilds,
add/remove, no duplicates (with the HashEmbedder, fast lane), and retrieval in English and Spanish
(with the real bundled e5, slow)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from index.articles import load_paths
from index.build import BuildConfig, Builder, NothingIndexed, _key
from index.chunking import chunk_article
from index.store import LocalStore

from .conftest import SEEDS, kept_dirs, live_rows, write_articles

SEED_FILE = next(SEEDS.glob("*.txt"))
DEMAND_ES = "Estados Unidos pidió a México resultados concretos y verificable"
DEMAND_EN = "Upcoming bilateral engagements with Mexico will require concrete, verifiable outcomes"
CONFIG = BuildConfig()


def make_builder(data_dir: Path, embedder, **kw) -> Builder:
    return Builder(LocalStore(data_dir), embedder, CONFIG, **kw)


def rebuild(data_dir: Path, embedder, paths: list[Path]):
    builder = make_builder(data_dir, embedder)
    try:
        return builder.rebuild(paths)
    finally:
        builder.close()


def stored(data_dir: Path):
    """(manifest, chunk rows, sentence rows) of the published generation."""
    _, manifest, c, s = live_rows(LocalStore(data_dir))
    return manifest, list(zip(c["ids"], c["documents"], c["metadatas"])), list(zip(s["ids"], s["metadatas"]))


def vector_keys(article) -> set[str]:
    """What embedding an article needs: its chunk texts and sentence texts (the cache keys)."""
    keys = set()
    for c in chunk_article(article, chunk_tokens=CONFIG.chunk_tokens, overlap_tokens=CONFIG.chunk_overlap_tokens):
        keys.add(c.content_key)
        keys.update(_key(article.text[s:e]) for s, e in c.sentences)
    return keys


def assert_consistent(data_dir: Path):
    """No duplicates: every chunk and sentence once, counts as the manifest says, all offsets exact."""
    manifest, chunks, sentences = stored(data_dir)
    ids = {a["id"] for a in manifest["articles"]}
    assert len({cid for cid, _, _ in chunks}) == len(chunks) == manifest["chunks"]
    assert len({sid for sid, _ in sentences}) == len(sentences) == manifest["sentences"]
    assert {md["article_id"] for _, _, md in chunks} == ids
    assert {md["article_id"] for _, md in sentences} == ids
    texts = {a.id: a.text for a in load_paths([SEEDS], max_bytes=10**7)[0]}
    for _, doc, md in chunks:
        if md["article_id"] in texts:
            assert texts[md["article_id"]][md["start"]:md["end"]] == doc
    return manifest, chunks, sentences


# -- the seed article -------------------------------------------------------------------------

def test_seed_index_has_offsets_that_slice_back_to_the_exact_text(hash_seed_data_dir):
    [article], _ = load_paths([SEEDS], max_bytes=10**7)
    manifest, chunks, sentences = stored(hash_seed_data_dir)
    assert manifest["embed_model"] == "hash-test"
    [meta] = manifest["articles"]
    assert meta["id"] == article.id and meta["title"] == article.title
    assert meta["source"] == f"seeds/{SEED_FILE.name}" and meta["language"] == "es"
    assert meta["content_hash"] == article.content_hash
    assert len(chunks) >= 2
    covered = set()
    for _, doc, md in chunks:
        assert article.text[md["start"]:md["end"]] == doc
        for s, e in json.loads(md["sentences"]):
            assert md["start"] <= s < e <= md["end"]
            covered.add(article.text[s:e])
    for sid, md in sentences:
        assert sid == f"{article.id}:{md['start']}:{md['end']}"
        assert article.text[md["start"]:md["end"]] in covered
    assert any(s.startswith(DEMAND_ES) for s in covered)
    assert any(s.startswith(DEMAND_EN) for s in covered)


@pytest.fixture(scope="module")
def mixed_data_dir(tmp_path_factory, e5, seed_data_dir):
    """The seed article among eight unrelated local-news articles."""
    base = tmp_path_factory.mktemp("mixed")
    shutil.copytree(seed_data_dir / "cache", base / "data" / "cache")
    corpus = base / "articles"
    write_articles(corpus, 8)
    shutil.copy(SEED_FILE, corpus / SEED_FILE.name)
    rebuild(base / "data", e5, [corpus])
    return base / "data"


@pytest.mark.slow
@pytest.mark.parametrize("question", ["What did the US demand?", "¿Qué pidió Estados Unidos?",
                                      "What does Washington require from Mexico on fentanyl?"])
def test_english_and_spanish_questions_retrieve_the_demand_passage(mixed_data_dir, e5, question):
    from index.retrieval import Library, query_vector, retrieve

    library = Library(LocalStore(mixed_data_dir), e5)
    view = library.view()
    assert len(view.articles) == 9
    passages = retrieve(view, query_vector(e5, question), question, k=3)
    top = passages[0].chunk
    assert view.articles[top.article_id]["source"].endswith(SEED_FILE.name)
    assert DEMAND_ES in top.text or DEMAND_EN in top.text
    best = max(passages[0].sentence_scores, key=passages[0].sentence_scores.get)
    quote = top.sentence_text(*best)
    assert quote.startswith((DEMAND_ES, DEMAND_EN, "The United States made clear")), quote


@pytest.mark.slow
def test_answers_quote_the_seed_verbatim(mixed_data_dir, e5, settings_for):
    from cita.app import make_answerer

    text = SEED_FILE.read_text(encoding="utf-8")
    answerer = make_answerer(settings_for(mixed_data_dir), e5)
    for question in ("What did the US demand?", "¿Qué pidió Estados Unidos?"):
        answer = answerer.ask(question, use_llm=False)
        assert not answer.abstained
        assert answer.citations
        for c in answer.citations:
            assert c.source.endswith(SEED_FILE.name)
            assert text[c.start:c.end] == c.quote
        assert any(("resultados concretos" in c.quote or "concrete, verifiable" in c.quote
                    or "incremental progress" in c.quote) for c in answer.citations)


# -- incremental rebuilds ---------------------------------------------------------------------

def test_unchanged_rebuild_embeds_nothing_and_keeps_the_generation(hash_warm_data_dir, hash_embedder, tmp_path):
    corpus = tmp_path / "articles"
    write_articles(corpus, 3)
    first = rebuild(hash_warm_data_dir, hash_embedder, [corpus])
    assert first.articles == 3 and first.embedded > 0 and not first.unchanged
    again = rebuild(hash_warm_data_dir, hash_embedder, [corpus])
    assert again.embedded == 0
    assert again.unchanged and again.generation == first.generation
    assert again.reused == first.chunks + first.sentences
    assert LocalStore(hash_warm_data_dir).generation_ids() == [first.generation]


def test_a_fresh_data_dir_with_a_warm_cache_embeds_nothing(hash_warm_data_dir, hash_embedder):
    """The cache is keyed by model and text: what was embedded once is never embedded again."""
    summary = rebuild(hash_warm_data_dir, hash_embedder, [SEEDS])
    assert summary.embedded == 0 and summary.reused == summary.chunks + summary.sentences > 0


def test_a_changed_article_is_re_embedded_only_where_it_changed(hash_warm_data_dir, hash_embedder, tmp_path):
    corpus = tmp_path / "articles"
    paths = write_articles(corpus, 3)
    rebuild(hash_warm_data_dir, hash_embedder, [corpus])
    old = {a.source: a for a in load_paths([corpus], max_bytes=10**7)[0]}
    old_text = old["articles/001_plan.txt"].text
    old_sentence = "La oposición criticó que el proyecto número 1 llega tarde y pidió más transparencia."
    assert old_sentence in old_text
    new_sentence = "La oposición aplaudió el proyecto número 1 y pidió acelerarlo."
    paths[1].write_text(old_text.replace(old_sentence, new_sentence), encoding="utf-8")

    new = {a.source: a for a in load_paths([corpus], max_bytes=10**7)[0]}
    before = set().union(*(vector_keys(a) for a in old.values()))
    expected = vector_keys(new["articles/001_plan.txt"]) - before
    assert 0 < len(expected) < len(vector_keys(new["articles/001_plan.txt"]))

    summary = rebuild(hash_warm_data_dir, hash_embedder, [corpus])
    assert summary.embedded == len(expected)
    assert summary.articles == 3 and not summary.unchanged
    manifest, chunks, sentences = assert_consistent(hash_warm_data_dir)
    docs = " ".join(doc for _, doc, _ in chunks)
    assert new_sentence in docs and old_sentence not in docs
    changed = new["articles/001_plan.txt"]
    assert {(md["start"], md["end"]) for sid, md in sentences if md["article_id"] == changed.id} == {
        (s, e) for c in chunk_article(changed, chunk_tokens=CONFIG.chunk_tokens,
                                      overlap_tokens=CONFIG.chunk_overlap_tokens) for s, e in c.sentences}
    [meta] = [a for a in manifest["articles"] if a["id"] == changed.id]
    assert meta["content_hash"] == changed.content_hash


def test_a_deleted_article_leaves_the_index_and_is_never_cited(hash_warm_data_dir, hash_embedder, tmp_path, settings_for):
    from cita.app import make_answerer

    corpus = tmp_path / "articles"
    paths = write_articles(corpus, 3)
    shutil.copy(SEED_FILE, corpus / SEED_FILE.name)
    rebuild(hash_warm_data_dir, hash_embedder, [corpus])
    answerer = make_answerer(settings_for(hash_warm_data_dir), hash_embedder)
    answer = answerer.ask("¿Qué pidió Estados Unidos a México?", use_llm=False)
    assert any(c.source.endswith(SEED_FILE.name) for c in answer.citations)

    (corpus / SEED_FILE.name).unlink()
    summary = rebuild(hash_warm_data_dir, hash_embedder, [corpus])
    assert summary.articles == 3 and summary.embedded == 0
    manifest, chunks, _ = assert_consistent(hash_warm_data_dir)
    assert not any(a["source"].endswith(SEED_FILE.name) for a in manifest["articles"])
    assert not any("fentanilo" in doc for _, doc, _ in chunks)
    answerer.library.check_every = 0  # the running answerer follows the new generation
    for question in ("¿Qué pidió Estados Unidos a México?", "What did the US demand on fentanyl?"):
        answer = answerer.ask(question, use_llm=False)
        assert answer.generation == summary.generation
        assert not any(c.source.endswith(SEED_FILE.name) or "fentanilo" in c.quote for c in answer.citations)
    assert paths[0].exists()


def test_add_and_remove(hash_warm_data_dir, hash_embedder, tmp_path):
    corpus = tmp_path / "articles"
    write_articles(corpus, 2)
    extra = write_articles(tmp_path / "more", 1, start=50)[0]
    rebuild(hash_warm_data_dir, hash_embedder, [corpus])
    builder = make_builder(hash_warm_data_dir, hash_embedder)
    try:
        added = builder.add([str(extra), str(SEED_FILE)])
        assert added.articles == 4 and added.embedded > 0
        manifest, _, _ = assert_consistent(hash_warm_data_dir)
        assert {a["source"] for a in manifest["articles"]} == {
            "articles/000_plan.txt", "articles/001_plan.txt", extra.name, SEED_FILE.name}
        again = builder.add([str(SEED_FILE)])
        assert again.unchanged and again.generation == added.generation and again.embedded == 0

        seed_id = next(a["id"] for a in manifest["articles"] if a["source"] == SEED_FILE.name)
        removed, unknown = builder.remove([seed_id, "articles/000_plan.txt", "no-such-article"])
        assert unknown == ["no-such-article"]
        assert removed.articles == 2 and removed.embedded == 0
        manifest, chunks, _ = assert_consistent(hash_warm_data_dir)
        assert {a["source"] for a in manifest["articles"]} == {"articles/001_plan.txt", extra.name}
        assert not any("fentanilo" in doc for _, doc, _ in chunks)

        by_title, _ = builder.remove([next(a["title"] for a in manifest["articles"] if a["source"] == extra.name)])
        assert by_title.articles == 1
        nothing, unknown = builder.remove(["nope"])
        assert nothing.unchanged and unknown == ["nope"]
    finally:
        builder.close()


def test_the_same_content_added_under_another_name_replaces_the_old_copy(hash_warm_data_dir, hash_embedder, tmp_path):
    rebuild(hash_warm_data_dir, hash_embedder, [SEEDS])
    copy = tmp_path / "copia.txt"
    shutil.copy(SEED_FILE, copy)
    builder = make_builder(hash_warm_data_dir, hash_embedder)
    try:
        summary = builder.add([str(copy)])
    finally:
        builder.close()
    manifest, _, _ = assert_consistent(hash_warm_data_dir)
    assert [a["source"] for a in manifest["articles"]] == ["copia.txt"]
    assert summary.articles == 1 and summary.embedded == 0


def test_no_duplicates_after_any_sequence_of_rebuilds(hash_warm_data_dir, hash_embedder, tmp_path):
    corpus = tmp_path / "articles"
    paths = write_articles(corpus, 4)
    builder = make_builder(hash_warm_data_dir, hash_embedder)
    try:
        builder.rebuild([corpus])
        builder.add([str(paths[0]), str(SEED_FILE)])  # a file already indexed via its folder, and a new one
        assert_consistent(hash_warm_data_dir)
        paths[2].write_text(paths[2].read_text() + "Una frase añadida al final.\n", encoding="utf-8")
        builder.rebuild([corpus])
        builder.remove(["articles/003_plan.txt"])
        builder.add([str(corpus)])
        builder.rebuild([corpus])
        manifest, _, _ = assert_consistent(hash_warm_data_dir)
        assert len(manifest["articles"]) == 4
    finally:
        builder.close()
    store = LocalStore(hash_warm_data_dir)
    assert set(store.generation_ids()) <= kept_dirs(store), "old generations are cleaned up"


def test_nothing_to_index_is_an_error_that_says_why_and_keeps_the_index(tmp_path, hash_embedder):
    data_dir = tmp_path / "data"
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "empty.txt").write_text("")
    (bad / "report.pdf").write_text("%PDF")
    builder = make_builder(data_dir, hash_embedder)
    try:
        with pytest.raises(NothingIndexed) as info:
            builder.rebuild([bad])
        message = str(info.value)
        assert "no article could be indexed" in message
        assert "bad/empty.txt: empty file" in message and "bad/report.pdf: unsupported file type" in message
        with pytest.raises(NothingIndexed):
            builder.add([str(bad / "empty.txt")])
    finally:
        builder.close()
    assert LocalStore(data_dir).current_id() is None
    assert LocalStore(data_dir).generation_ids() == []


def test_a_failing_build_keeps_the_current_generation_and_leaves_no_junk(hash_warm_data_dir, hash_embedder, tmp_path):
    """A build that dies half-way in-process (here the store fails while writing) discards its
    unfinished generation; the current one keeps serving."""
    corpus = tmp_path / "articles"
    write_articles(corpus, 2)
    first = rebuild(hash_warm_data_dir, hash_embedder, [corpus])
    write_articles(corpus, 2, start=10)

    class FailingStore(LocalStore):
        def publish(self, generation, manifest):
            raise OSError(28, "No space left on device")

    builder = Builder(FailingStore(hash_warm_data_dir), hash_embedder, CONFIG)
    try:
        with pytest.raises(OSError, match="No space left"):
            builder.rebuild([corpus])
    finally:
        builder.close()
    store = LocalStore(hash_warm_data_dir)
    assert store.current_id() == first.generation
    assert store.generation_ids() == [first.generation]


def test_progress_bar_and_summary_line(hash_warm_data_dir, hash_embedder, tmp_path, capsys):
    corpus = tmp_path / "articles"
    write_articles(corpus, 2)
    builder = make_builder(hash_warm_data_dir, hash_embedder, progress=True)
    try:
        summary = builder.rebuild([corpus])
    finally:
        builder.close()
    err = capsys.readouterr().err
    assert summary.embedded > 0
    assert "embedding" in err and f"{summary.embedded}/{summary.embedded}" in err and "vector" in err
    again = make_builder(hash_warm_data_dir, hash_embedder, progress=True)
    try:
        again.rebuild([corpus])
    finally:
        again.close()
    assert "embedding" not in capsys.readouterr().err, "no bar when there is nothing to embed"
    line = summary.line()
    for part in ("articles: 2", f"chunks: {summary.chunks}", f"embedded: {summary.embedded}",
                 f"reused: {summary.reused}", "skipped: 0", "seconds: "):
        assert part in line


def test_remove_by_file_name_prefers_the_exact_source(hash_warm_data_dir, hash_embedder, tmp_path):
    corpus = tmp_path / "articles"
    [path] = write_articles(corpus, 1)
    builder = make_builder(hash_warm_data_dir, hash_embedder)
    try:
        builder.rebuild([corpus])
        path.write_text(path.read_text(encoding="utf-8") + "Una frase nueva al final del artículo.\n",
                        encoding="utf-8")
        builder.add([str(path)])  # the new version alone, beside articles/000_plan.txt
        manifest, _, _ = assert_consistent(hash_warm_data_dir)
        assert {a["source"] for a in manifest["articles"]} == {"articles/000_plan.txt", "000_plan.txt"}
        builder.remove(["000_plan.txt"])
        manifest, _, _ = assert_consistent(hash_warm_data_dir)
        assert [a["source"] for a in manifest["articles"]] == ["articles/000_plan.txt"]
        removed, unknown = builder.remove(["000_plan.txt"])  # no exact match left: the end of the source
        assert unknown == [] and removed.articles == 0
        assert LocalStore(hash_warm_data_dir).current()[1]["articles"] == []
    finally:
        builder.close()


def test_adding_to_an_index_built_with_other_settings_asks_for_a_rebuild(hash_warm_data_dir, hash_embedder, tmp_path):
    from index.build import NeedsRebuild

    rebuild(hash_warm_data_dir, hash_embedder, [SEEDS])
    before = LocalStore(hash_warm_data_dir).current()
    extra = write_articles(tmp_path / "more", 1)[0]
    other = Builder(LocalStore(hash_warm_data_dir), hash_embedder, BuildConfig(chunk_tokens=128, chunk_overlap_tokens=16))
    try:
        with pytest.raises(NeedsRebuild, match=r"chunk_tokens=256, now 128.*rebuild it with `cita index rebuild`"):
            other.add([str(extra)])
        with pytest.raises(NeedsRebuild):
            other.remove([SEED_FILE.name])
        assert LocalStore(hash_warm_data_dir).current() == before, "nothing dropped"
        rebuilt = other.rebuild([SEEDS])  # a rebuild is what it takes
        assert not rebuilt.unchanged and rebuilt.chunks > before[1]["chunks"]
    finally:
        other.close()


@pytest.mark.slow
def test_sentence_mean_chunk_vectors_embed_no_chunk_text_and_still_find_the_passage(tmp_path, e5):
    """CITA_CHUNK_VECTORS=sentence-mean: the model reads only sentences; each chunk's vector is
    the normalised mean of its sentences' vectors, and the index still answers across languages."""
    import numpy as np

    data_dir = tmp_path / "data"
    config = BuildConfig(chunk_vectors="sentence-mean")
    builder = Builder(LocalStore(data_dir), e5, config)
    try:
        summary = builder.rebuild([SEEDS])
    finally:
        builder.close()
    articles, _ = load_paths([SEEDS], max_bytes=config.max_bytes)
    chunks = [c for a in articles for c in chunk_article(a, chunk_tokens=config.chunk_tokens,
                                                             overlap_tokens=config.chunk_overlap_tokens)]
    sentence_texts = {a.text[s:e] for a in articles for c in chunk_article(
        a, chunk_tokens=config.chunk_tokens, overlap_tokens=config.chunk_overlap_tokens) for s, e in c.sentences}
    from index.build import background_sentences

    # nothing but the sentences and the background set went through the model
    assert summary.embedded == len(sentence_texts | set(background_sentences()))
    assert summary.chunks == len(chunks)

    store = LocalStore(data_dir)
    gen, manifest = store.current()
    assert manifest["chunk_vectors"] == "sentence-mean"
    chunks_col, sentences_col, _ = store.open(gen)
    try:
        c = chunks_col.get(include=["embeddings", "metadatas"])
        s = sentences_col.get(include=["embeddings"])
        sentence_vector = dict(zip(s["ids"], s["embeddings"]))
        for cid, vec, md in zip(c["ids"], c["embeddings"], c["metadatas"]):
            spans = json.loads(md["sentences"])
            mean = np.mean([sentence_vector[f"{md['article_id']}:{a}:{b}"] for a, b in spans], axis=0)
            assert np.allclose(vec, mean / np.linalg.norm(mean), atol=1e-5), cid
        hit = chunks_col.query(query_embeddings=[e5.query("What did the US demand from Mexico?").tolist()],
                               n_results=1, include=["documents"])
        assert DEMAND_ES in hit["documents"][0][0] or DEMAND_EN in hit["documents"][0][0]
    finally:
        store.release(gen)


def test_switching_chunk_vectors_needs_a_rebuild_and_an_older_index_counts_as_embedded(hash_warm_data_dir, hash_embedder, tmp_path):
    from index.build import NeedsRebuild

    rebuild(hash_warm_data_dir, hash_embedder, [SEEDS])
    store = LocalStore(hash_warm_data_dir)
    gen, manifest = store.current()
    # an index written before the setting existed has no chunk_vectors in its manifest
    legacy = {k: v for k, v in manifest.items() if k != "chunk_vectors"}
    (hash_warm_data_dir / "generations" / gen / "manifest.json").write_text(json.dumps(legacy), encoding="utf-8")
    assert LocalStore(hash_warm_data_dir).manifest(gen).get("chunk_vectors") is None
    assert rebuild(hash_warm_data_dir, hash_embedder, [SEEDS]).unchanged, "an older index is an embedded one"

    other = Builder(LocalStore(hash_warm_data_dir), hash_embedder, BuildConfig(chunk_vectors="sentence-mean"))
    try:
        extra = write_articles(tmp_path / "more", 1)[0]
        with pytest.raises(NeedsRebuild, match=r"chunk_vectors='embedded', now 'sentence-mean'"):
            other.add([str(extra)])
        rebuilt = other.rebuild([SEEDS])
        assert not rebuilt.unchanged and rebuilt.generation != gen
    finally:
        other.close()
    assert not rebuild(hash_warm_data_dir, hash_embedder, [SEEDS]).unchanged, "and back"
