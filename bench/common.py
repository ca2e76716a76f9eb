"""What the benchmark scripts share: paths, settings, the 10,000-chunk index, figures.

Every script prints its figures last, one `name: value` per line, and also writes them to
data/bench/results/<script>.json (read by bench/report.py for the README).
"""

from __future__ import annotations

import json
import os
import platform
import sqlite3
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

BENCH = ROOT / "data" / "bench"  # git-ignored, persistent between runs
CORPUS = BENCH / "corpus"  # the synthetic articles (bench/corpus.py)
BIG = BENCH / "big"  # the data dir of the 10,000-chunk index (and its embedding cache)
RESULTS = BENCH / "results"
# the shared material beside the checkout (or beside a folder of worktrees holding it)
XQUAD = next((p / "shared" / "eval" / "xquad" for p in ROOT.parents if (p / "shared" / "eval" / "xquad").is_dir()),
             ROOT.parent / "shared" / "eval" / "xquad")
BIG_ARTICLES = 2800  # about 3.7 chunks each: just over 10,000 chunks
MIN_CHUNKS = 10_000


def settings_for(data_dir: Path, **env):
    """Cita's settings with everything default but the data dir (no .env, no environment), as
    the tests make them, so a developer's .env cannot change the figures."""
    from cita.settings import load_settings

    values = {"CITA_DATA_DIR": str(data_dir), **{k: str(v) for k, v in env.items()}}
    return load_settings(env=values)


def cita_command() -> list[str]:
    """How a user runs `cita` from this checkout."""
    script = Path(sys.executable).with_name("cita")
    return [str(script)] if script.exists() else [sys.executable, "-m", "cita.cli"]


def clean_env(**values) -> dict:
    """The environment for a `cita` subprocess: no CITA_/DISCORD_/CHROMA_ variables but these."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CITA_", "DISCORD_", "CHROMA_"))}
    env.update(HF_HUB_OFFLINE="1", ANONYMIZED_TELEMETRY="False", DISCORD_TOKEN="")
    # blank values win over a developer's .env: default model, embedded Chroma, no LLM
    env.update(CITA_EMBED_MODEL="", CHROMA_URL="", CITA_LLM_BASE_URL="", CITA_LLM_MODEL="")
    env.update({k: str(v) for k, v in values.items()})
    return env


def cached_vectors(data_dir: Path) -> int:
    """How many vectors the data dir's embedding cache holds (everything its builds embedded)."""
    path = data_dir / "cache" / "embeddings.sqlite"
    if not path.exists():
        return 0
    db = sqlite3.connect(str(path))
    try:
        return int(db.execute("SELECT count(*) FROM vectors").fetchone()[0])
    finally:
        db.close()


def big_dirs(articles: int = BIG_ARTICLES) -> tuple[Path, Path]:
    """(corpus folder, data dir) of the benchmark index; another size (a smoke run) gets
    folders of its own."""
    if articles == BIG_ARTICLES:
        return CORPUS, BIG
    return BENCH / f"corpus-{articles}", BENCH / f"small-{articles}"


def ensure_big_index(embedder=None, *, articles: int = BIG_ARTICLES, log=print) -> dict:
    """The 10,000-chunk index in data/bench/big, built through `Builder.rebuild` (the code path
    of `cita index rebuild`). The first build embeds every distinct text (about 12,800 vectors,
    an hour or more on 2 busy cores); later calls find it unchanged and embed nothing.
    Returns what the index holds and how many distinct embeddings it needed. `articles` other
    than the default makes a smaller index for smoke runs (not the benchmark)."""
    from cita.app import make_builder, make_embedder
    from index.store import BuildInProgress

    from bench.corpus import write_corpus

    corpus, data_dir = big_dirs(articles)
    write_corpus(corpus, articles)
    settings = settings_for(data_dir)
    embedder = embedder or make_embedder(settings)
    builder = make_builder(settings, embedder, progress=sys.stderr.isatty())
    try:
        if builder.store.current_id() is None:
            log(f"building the benchmark index in {data_dir} (once; for the full index about 12,800 "
                "embeddings, an hour or more on 2 cores; interrupting keeps what was embedded)")
        while True:
            try:
                summary = builder.rebuild([corpus])
                break
            except BuildInProgress:
                log("another build of the benchmark index is running; waiting for it")
                time.sleep(30)
    finally:
        builder.close()
    if summary.chunks < MIN_CHUNKS:
        if articles == BIG_ARTICLES:
            raise SystemExit(f"the benchmark index has {summary.chunks} chunks, fewer than {MIN_CHUNKS}")
        log(f"smoke run: {summary.chunks} chunks, not the {MIN_CHUNKS:,}-chunk benchmark")
    return {"articles": summary.articles, "chunks": summary.chunks, "sentences": summary.sentences,
            "data_dir": data_dir, "corpus": corpus,
            "distinct_embeddings": cached_vectors(data_dir), "built_now": not summary.unchanged,
            "build_seconds": round(summary.seconds, 1)}


def percentile(values: list[float], q: float) -> float:
    import numpy as np

    return float(np.percentile(values, q)) if values else float("nan")


def machine() -> dict:
    """The conditions of the run (a noisy shared machine makes absolute times move)."""
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return {"cpus": os.cpu_count(), "load_1min": round(load, 2), "python": platform.python_version()}


def rss_mb(pid: int | None = None) -> float:
    """Resident memory of a process now, in MB (10^6 bytes)."""
    import psutil

    return psutil.Process(pid or os.getpid()).memory_info().rss / 1e6


def peak_rss_mb(pid: int | None = None) -> float:
    """The most resident memory the process has had (VmHWM), in MB."""
    status = Path(f"/proc/{pid or os.getpid()}/status").read_text()
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024 / 1e6
    return float("nan")


def report(name: str, figures: dict, *, notes: list[str] | None = None) -> None:
    """Print the figures last, one `name: value` per line, and save them with the machine state."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    record = {"script": name, "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
              "machine": machine(), "notes": notes or [], "figures": figures}
    (RESULTS / f"{name}.json").write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n")
    for note in notes or []:
        print(f"# {note}")
    for key, value in figures.items():
        if isinstance(value, float):
            value = round(value, 4 if abs(value) < 10 else 1)
        print(f"{key}: {value}")
