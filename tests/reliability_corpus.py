"""A corpus of a few hundred short news articles, and an index of it with a warm embedding cache,
for the crash and concurrency suites.

The articles are short on purpose (a headline and two sentences, one chunk each; the headlines
repeat every 48 articles and the second sentence comes from a pool of stock phrases, as in real
local news), so that building the index the first time embeds under 700 short texts, once per
test session; afterwards
every rebuild finds its vectors in the embedding cache and spends its time loading, chunking and
writing Chroma, which is what the suites exercise.

An article can be "edited" to a version v > 0: its first sentence changes (new figures), so a
rebuild embeds two new texts (that sentence and the chunk) and publishes a new generation.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import threading
from pathlib import Path

from tests.index.conftest import CITIES, MONTHS, TOPICS

STOCK = [
    "La oposición criticó que el proyecto llega tarde y pidió más transparencia.",
    "Los vecinos podrán presentar alegaciones durante los próximos treinta días.",
    "El pleno aprobó la propuesta con los votos del gobierno municipal.",
    "La asociación de comerciantes celebró la noticia en un comunicado.",
    "Los sindicatos anunciaron que vigilarán el cumplimiento de los plazos.",
    "El consistorio publicará los detalles en el boletín oficial de la provincia.",
    "Varios expertos advirtieron de que el presupuesto podría quedarse corto.",
    "La medida forma parte del programa con el que el equipo de gobierno ganó las elecciones.",
    "Los técnicos municipales revisarán el proyecto antes del verano.",
    "La diputación provincial aportará una parte de la financiación.",
    "El alcalde agradeció la colaboración de las entidades vecinales.",
    "Los grupos ecologistas pidieron que se estudie el impacto ambiental.",
    "La Cámara de Comercio calcula que la obra creará empleo en la zona.",
    "El proyecto se presentó en una rueda de prensa en el ayuntamiento.",
    "Las obras se adjudicarán mediante un concurso público.",
    "La oposición presentó una enmienda que fue rechazada.",
    "El gobierno autonómico estudiará cofinanciar la segunda fase.",
    "La concejala del área explicó el calendario a los vecinos.",
    "Los usuarios podrán consultar el avance de las obras en una web municipal.",
    "El plan incluye una auditoría externa al terminar cada fase.",
]
N_ARTICLES = 300


def article_text(i: int, version: int = 0) -> str:
    """Article i (headline, then two sentences); version > 0 changes its first sentence."""
    city, topic, month = CITIES[i % len(CITIES)], TOPICS[(i * 5) % len(TOPICS)], MONTHS[i % len(MONTHS)]
    if version:
        first = (f"La revisión {version} del plan {i} de {city} eleva su presupuesto a {20 + i + version} "
                 f"millones de euros y añade {version + 2} proyectos.")
    else:
        first = f"El plan {i} de {city} cuesta {10 + i} millones de euros y empezará en {month}."
    return f"{city} aprueba un plan de {topic}\n\n{first} {STOCK[i % len(STOCK)]}\n"


def article_path(folder: Path, i: int) -> Path:
    return folder / f"{i:03d}_plan.txt"


def write_corpus(folder: Path, versions: dict[int, int] | None = None, n: int = N_ARTICLES) -> dict[str, str]:
    """Write the n articles (article i at versions.get(i, 0)); returns {file name: text}."""
    folder.mkdir(parents=True, exist_ok=True)
    versions = versions or {}
    texts = {}
    for i in range(n):
        path = article_path(folder, i)
        text = article_text(i, versions.get(i, 0))
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
        texts[path.name] = text
    return texts


_built: tuple[Path, Path] | None = None
_guard = threading.Lock()


def corpus_index(tmp_path_factory, seed_data_dir: Path, embedder) -> tuple[Path, Path]:
    """(data dir, articles folder): the corpus at version 0 indexed once per test session, with
    every vector in the embedding cache. Treat both as read-only: copy them (`copy_index`)."""
    global _built
    with _guard:
        if _built is None:
            from cita.app import make_builder
            from tests.conftest import make_settings

            base = tmp_path_factory.mktemp("reliability-corpus")
            articles = base / "articles"
            write_corpus(articles)
            data = base / "data"
            (data / "cache").mkdir(parents=True)
            _copy_sqlite(seed_data_dir / "cache" / "embeddings.sqlite", data / "cache" / "embeddings.sqlite")
            builder = make_builder(make_settings(data), embedder)
            try:
                builder.rebuild([articles])
            finally:
                builder.close()
            _built = data, articles
        return _built


def copy_index(src: Path, dst: Path) -> Path:
    """A writable copy of a data dir (index, cache), without leases or locks."""
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("readers", "*.lock", "cita.log"))
    return dst


def _copy_sqlite(src: Path, dst: Path) -> None:
    a, b = sqlite3.connect(src), sqlite3.connect(dst)
    with b:
        a.backup(b)
    a.close()
    b.close()


def current_generation(data_dir: Path) -> str | None:
    try:
        return json.loads((data_dir / "current.json").read_text(encoding="utf-8"))["generation"]
    except (OSError, ValueError, KeyError):
        return None


def stored_rows(data_dir: Path, generation: str) -> dict[str, list[tuple]]:
    """What a published generation holds, read straight from the Chroma collections of its
    segments (the rows of the articles that live in each, as readers see them):
    {"chunks": [(id, article_id, start, end, text)], "sentences": [(id, article_id, start, end)]}."""
    from index.store import LocalStore, segments_of

    store = LocalStore(data_dir)
    manifest = store.manifest(generation)
    live = {a["id"]: a.get("segment", generation) for a in manifest["articles"]}
    chunk_rows, sentence_rows = [], []
    for seg in segments_of(manifest):
        chunks, sentences, _ = store.open(seg)
        try:
            got = chunks.get(include=["documents", "metadatas"])
            chunk_rows += [(i, md["article_id"], int(md["start"]), int(md["end"]), doc)
                           for i, doc, md in zip(got["ids"], got["documents"], got["metadatas"])
                           if live.get(md["article_id"]) == seg]
            got = sentences.get(include=["metadatas"])
            sentence_rows += [(i, md["article_id"], int(md["start"]), int(md["end"]))
                              for i, md in zip(got["ids"], got["metadatas"]) if live.get(md["article_id"]) == seg]
        finally:
            store.release(seg)
    return {"chunks": chunk_rows, "sentences": sentence_rows}
