"""Rebuilds beside readers: kill -9 or Ctrl-C half-way, and a second process answering while a
rebuild runs in another (real processes, real e5, embedded Chroma)."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import threading
import time

import pytest

from .conftest import (SEEDS, cached_vectors, cita_env, clean_cwd, popen_cita, run_cita, wait_for,
                       write_articles)

SEED_FILE = next(SEEDS.glob("*.txt"))
pytestmark = pytest.mark.slow


def status(data_dir) -> dict:
    out = run_cita("index", "status", "--json", data_dir=data_dir)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def ask(data_dir, question: str = "What did the US demand?") -> dict:
    out = run_cita("ask", "--json", question, data_dir=data_dir)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


# enough articles that the build is still embedding seconds after its first batch is cached (the
# moment the tests interrupt it): with 30, a fast run could finish before the signal arrived
ARTICLES = 80


def corpus_with_seed(tmp_path, n: int):
    corpus = tmp_path / "articles"
    write_articles(corpus, n)
    shutil.copy(SEED_FILE, corpus / SEED_FILE.name)
    return corpus


def start_rebuild_and_wait_for_embedding(data_dir, corpus):
    """A `cita index rebuild` subprocess, returned once it has written its first embeddings
    (the cache grew) and has an unfinished generation on disk."""
    baseline = cached_vectors(data_dir)
    generations_before = set((data_dir / "generations").iterdir())
    proc = popen_cita("index", "rebuild", str(corpus), data_dir=data_dir)
    try:
        wait_for(lambda: proc.poll() is not None or cached_vectors(data_dir) > baseline, 180,
                 "the rebuild to start embedding")
        assert proc.poll() is None, f"the rebuild ended before it could be interrupted: {proc.communicate()}"
        unfinished = set((data_dir / "generations").iterdir()) - generations_before
        assert len(unfinished) == 1
    except BaseException:
        proc.kill()
        proc.communicate()
        raise
    return proc, unfinished.pop()


def test_a_rebuild_killed_half_way_leaves_the_old_generation_answering(warm_data_dir, tmp_path):
    assert run_cita("index", "rebuild", str(SEEDS), data_dir=warm_data_dir).returncode == 0
    before = status(warm_data_dir)
    corpus = corpus_with_seed(tmp_path, ARTICLES)

    baseline = cached_vectors(warm_data_dir)
    proc, unfinished = start_rebuild_and_wait_for_embedding(warm_data_dir, corpus)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    assert (unfinished / "chroma").is_dir() and not (unfinished / "manifest.json").exists()

    # the previous generation keeps serving, and status says so
    assert status(warm_data_dir) == before
    answer = ask(warm_data_dir)
    assert answer["generation"] == before["generation"] and not answer["abstained"]
    assert all(c["source"] == f"seeds/{SEED_FILE.name}" for c in answer["citations"])

    # the next rebuild completes, reuses what the killed one embedded, and cleans up after it
    partial = cached_vectors(warm_data_dir)
    out = run_cita("index", "rebuild", str(corpus), "--json", data_dir=warm_data_dir)
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    assert summary["articles"] == ARTICLES + 1
    assert summary["reused"] >= partial - baseline > 0, "what the killed build embedded is not embedded again"
    assert 0 < summary["embedded"] < summary["chunks"] + summary["sentences"]
    assert not unfinished.exists(), "the killed build's generation is cleaned up"
    after = status(warm_data_dir)
    assert after["articles"] == ARTICLES + 1 and after["generation"] == summary["generation"]
    generations = sorted(p.name for p in (warm_data_dir / "generations").iterdir())
    assert generations == [before["generation"], after["generation"]]
    assert ask(warm_data_dir)["generation"] == after["generation"]


def test_ctrl_c_stops_a_rebuild_cleanly(warm_data_dir, tmp_path):
    assert run_cita("index", "rebuild", str(SEEDS), data_dir=warm_data_dir).returncode == 0
    before = status(warm_data_dir)
    corpus = corpus_with_seed(tmp_path, ARTICLES)
    proc, unfinished = start_rebuild_and_wait_for_embedding(warm_data_dir, corpus)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130
    assert "interrupted" in stderr and "Traceback" not in stderr
    assert not unfinished.exists(), "an interrupted build removes its unfinished generation"
    assert status(warm_data_dir) == before
    again = run_cita("index", "rebuild", str(corpus), data_dir=warm_data_dir)
    assert again.returncode == 0, again.stderr
    assert status(warm_data_dir)["articles"] == ARTICLES + 1


def test_a_second_rebuild_while_one_runs_is_refused(warm_data_dir, tmp_path):
    assert run_cita("index", "rebuild", str(SEEDS), data_dir=warm_data_dir).returncode == 0
    corpus = corpus_with_seed(tmp_path, ARTICLES)
    proc, _ = start_rebuild_and_wait_for_embedding(warm_data_dir, corpus)
    try:
        second = run_cita("index", "add", str(SEED_FILE), data_dir=warm_data_dir)
        assert second.returncode == 1
        assert "another rebuild is running" in second.stderr and "Traceback" not in second.stderr
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate()


READER = r"""
import json, sys, time
from pathlib import Path
from cita.app import make_answerer
from cita.settings import load_settings

answerer = make_answerer(load_settings())
stop = Path(sys.argv[1])
while not stop.exists():
    try:
        a = answerer.ask("What did the US demand?", use_llm=False)
        out = {"generation": a.generation, "sources": sorted({c.source for c in a.citations}),
               "quotes_exact": all(c.quote for c in a.citations), "abstained": a.abstained,
               "at": time.monotonic()}  # the system-wide clock: comparable with the test's
    except Exception as e:  # the test fails on any of these
        out = {"error": f"{type(e).__name__}: {e}"}
    print(json.dumps(out), flush=True)
    time.sleep(0.3)
"""


class Reader:
    """A separate process answering in a loop (what the bot does), its lines collected."""

    def __init__(self, data_dir, tmp_path):
        self.stop_file = tmp_path / "stop-reader"
        self.proc = subprocess.Popen([sys.executable, "-c", READER, str(self.stop_file)],
                                     cwd=clean_cwd(data_dir=data_dir),  # no .env of the checkout
                                     env=cita_env(data_dir), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True)
        self.lines: list[dict] = []
        self._thread = threading.Thread(target=self._collect, daemon=True)
        self._thread.start()

    def _collect(self):
        for line in self.proc.stdout:
            self.lines.append(json.loads(line))

    def generations(self) -> list[str]:
        return [line.get("generation") for line in self.lines]

    def close(self) -> str:
        self.stop_file.touch()
        try:
            self.proc.wait(timeout=60)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
        self._thread.join(10)
        return self.proc.stderr.read()


def test_a_second_process_answers_during_a_rebuild_and_follows_the_new_generation(warm_data_dir, tmp_path):
    assert run_cita("index", "rebuild", str(SEEDS), data_dir=warm_data_dir).returncode == 0
    g1 = status(warm_data_dir)["generation"]
    reader = Reader(warm_data_dir, tmp_path)
    try:
        wait_for(lambda: reader.generations(), 120, "the reader's first answer")
        corpus = corpus_with_seed(tmp_path, 12)
        started = time.monotonic()
        proc = popen_cita("index", "rebuild", str(corpus), data_dir=warm_data_dir)
        _, err = proc.communicate(timeout=600)
        ended = time.monotonic()
        assert proc.returncode == 0, err
        # answers kept coming from the old generation meanwhile
        answered_during = sum(1 for line in reader.lines
                              if started <= line.get("at", 0) <= ended and line.get("generation") == g1)
        g2 = status(warm_data_dir)["generation"]
        assert g2 != g1
        wait_for(lambda: g2 in reader.generations(), 30, "the reader to pick up the new generation")

        # one more rebuild: the reader moves on and the generation it left is cleaned up
        write_articles(corpus, 1, start=40)
        assert run_cita("index", "rebuild", str(corpus), data_dir=warm_data_dir).returncode == 0
        g3 = status(warm_data_dir)["generation"]
        wait_for(lambda: g3 in reader.generations(), 30, "the reader to pick up the third generation")
    finally:
        stderr = reader.close()

    assert reader.proc.returncode == 0, stderr
    errors = [line for line in reader.lines if "error" in line]
    assert not errors, errors
    gens = reader.generations()
    assert set(gens) == {g1, g2, g3}, "only published generations are ever read"
    assert gens == sorted(gens), "never back to an older generation"
    assert gens.count(g1) >= 2 and answered_during >= 2, "it kept answering while the rebuild ran"
    assert all(line["sources"] and not line["abstained"] for line in reader.lines)
    assert not (warm_data_dir / "generations" / g1).exists(), "the generation nobody reads is cleaned up"


def test_a_reader_thread_and_a_rebuild_thread_sharing_one_store(warm_data_dir, tmp_path, e5, settings_for):
    """The bot's wiring: its library and /reindex's builder use one store object in two threads."""
    from cita.app import make_answerer, make_builder
    from index.store import LocalStore

    settings = settings_for(warm_data_dir)
    store = LocalStore(warm_data_dir)
    corpus = corpus_with_seed(tmp_path, 3)
    builder = make_builder(settings, e5, store=store)
    first = builder.rebuild([corpus])
    answerer = make_answerer(settings, e5, store=store)
    answerer.library.check_every = 0
    seen, errors, stop = [], [], threading.Event()

    def read():
        while not stop.is_set():
            try:
                answer = answerer.ask("What did the US demand?", use_llm=False)
                seen.append(answer.generation)
                assert answer.citations and not answer.abstained
            except Exception as e:  # noqa: BLE001 - collected and asserted below
                errors.append(repr(e))
            time.sleep(0.05)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        generations = [first.generation]
        for start in (10, 20, 30):
            wait_for(lambda: len(seen) >= 2, 60, "answers")
            write_articles(corpus, 1, start=start)
            generations.append(builder.rebuild([corpus]).generation)
            wait_for(lambda: seen and seen[-1] == generations[-1], 30, "the reader to follow")
    finally:
        stop.set()
        reader.join(60)
        builder.close()
    assert not errors, errors[:3]
    assert set(seen) <= set(generations) and seen == sorted(seen)
    assert len(store.generation_ids()) <= 2, "generations the reader left are cleaned up"
