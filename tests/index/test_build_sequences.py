"""Any sequence of edits, rebuilds, adds and removes leaves an index that matches the articles,
with no duplicate chunk or sentence (a Hypothesis state machine on the HashEmbedder and embedded
Chroma: bookkeeping, not the model)."""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (RuleBasedStateMachine, initialize, invariant, precondition, rule,
                                 run_state_machine_as_test)

from index.build import BuildConfig, Builder
from index.store import LocalStore

from .conftest import article_text, kept_dirs, live_rows

POOL = 5  # article slots; each has two versions
EDIT = "La oposición criticó que el proyecto número {i} llega tarde y pidió más transparencia."


def version(i: int, v: int) -> str:
    text = article_text(i)
    return text if v == 0 else text.replace(EDIT.format(i=i), f"El pleno aprobó el plan {i} por unanimidad.")


@pytest.fixture(scope="module")
def warm_cache(tmp_path_factory, hash_embedder, hash_seed_data_dir) -> Path:
    """An embedding cache holding every version of every pool article (so the machine's steps
    cost Chroma work, not embedding)."""
    base = tmp_path_factory.mktemp("pool")
    shutil.copytree(hash_seed_data_dir / "cache", base / "data" / "cache")
    corpus = base / "articles"
    corpus.mkdir()
    for i in range(POOL):
        for v in (0, 1):
            (corpus / f"{i}_{v}.txt").write_text(version(i, v), encoding="utf-8")
    builder = Builder(LocalStore(base / "data"), hash_embedder, BuildConfig())
    builder.rebuild([corpus])
    builder.close()
    return base / "data" / "cache" / "embeddings.sqlite"


@pytest.mark.slow  # about 13 s of Chroma work: the full lane only
def test_any_sequence_of_operations_keeps_the_index_exact(hash_embedder, warm_cache):
    builds: list[str] = []

    class IndexMachine(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            self.root = Path(tempfile.mkdtemp(prefix="cita-seq-"))
            self.data = self.root / "data"
            (self.data / "cache").mkdir(parents=True)
            src, dst = sqlite3.connect(warm_cache), sqlite3.connect(self.data / "cache" / "embeddings.sqlite")
            with dst:
                src.backup(dst)
            src.close()
            dst.close()
            self.corpus = self.root / "articles"
            self.corpus.mkdir()
            self.builder = Builder(LocalStore(self.data), hash_embedder, BuildConfig())
            self.on_disk: dict[int, int] = {}  # slot -> version in the folder
            self.indexed: dict[str, str] | None = None  # source -> text expected in the index

        def teardown(self):
            self.builder.close()
            shutil.rmtree(self.root, ignore_errors=True)

        @initialize(n=st.integers(1, 3))
        def start(self, n):
            for i in range(n):
                self.write(i, 0)
            self.rebuild()

        def _path(self, i):
            return self.corpus / f"{i:03d}_plan.txt"

        @rule(i=st.integers(0, POOL - 1), v=st.integers(0, 1))
        def write(self, i, v):
            self._path(i).write_text(version(i, v), encoding="utf-8")
            self.on_disk[i] = v

        @precondition(lambda self: self.on_disk)
        @rule(data=st.data())
        def delete(self, data):
            i = data.draw(st.sampled_from(sorted(self.on_disk)))
            self._path(i).unlink()
            del self.on_disk[i]

        @precondition(lambda self: self.on_disk)
        @rule()
        def rebuild(self):
            builds.append("rebuild")
            summary = self.builder.rebuild([self.corpus])
            assert summary.embedded == 0, "every text is in the cache"
            self.indexed = {f"articles/{i:03d}_plan.txt": version(i, v) for i, v in self.on_disk.items()}

        @precondition(lambda self: self.on_disk and self.indexed is not None)
        @rule(data=st.data())
        def add_one(self, data):
            i = data.draw(st.sampled_from(sorted(self.on_disk)))
            builds.append("add")
            self.builder.add([str(self._path(i))])
            text = version(i, self.on_disk[i])
            # the same content under its folder name is replaced, not duplicated
            self.indexed = {s: t for s, t in self.indexed.items() if t != text}
            self.indexed[self._path(i).name] = text

        @precondition(lambda self: self.indexed and len(self.indexed) >= 2)
        @rule(data=st.data())
        def remove_one(self, data):
            builds.append("remove")
            source = data.draw(st.sampled_from(sorted(self.indexed)))
            _, unknown = self.builder.remove([source])
            assert unknown == []
            del self.indexed[source]

        @invariant()
        def index_matches(self):
            if self.indexed is None:
                return
            store = LocalStore(self.data)
            gen, manifest = store.current()
            assert {a["source"] for a in manifest["articles"]} == set(self.indexed)
            _, _, c, s = live_rows(store, gen)
            assert len(set(c["ids"])) == len(c["ids"]) == manifest["chunks"]
            assert len(set(s["ids"])) == len(s["ids"]) == manifest["sentences"]
            text_of = {a["id"]: self.indexed[a["source"]] for a in manifest["articles"]}
            assert {md["article_id"] for md in c["metadatas"]} == set(text_of)
            for doc, md in zip(c["documents"], c["metadatas"]):
                assert text_of[md["article_id"]][md["start"]:md["end"]] == doc
            for md in s["metadatas"]:
                assert md["article_id"] in text_of
            assert set(store.generation_ids()) <= kept_dirs(store), "old generations are cleaned up"

    run_state_machine_as_test(IndexMachine, settings=settings(
        max_examples=10, stateful_step_count=12, deadline=None, derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]))
    assert {"rebuild", "add", "remove"} <= set(builds), builds  # the machine did exercise the builder
    print(f"{len(builds)} builds: " + ", ".join(f"{k} {builds.count(k)}" for k in ("rebuild", "add", "remove")))
