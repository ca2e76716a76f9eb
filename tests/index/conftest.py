"""Helpers for the index tests: the `cita` command as a subprocess, corpora, a warm cache."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from tests import helpers
from tests.helpers import CITA, clean_cwd, popen_cita, run_cita  # noqa: F401 (used by the index tests)

ROOT = Path(__file__).resolve().parents[2]
SEEDS = ROOT / "seeds"

CITIES = ["Valencia", "Sevilla", "Bilbao", "Zaragoza", "Málaga", "Murcia", "Córdoba", "Granada",
          "Oviedo", "Santander", "Toledo", "Cádiz", "León", "Burgos", "Salamanca", "Girona"]
TOPICS = ["transporte público", "vivienda asequible", "gestión del agua", "energía solar",
          "reciclaje de residuos", "seguridad vial", "bibliotecas", "parques urbanos",
          "carriles bici", "atención a mayores", "comedores escolares", "turismo sostenible"]
MONTHS = ["enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "septiembre",
          "octubre", "noviembre", "diciembre"]


def article_text(i: int) -> str:
    """A short, distinct news article (one chunk, a handful of sentences)."""
    city, topic = CITIES[i % len(CITIES)], TOPICS[(i * 5) % len(TOPICS)]
    month = MONTHS[i % len(MONTHS)]
    return (f"{city} aprueba el plan {i} de {topic}\n\n"
            f"El ayuntamiento de {city} aprobó un plan de {topic} con un presupuesto de {10 + i} "
            f"millones de euros y {3 * i + 7} proyectos distintos. "
            f"La alcaldesa dijo que las obras del plan {i} empezarán en {month} y durarán {i % 4 + 2} años. "
            f"La oposición criticó que el proyecto número {i} llega tarde y pidió más transparencia.\n")


def write_articles(folder: Path, n: int, start: int = 0) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(start, start + n):
        path = folder / f"{i:03d}_plan.txt"
        path.write_text(article_text(i), encoding="utf-8")
        paths.append(path)
    return paths


def cita_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """The clean environment of a `cita` subprocess (tests/helpers.py) on this data dir."""
    return helpers.cita_env(CITA_DATA_DIR=str(data_dir), **extra)


def wait_for(predicate, timeout: float, what: str, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def cached_vectors(data_dir: Path) -> int:
    path = data_dir / "cache" / "embeddings.sqlite"
    if not path.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as db:
            return db.execute("SELECT count(*) FROM vectors").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


def _warm(data_dir: Path, seed_data_dir: Path) -> Path:
    (data_dir / "cache").mkdir(parents=True)
    src = sqlite3.connect(seed_data_dir / "cache" / "embeddings.sqlite")
    dst = sqlite3.connect(data_dir / "cache" / "embeddings.sqlite")
    with dst:
        src.backup(dst)
    src.close()
    dst.close()
    return data_dir


@pytest.fixture
def warm_data_dir(tmp_path, seed_data_dir) -> Path:
    """An empty data dir whose embedding cache already holds the seed article and the
    background set (copied from the session's seed index), so a test embeds only its own text."""
    return _warm(tmp_path / "data", seed_data_dir)


@pytest.fixture
def hash_warm_data_dir(tmp_path, hash_seed_data_dir) -> Path:
    """warm_data_dir for the HashEmbedder (its cache holds the seed and background vectors)."""
    return _warm(tmp_path / "data", hash_seed_data_dir)


def live_rows(store, generation: str | None = None, *, embeddings: bool = False):
    """(generation, manifest, chunks, sentences) as readers see a published generation: the rows
    of each segment whose article lives in it. chunks and sentences are Chroma `get` results
    ({"ids", "documents", "metadatas"[, "embeddings"]}) merged over the segments."""
    from index.store import segments_of

    if generation is None:
        generation, manifest = store.current()
    else:
        manifest = store.manifest(generation)
    live = {a["id"]: a.get("segment", generation) for a in manifest["articles"]}
    extra = ["embeddings"] if embeddings else []
    chunks = {"ids": [], "documents": [], "metadatas": [], "embeddings": []}
    sentences = {"ids": [], "documents": [], "metadatas": [], "embeddings": []}
    for seg in segments_of(manifest):
        cols = store.open(seg)
        try:
            for col, out, include in ((cols[0], chunks, ["documents", "metadatas", *extra]),
                                      (cols[1], sentences, ["metadatas", *extra])):
                got = col.get(include=include)
                for j, md in enumerate(got["metadatas"]):
                    if live.get(md["article_id"]) != seg:
                        continue
                    out["ids"].append(got["ids"][j])
                    out["metadatas"].append(md)
                    out["documents"].append(got["documents"][j] if "documents" in include else None)
                    if embeddings:
                        out["embeddings"].append(got["embeddings"][j])
        finally:
            store.release(seg)
    return generation, manifest, chunks, sentences


def kept_dirs(store) -> set[str]:
    """What cleanup may leave: the current generation, one older one, their segments and the
    generations keeping those segments' article lists."""
    from index.store import holders_of, segments_of

    current = store.current_id()
    older = [g for g in store.generation_ids() if g < current]
    keep = {current}
    for gen in [current] + [g for g in older[-1:] if (store.data_dir / "generations" / g / "manifest.json").exists()]:
        keep.add(gen)
        keep.update(segments_of(store.manifest(gen)))
        keep.update(holders_of(store.header(gen)))
    return keep
