"""The embedding cache: vectors keyed by (model, text hash), in SQLite beside the index.

A rebuild only embeds text it has never embedded with the same model; an unchanged corpus
rebuilds with zero embeddings. SQLite commits are atomic, so a killed rebuild leaves a
consistent cache that the next one continues from.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np


class EmbeddingCache:
    def __init__(self, path: Path, model: str, dim: int) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), timeout=30, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS vectors (model TEXT, key TEXT, vec BLOB, "
                         "PRIMARY KEY (model, key))")
        self.model = model
        self.dim = dim

    def get_many(self, keys: list[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        for i in range(0, len(keys), 500):
            batch = keys[i:i + 500]
            marks = ",".join("?" * len(batch))
            rows = self._db.execute(f"SELECT key, vec FROM vectors WHERE model=? AND key IN ({marks})",
                                    [self.model, *batch])
            for key, blob in rows:
                vec = np.frombuffer(blob, dtype=np.float32)
                if vec.shape == (self.dim,):
                    found[key] = vec
        return found

    def missing(self, keys: list[str]) -> list[str]:
        """The keys that have no vector yet (without loading the vectors)."""
        have: set[str] = set()
        for i in range(0, len(keys), 500):
            batch = keys[i:i + 500]
            marks = ",".join("?" * len(batch))
            rows = self._db.execute(f"SELECT key FROM vectors WHERE model=? AND length(vec)=? AND key IN ({marks})",
                                    [self.model, self.dim * 4, *batch])
            have.update(key for (key,) in rows)
        return [k for k in dict.fromkeys(keys) if k not in have]

    def put_many(self, items: dict[str, np.ndarray]) -> None:
        with self._db:
            self._db.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?, ?)",
                                 [(self.model, k, np.asarray(v, dtype=np.float32).tobytes())
                                  for k, v in items.items()])

    def close(self) -> None:
        self._db.close()
