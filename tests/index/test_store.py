"""The local store: generations, atomic publish, leases, cleanup, release (real embedded Chroma)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

from index.store import (KINDS, BuildInProgress, IndexMissing, LocalStore, StoreError, new_generation_id,
                         open_store)

from .conftest import ROOT


def make_generation(store: LocalStore, docs: list[str], *, publish: bool = True) -> str:
    gen = new_generation_id()
    cols = store.create(gen)
    assert len(cols) == len(KINDS)
    cols[0].add(ids=[f"c{i}" for i in range(len(docs))], documents=docs,
                embeddings=[[1.0, float(i), 0.5] for i in range(len(docs))],
                metadatas=[{"article_id": "a"} for _ in docs])
    if publish:
        store.publish(gen, {"generation": gen, "articles": [], "chunks": len(docs)})
        store.release(gen)
    return gen


def docs_of(collections) -> list[str]:
    return sorted(collections[0].get(include=["documents"])["documents"])


def test_publish_switches_the_pointer_and_readers_see_the_new_generation(tmp_path):
    store = LocalStore(tmp_path)
    with pytest.raises(IndexMissing):
        store.current()
    g1 = make_generation(store, ["uno"])
    assert store.current_id() == g1
    g2 = make_generation(store, ["dos"])
    gen, manifest = store.current()
    assert gen == g2 and manifest["chunks"] == 1
    assert docs_of(LocalStore(tmp_path).open(g2)) == ["dos"]


def test_an_unpublished_generation_is_never_current(tmp_path):
    store = LocalStore(tmp_path)
    g1 = make_generation(store, ["uno"])
    make_generation(store, ["a medias"], publish=False)
    assert store.current_id() == g1


def test_release_leaves_other_stores_of_the_process_reading(tmp_path):
    """The bot's library and an in-process builder both open a generation: one letting go of
    it must not close chroma under the other (the old release() stopped the shared System)."""
    g = make_generation(LocalStore(tmp_path), ["uno", "dos"])
    library, builder = LocalStore(tmp_path), LocalStore(tmp_path)
    mine = library.open(g)
    builder.open(g)
    builder.release(g)
    assert docs_of(mine) == ["dos", "uno"]
    assert docs_of(builder.open(g)) == ["dos", "uno"], "a released generation opens again"
    builder.release(g)
    library.release(g)
    assert docs_of(library.open(g)) == ["dos", "uno"]


def test_open_and_release_are_paired_within_one_store(tmp_path):
    g = make_generation(LocalStore(tmp_path), ["uno"])
    store = LocalStore(tmp_path)
    first = store.open(g)
    store.open(g)
    store.release(g)  # the second user is done; the first still reads
    assert docs_of(first) == ["uno"]
    store.release(g)


def test_release_closes_chroma_for_good(tmp_path):
    from chromadb.api.shared_system_client import SharedSystemClient

    g = make_generation(LocalStore(tmp_path), ["uno"])
    store = LocalStore(tmp_path)
    store.open(g)
    path = str(tmp_path / "generations" / g / "chroma")
    assert path in SharedSystemClient._identifier_to_system
    store.release(g)
    assert path not in SharedSystemClient._identifier_to_system
    assert not (tmp_path / "generations" / g / "readers" / str(os.getpid())).exists()


def test_cleanup_keeps_the_current_and_the_previous_generation(tmp_path):
    store = LocalStore(tmp_path)
    gens = [make_generation(store, [f"doc {i}"]) for i in range(4)]
    removed = store.cleanup(keep=1)
    assert sorted(removed) == gens[:2]
    assert store.generation_ids() == gens[2:]
    assert store.current_id() == gens[3]
    assert store.cleanup(keep=0) == [gens[2]]
    assert store.generation_ids() == [gens[3]]
    assert store.cleanup(keep=0) == [], "the current generation is never deleted"
    assert not (tmp_path / "trash").exists() or not any((tmp_path / "trash").iterdir())


def test_cleanup_spares_a_generation_open_in_this_process(tmp_path):
    builder = LocalStore(tmp_path)
    old = make_generation(builder, ["viejo"])
    library = LocalStore(tmp_path)
    view = library.open(old)
    make_generation(builder, ["nuevo"])
    make_generation(builder, ["más nuevo"])
    assert old not in builder.cleanup(keep=0)
    assert docs_of(view) == ["viejo"]
    library.release(old)
    assert old in builder.cleanup(keep=0)


READER = """
import sys, time
from pathlib import Path
from index.store import LocalStore
store = LocalStore(Path(sys.argv[1]))
cols = store.open(sys.argv[2])
print(cols[0].count(), flush=True)
time.sleep(120)
"""


@pytest.mark.slow
def test_cleanup_spares_a_generation_a_live_process_reads_and_frees_it_when_that_process_dies(tmp_path):
    builder = LocalStore(tmp_path)
    old = make_generation(builder, ["viejo"])
    reader = subprocess.Popen([sys.executable, "-c", READER, str(tmp_path), old], cwd=ROOT,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert reader.stdout.readline().strip() == "1"
        make_generation(builder, ["nuevo"])
        make_generation(builder, ["más nuevo"])
        assert old not in builder.cleanup(keep=0)
        assert (tmp_path / "generations" / old / "chroma").is_dir()
    finally:
        reader.send_signal(signal.SIGKILL)
        reader.wait()
    assert old in builder.cleanup(keep=0), "a dead reader's lease does not pin a generation forever"


def test_cleanup_removes_what_a_dead_builder_left_and_spares_a_live_builder(tmp_path):
    store = LocalStore(tmp_path)
    current = make_generation(store, ["actual"])
    dead = make_generation(store, ["a medias"], publish=False)
    store.release(dead)
    dead_pid = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True).stdout.strip()
    (tmp_path / "generations" / dead / "builder.pid").write_text(dead_pid)
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        live = make_generation(store, ["construyéndose"], publish=False)
        store.release(live)
        (tmp_path / "generations" / live / "builder.pid").write_text(str(sleeper.pid))
        assert store.cleanup(keep=1) == [dead]
        assert set(store.generation_ids()) == {current, live}
    finally:
        sleeper.kill()
        sleeper.wait()
    assert store.cleanup(keep=1) == [live]


def test_discard_deletes_an_unfinished_generation(tmp_path):
    store = LocalStore(tmp_path)
    current = make_generation(store, ["actual"])
    unfinished = make_generation(store, ["a medias"], publish=False)
    store.discard(unfinished)
    assert store.generation_ids() == [current]
    store.discard(current)  # never the current one
    assert store.generation_ids() == [current]


def test_opening_a_generation_cleanup_removed_is_a_clear_error(tmp_path):
    store = LocalStore(tmp_path)
    old = make_generation(store, ["viejo"])
    make_generation(store, ["nuevo"])
    assert store.cleanup(keep=0) == [old]
    with pytest.raises(StoreError, match="no longer there"):
        LocalStore(tmp_path).open(old)
    assert not (tmp_path / "generations" / old).exists(), "opening must not recreate it"


@pytest.mark.parametrize("pointer", ["{not json", "[1, 2]", '{"generation": 7}', '{"generation": "../x"}'])
def test_a_damaged_pointer_is_an_error_or_no_index_never_a_crash(tmp_path, pointer):
    (tmp_path / "current.json").write_text(pointer)
    store = LocalStore(tmp_path)
    try:
        assert store.current_id() is None
    except StoreError as e:
        assert "current.json" in str(e)


def test_a_pointer_to_a_missing_generation_means_no_index(tmp_path):
    (tmp_path / "current.json").write_text(json.dumps({"generation": "20200101T000000-abcdef"}))
    with pytest.raises(IndexMissing, match="cita index rebuild"):
        LocalStore(tmp_path).current()


def test_one_build_at_a_time(tmp_path):
    store = LocalStore(tmp_path)
    with store.build_lock():
        with pytest.raises(BuildInProgress, match="another rebuild is running"):
            with LocalStore(tmp_path).build_lock():
                pass
    with store.build_lock():  # released again
        pass


def test_generation_ids_sort_in_the_order_they_were_made():
    ids = [new_generation_id() for _ in range(50)]
    assert ids == sorted(ids) and len(set(ids)) == 50


def test_open_store_picks_the_backend(tmp_path):
    assert isinstance(open_store(tmp_path), LocalStore)
    server = open_store(tmp_path, "http://127.0.0.1:8123")
    assert "127.0.0.1:8123" in server.description
