"""Article lists: each segment keeps the manifest entries of its articles (and a key list of them),
so a generation's manifest names segments and small totals, an add reads key lists and writes
one small segment, its lists and a manifest whose size does not grow with the index; manifests
written before lists existed (every article in the manifest) still open, and the first build on
one writes lists for its segments without touching them."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from index.build import BuildConfig, Builder
from index.copies import group_articles
from index.retrieval import Library
from index.store import LocalStore, has_lists, holders_of, segments_of

from .conftest import _warm, article_text, live_rows, write_articles
from .test_segments import files_digest, rows_seen
from .test_server import chroma_server  # noqa: F401 (a fixture)


def builder_for(data_dir: Path, hash_embedder) -> Builder:
    return Builder(LocalStore(data_dir), hash_embedder, BuildConfig())


def manifest_bytes(data_dir: Path, generation: str) -> int:
    return (data_dir / "generations" / generation / "manifest.json").stat().st_size


def no_duplicates(data_dir: Path) -> Counter:
    seen = rows_seen(data_dir)
    assert all(n == 1 for n in seen.values()), "a row is seen twice"
    _, manifest, chunks, _ = live_rows(LocalStore(data_dir))
    assert len(chunks["ids"]) == manifest["chunks"]
    assert len({a["id"] for a in manifest["articles"]}) == len(manifest["articles"])
    assert len({a["content_hash"] for a in manifest["articles"]}) == len(manifest["articles"])
    return seen


def test_an_add_writes_a_manifest_whose_size_does_not_grow_with_the_index(hash_seed_data_dir, hash_embedder,
                                                                         tmp_path, monkeypatch):
    sizes = {}
    for n in (3, 30):
        data = _warm(tmp_path / f"data-{n}", hash_seed_data_dir)
        corpus = tmp_path / f"articles-{n}"
        write_articles(corpus, n)
        builder = builder_for(data, hash_embedder)
        try:
            first = builder.rebuild([corpus])
            old_segment = files_digest(data / "generations" / first.generation)
            # the add reads key lists only, never a segment's article entries
            calls = []
            real = LocalStore.segment_articles
            monkeypatch.setattr(LocalStore, "segment_articles",
                                lambda self, *a: calls.append(a) or real(self, *a))
            added = builder.add([str(write_articles(tmp_path / f"more-{n}", 1, start=90)[0])])
            monkeypatch.setattr(LocalStore, "segment_articles", real)
            assert calls == [], "an add read a whole article list"
            assert added.articles == n + 1 and added.segments == 2
            assert files_digest(data / "generations" / first.generation) == old_segment, "the old segment changed"
            store = LocalStore(data)
            head = store.header(added.generation)
            assert has_lists(head) and "articles" not in head and head["article_count"] == n + 1
            assert [a["title"] for a in store.segment_articles(added.generation, added.generation)] == \
                [article_text(90).splitlines()[0]], "the new segment's list holds the new article only"
            assert len(store.manifest(added.generation)["articles"]) == n + 1
            sizes[n] = manifest_bytes(data, added.generation)
        finally:
            builder.close()
    # the counts have another digit or two; nothing else differs
    assert abs(sizes[30] - sizes[3]) <= 8, sizes


def test_duplicates_are_recognised_in_any_segment(hash_warm_data_dir, hash_embedder, tmp_path):
    corpus = tmp_path / "articles"
    paths = write_articles(corpus, 3)
    builder = builder_for(hash_warm_data_dir, hash_embedder)
    store = LocalStore(hash_warm_data_dir)
    try:
        builder.rebuild([corpus])
        a = write_articles(tmp_path / "a", 1, start=40)[0]
        b = write_articles(tmp_path / "b", 1, start=41)[0]
        in_second = builder.add([str(a)])
        builder.add([str(b)])
        before = no_duplicates(hash_warm_data_dir)
        # the same file again, in the second of three segments: nothing to do
        again = builder.add([str(a)])
        assert again.unchanged and again.embedded == 0 and again.articles == 5
        # the same text under another name: it replaces the copy in the second segment
        copy = tmp_path / "elsewhere" / "copia.txt"
        copy.parent.mkdir()
        copy.write_text(a.read_text(encoding="utf-8"), encoding="utf-8")
        moved = builder.add([str(copy)])
        assert moved.articles == 5
        head = store.header(moved.generation)
        assert list(head["dead"]) == [in_second.generation]
        after = no_duplicates(hash_warm_data_dir)
        texts = lambda seen: sorted(k[2] for k in seen if k[0] == "c")  # noqa: E731
        assert texts(after) == texts(before), "the same chunk texts, once: the copy replaced the original"
        # a new version of an article of the first segment: only the new one is seen
        paths[0].write_text(article_text(0).replace("millones de euros", "millones de dólares"), encoding="utf-8")
        builder.add([str(corpus)])  # (keyed as the rebuild keyed it: by its path in the folder)
        no_duplicates(hash_warm_data_dir)
        _, _, chunks, _ = live_rows(store)
        plan0 = [d for d in chunks["documents"] if "plan 0 " in d]
        assert len(plan0) == 1 and "dólares" in plan0[0]
        # and the manifest as readers get it lists every live article once, in the segment holding it
        _, manifest = store.current()
        where = {a["id"]: a["segment"] for a in manifest["articles"]}
        assert len(where) == 5 and set(where.values()) <= set(segments_of(manifest))
    finally:
        builder.close()


WIRE = ("La huelga de los estibadores del puerto de Valparaíso cumplió este martes su tercera jornada "
        "sin acuerdo entre el sindicato y la empresa portuaria, según informaron fuentes del sector.\n\n"
        "El sindicato reclama un aumento salarial del doce por ciento y mejores condiciones de seguridad "
        "para los trabajadores que operan las grúas durante los turnos de noche en los muelles.\n\n"
        "La empresa portuaria aseguró que mantiene abierta la negociación y que presentará una nueva "
        "propuesta antes del fin de semana para evitar más retrasos en la carga de los buques.")


def wire_copy(folder: Path, name: str, published: str, outlet: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.jsonl"
    path.write_text(json.dumps({"title": f"{outlet}: huelga en Valparaíso", "text": f"{outlet}\n\n{WIRE}",
                                "url": f"https://{name}.example/huelga", "published": published,
                                "source": outlet}, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def test_an_earlier_copy_added_later_regroups_the_kept_copies_without_rewriting_their_list(
        hash_warm_data_dir, hash_embedder, tmp_path):
    corpus = tmp_path / "articles"
    write_articles(corpus, 3)
    wire_copy(corpus, "diario-a", "2026-01-12", "Diario A")
    wire_copy(corpus, "diario-b", "2026-01-13", "Diario B")
    builder = builder_for(hash_warm_data_dir, hash_embedder)
    store = LocalStore(hash_warm_data_dir)
    try:
        first = builder.rebuild([corpus])
        before = {a["source"]: a for a in store.current()[1]["articles"]}
        group = before["https://diario-a.example/huelga"]["group"]
        assert before["https://diario-b.example/huelga"]["group"] == group
        added = builder.add([str(wire_copy(tmp_path / "later", "diario-c", "2026-01-10", "Diario C"))])
        _, manifest = store.current()
        after = {a["source"]: a for a in manifest["articles"]}
        earliest = after["https://diario-c.example/huelga"]["id"]
        assert {after[f"https://diario-{x}.example/huelga"]["group"] for x in "abc"} == {earliest}
        assert group_articles(manifest["articles"]) == {a["id"]: a["group"] for a in manifest["articles"]}
        # the kept copies' new group is in the manifest; their segment's list is as written
        head = store.header(added.generation)
        assert set(head["groups"]) == {before[f"https://diario-{x}.example/huelga"]["id"] for x in "ab"}
        listed = {a["id"]: a["group"] for a in store.segment_articles(first.generation, first.generation)}
        assert all(listed[aid] == group for aid in head["groups"])
        # a merge folds the changed groups into the merged segment's list
        merged = builder.merge()
        head = store.header(merged.generation)
        assert head["groups"] == {} and head["dead"] == {}
        assert {a["id"]: a["group"] for a in store.current()[1]["articles"]} == \
            {a["id"]: a["group"] for a in manifest["articles"]}
    finally:
        builder.close()


def as_written_before_lists(data_dir: Path) -> None:
    """Rewrite every published generation of a data dir as Cita wrote it before article lists:
    one manifest holding every article (with its segment), segments without lists."""
    store = LocalStore(data_dir)
    for gen in store.generation_ids():
        if not (data_dir / "generations" / gen / "manifest.json").exists():
            continue
        full = store.manifest(gen)
        old = {k: v for k, v in full.items() if k not in ("layout", "article_count", "dead", "groups")}
        old["segments"] = [{k: v for k, v in s.items() if k != "list"} for s in full["segments"]]
        (data_dir / "generations" / gen / "manifest.json").write_text(json.dumps(old, ensure_ascii=False),
                                                                       encoding="utf-8")
    for lists in (data_dir / "generations").glob("*/lists"):
        import shutil

        shutil.rmtree(lists)


def test_an_index_written_before_article_lists_opens_and_adds_to_it_convert_it(hash_warm_data_dir, hash_embedder,
                                                                                tmp_path, monkeypatch):
    corpus = tmp_path / "articles"
    write_articles(corpus, 4)
    builder = builder_for(hash_warm_data_dir, hash_embedder)
    try:
        first = builder.rebuild([corpus])
        second = builder.add([str(write_articles(tmp_path / "more", 1, start=50)[0])])
    finally:
        builder.close()
    as_written_before_lists(hash_warm_data_dir)
    store = LocalStore(hash_warm_data_dir)
    head = store.header(second.generation)
    assert not has_lists(head) and len(head["articles"]) == 5
    seen = no_duplicates(hash_warm_data_dir)
    library = Library(LocalStore(hash_warm_data_dir), hash_embedder, check_every=0)
    try:
        assert len(library.view().rows) == 5
        segment_files = {g: files_digest(hash_warm_data_dir / "generations" / g / "chroma")
                         for g in (first.generation, second.generation)}
        builder = builder_for(hash_warm_data_dir, hash_embedder)
        try:
            # the first add writes lists for the old segments, held by the new generation
            added = builder.add([str(write_articles(tmp_path / "more", 1, start=51)[0])])
            for g, digest in segment_files.items():
                assert files_digest(hash_warm_data_dir / "generations" / g / "chroma") == digest
            head = LocalStore(hash_warm_data_dir).header(added.generation)
            assert has_lists(head) and added.articles == 6 and added.segments == 3
            assert set(holders_of(head)) == {added.generation}
            assert rows_seen(hash_warm_data_dir).keys() > seen.keys()
            no_duplicates(hash_warm_data_dir)
            # the next add takes the short path: key lists only
            calls = []
            real = LocalStore.segment_articles
            monkeypatch.setattr(LocalStore, "segment_articles", lambda self, *a: calls.append(a) or real(self, *a))
            again = builder.add([str(write_articles(tmp_path / "more", 1, start=52)[0])])
            monkeypatch.setattr(LocalStore, "segment_articles", real)
            assert calls == [] and again.articles == 7
            # the generation holding the old segments' lists is kept while they are read
            builder.add([str(write_articles(tmp_path / "more", 1, start=53)[0])])
            assert added.generation in LocalStore(hash_warm_data_dir).generation_ids()
            # the reader follows, and removing an article of an old segment works
            assert len(library.view().rows) == 8
            removed, unknown = builder.remove(["001_plan.txt"])
            assert unknown == [] and removed.articles == 7
            assert not any("plan 1 " in r.text for r in library.view().rows)
            no_duplicates(hash_warm_data_dir)
            merged = builder.merge()
            assert merged.segments == 1 and merged.articles == 7
            no_duplicates(hash_warm_data_dir)
            assert len(library.view().rows) == 7
        finally:
            builder.close()
    finally:
        library.view().close()


def test_an_index_written_before_article_lists_is_removed_from_and_merged(hash_warm_data_dir, hash_embedder,
                                                                         tmp_path):
    corpus = tmp_path / "articles"
    write_articles(corpus, 4)
    builder = builder_for(hash_warm_data_dir, hash_embedder)
    try:
        builder.rebuild([corpus])
        builder.add([str(write_articles(tmp_path / "more", 1, start=60)[0])])
    finally:
        builder.close()
    as_written_before_lists(hash_warm_data_dir)
    seen = no_duplicates(hash_warm_data_dir)
    builder = builder_for(hash_warm_data_dir, hash_embedder)
    try:
        removed, _ = builder.remove(["060_plan.txt"])
        assert removed.articles == 4
        head = LocalStore(hash_warm_data_dir).header(removed.generation)
        assert has_lists(head) and not (hash_warm_data_dir / "generations" / removed.generation / "builder.pid").exists()
        assert len(no_duplicates(hash_warm_data_dir)) < len(seen)
        merged = builder.merge()
        assert merged.segments == 1 and merged.articles == 4
        assert builder.rebuild([corpus]).unchanged, "the same articles: nothing to rebuild"
    finally:
        builder.close()


@pytest.mark.slow
def test_article_lists_on_a_chroma_server(chroma_server, hash_warm_data_dir, hash_embedder, tmp_path):
    """The same on a Chroma server: lists are documents of its meta collection, an add writes
    one, and cleanup drops the lists of the generations it drops."""
    from index.store import ServerStore

    corpus = tmp_path / "articles"
    write_articles(corpus, 4)
    store = ServerStore(chroma_server.url, hash_warm_data_dir)
    builder = Builder(store, hash_embedder, BuildConfig())
    try:
        first = builder.rebuild([corpus])
        a = write_articles(tmp_path / "more", 1, start=80)[0]
        added = builder.add([str(a)])
        assert added.articles == 5 and added.segments == 2
        head = ServerStore(chroma_server.url, hash_warm_data_dir).header(added.generation)
        assert has_lists(head) and "articles" not in head
        assert builder.add([str(a)]).unchanged, "already in the second segment"
        removed, _ = builder.remove(["000_plan.txt"])
        assert removed.articles == 4
        reader = ServerStore(chroma_server.url, tmp_path / "elsewhere")  # another machine
        articles = reader.manifest(reader.current_id())["articles"]
        assert len(articles) == 4 and not any(x["source"].endswith("000_plan.txt") for x in articles)
        merged = builder.merge()
        assert merged.segments == 1 and merged.articles == 4
        last = builder.add([str(write_articles(tmp_path / "more", 1, start=81)[0])])
        meta = store._meta().get(include=["metadatas"])
        holders = {md["holder"] for mid, md in zip(meta["ids"], meta["metadatas"]) if mid.startswith("list:")}
        assert holders == {merged.generation, last.generation}, "the older lists went with their generations"
        assert first.generation not in store.generation_ids()
        library = Library(reader, hash_embedder, check_every=0)
        try:
            assert len(library.view().rows) == 5
        finally:
            library.view().close()
    finally:
        builder.close()
