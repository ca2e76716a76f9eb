"""The index on a real Chroma server (`chroma run` on 127.0.0.1, started and stopped here)."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from index.store import KINDS, ServerStore, StoreError, StoreUnavailable, new_generation_id

from .conftest import SEEDS, run_cita, wait_for, write_articles

CHROMA = Path(sys.executable).with_name("chroma")
SEED_FILE = next(SEEDS.glob("*.txt"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ChromaServer:
    def __init__(self, path: Path, port: int | None = None) -> None:
        self.path = path
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = path.with_suffix(".log")
        self.proc: subprocess.Popen | None = None

    def start(self) -> "ChromaServer":
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen([str(CHROMA), "run", "--path", str(self.path), "--port", str(self.port),
                                          "--host", "127.0.0.1"], stdout=log, stderr=subprocess.STDOUT)
        wait_for(self._answers, 60, f"chroma run on port {self.port} (log: {self.log})", interval=0.2)
        return self

    def _answers(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"chroma run exited: {self.log.read_text(errors='replace')[-2000:]}")
        try:
            with urllib.request.urlopen(f"{self.url}/api/v2/heartbeat", timeout=2) as resp:
                return resp.status == 200
        except OSError:
            return False

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def chroma_server(tmp_path):
    server = ChromaServer(tmp_path / "chroma-server").start()
    yield server
    server.stop()


# -- the store on its own ---------------------------------------------------------------------

def make_generation(store: ServerStore, docs: list[str], publish: bool = True) -> str:
    gen = new_generation_id()
    cols = store.create(gen)
    assert len(cols) == len(KINDS)
    cols[0].add(ids=[f"c{i}" for i in range(len(docs))], documents=docs,
                embeddings=[[1.0, float(i), 0.5] for i in range(len(docs))], metadatas=[{"article_id": "a"}] * len(docs))
    if publish:
        store.publish(gen, {"generation": gen, "articles": [], "chunks": len(docs)})
    return gen


@pytest.mark.slow
def test_server_store_publishes_opens_and_cleans_up(chroma_server, tmp_path):
    store = ServerStore(chroma_server.url, tmp_path / "data")
    assert store.current_id() is None
    gens = [make_generation(store, [f"doc {i}"]) for i in range(3)]
    assert store.current_id() == gens[-1]
    assert store.manifest(gens[-1])["chunks"] == 1
    other = ServerStore(chroma_server.url, tmp_path / "elsewhere")  # another process or machine
    chunks = other.open(gens[-1])[0]
    assert chunks.get(include=["documents"])["documents"] == ["doc 2"]
    assert store.cleanup(keep=1) == [gens[0]]
    assert store.generation_ids() == gens[1:]
    with pytest.raises(StoreError):
        store.open(gens[0])
    with pytest.raises(StoreError):
        store.manifest(gens[0])


@pytest.mark.slow
def test_server_store_discards_an_unfinished_generation_and_spares_a_recent_one(chroma_server, tmp_path):
    store = ServerStore(chroma_server.url, tmp_path / "data")
    current = make_generation(store, ["actual"])
    recent = make_generation(store, ["a medias"], publish=False)
    assert store.cleanup(keep=1) == [], "an unfinished build may still be running elsewhere"
    store.discard(recent)
    assert store.generation_ids() == [current]
    store.discard(current)
    assert store.generation_ids() == [current], "never the current one"


def test_an_unreachable_server_is_a_clear_error(tmp_path):
    store = ServerStore(f"http://127.0.0.1:{free_port()}", tmp_path / "data")
    with pytest.raises(StoreUnavailable, match="cannot reach the Chroma server at http://127.0.0.1"):
        store.current_id()


# -- the command line against the server ------------------------------------------------------

@pytest.mark.slow
def test_rebuild_status_and_ask_against_the_server(chroma_server, warm_data_dir, tmp_path):
    env = {"CHROMA_URL": chroma_server.url}
    corpus = tmp_path / "articles"
    write_articles(corpus, 2)
    shutil.copy(SEED_FILE, corpus / SEED_FILE.name)

    out = run_cita("index", "rebuild", str(corpus), "--json", data_dir=warm_data_dir, **env)
    assert out.returncode == 0, out.stderr
    first = json.loads(out.stdout)
    assert first["articles"] == 3
    assert not (warm_data_dir / "generations").exists(), "nothing goes to embedded Chroma"

    status = json.loads(run_cita("index", "status", "--json", data_dir=warm_data_dir, **env).stdout)
    assert status["store"] == f"Chroma server at {chroma_server.url}"
    assert status["articles"] == 3 and status["generation"] == first["generation"]
    assert status["embed_model"] == "multilingual-e5-small" and status["built_at"]

    for question in ("What did the US demand?", "¿Qué pidió Estados Unidos?"):
        ask = run_cita("ask", "--json", question, data_dir=warm_data_dir, **env)
        assert ask.returncode == 0, ask.stderr
        answer = json.loads(ask.stdout)
        assert answer["generation"] == first["generation"] and not answer["abstained"]
        assert any(c["source"].endswith(SEED_FILE.name) for c in answer["citations"])
        assert all(SEED_FILE.read_text(encoding="utf-8")[c["start"]:c["end"]] == c["quote"]
                   for c in answer["citations"] if c["source"].endswith(SEED_FILE.name))

    again = json.loads(run_cita("index", "rebuild", str(corpus), "--json", data_dir=warm_data_dir, **env).stdout)
    assert again["embedded"] == 0 and again["unchanged"]

    (corpus / SEED_FILE.name).unlink()
    gone = json.loads(run_cita("index", "rebuild", str(corpus), "--json", data_dir=warm_data_dir, **env).stdout)
    assert gone["articles"] == 2 and gone["embedded"] == 0
    answer = json.loads(run_cita("ask", "--json", "What did the US demand?", data_dir=warm_data_dir, **env).stdout)
    assert answer["generation"] == gone["generation"]
    assert not any(c["source"].endswith(SEED_FILE.name) for c in answer["citations"])

    write_articles(corpus, 1, start=20)
    third = json.loads(run_cita("index", "rebuild", str(corpus), "--json", data_dir=warm_data_dir, **env).stdout)
    store = ServerStore(chroma_server.url, warm_data_dir)
    assert store.generation_ids() == [gone["generation"], third["generation"]], "old generations are dropped"


@pytest.mark.slow
def test_the_index_survives_a_server_restart_and_follows_new_generations(chroma_server, warm_data_dir, e5,
                                                                         settings_for):
    from cita.app import make_answerer, make_builder

    settings = settings_for(warm_data_dir, chroma_url=chroma_server.url)
    builder = make_builder(settings, e5)
    try:
        first = builder.rebuild([SEEDS])
    finally:
        builder.close()
    answerer = make_answerer(settings, e5)
    answerer.library.check_every = 0
    assert answerer.ask("What did the US demand?", use_llm=False).generation == first.generation

    chroma_server.stop()
    down = run_cita("index", "status", data_dir=warm_data_dir, CHROMA_URL=chroma_server.url)
    assert down.returncode == 1 and "cannot reach the Chroma server" in down.stderr
    assert "Traceback" not in down.stderr
    with pytest.raises(StoreUnavailable):
        answerer.ask("What did the US demand?", use_llm=False)

    chroma_server.start()  # same path, same port
    assert answerer.ask("What did the US demand?", use_llm=False).generation == first.generation
    builder = make_builder(settings, e5)
    try:
        corpus = warm_data_dir.parent / "more"
        write_articles(corpus, 1)
        second = builder.add([str(corpus)])
    finally:
        builder.close()
    assert second.articles == 2
    answer = answerer.ask("What did the US demand?", use_llm=False)
    assert answer.generation == second.generation, "the running answerer follows without a restart"
    assert any(c.source.endswith(SEED_FILE.name) for c in answer.citations)


@pytest.mark.slow
def test_commands_say_so_when_the_server_is_down(warm_data_dir):
    url = f"http://127.0.0.1:{free_port()}"
    for args in (("index", "status", "--json"), ("index", "rebuild", str(SEEDS)), ("ask", "What did the US demand?")):
        out = run_cita(*args, data_dir=warm_data_dir, CHROMA_URL=url)
        assert out.returncode == 1, (args, out.stdout, out.stderr)
        assert f"cannot reach the Chroma server at {url}" in out.stderr, (args, out.stderr)
        assert "Traceback" not in out.stderr
