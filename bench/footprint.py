"""Footprint: `cita bot` start to ready and its memory, and `cita ask` as a one-shot command,
both on the 10,000-chunk index; and which heavy modules each one imports.

    .venv/bin/python bench/footprint.py [--runs 3]

`cita bot` runs as a user runs it (a process, the default model and settings) against the local
Discord stand-in of the tests (tests/bot/discord_standin.py: gateway and REST API on 127.0.0.1,
`CITA_DISCORD_API_URL`). Times, from starting the process:
- connected: the bot identified on the gateway (from here it receives messages);
- ready: discord.py's on_ready ("connected to Discord as ..." in the log). discord.py
  dispatches it `guild_ready_timeout` (Cita sets 0.5 s) after the last server arrived; the index
  loads in a thread meanwhile, so a first question may wait for it (see "first answer");
- first answer: from a question sent once ready to its answer (a thread opened, the answer posted).
Memory is the process's resident set once ready, and after the first answer (Chroma's vector
indexes are loaded by the first query).

`cita ask --no-llm QUESTION` runs to its exit; its time and peak resident memory (ru_maxrss).
A floor for comparison: `python -c "import chromadb"` (the store's import alone).
Imports: each command once more under `python -X importtime`, listing heavy packages it loaded.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (BENCH, BIG_ARTICLES, ROOT, clean_env, ensure_big_index,  # noqa: E402
                          peak_rss_mb, report, rss_mb)

HEAVY = ("torch", "sentence_transformers", "transformers", "llama_index", "nltk", "scipy", "sklearn",
         "pandas", "trafilatura", "discord", "onnxruntime", "openai")
QUESTION = "What did the Normans call themselves?"


def cita(*args: str, importtime: bool = False) -> list[str]:
    return [sys.executable, *(["-X", "importtime"] if importtime else []), "-m", "cita.cli", *args]


def heavy_imports(stderr: str) -> list[str]:
    """Top-level packages among HEAVY that `-X importtime` shows as imported."""
    found = set()
    for line in stderr.splitlines():
        m = re.match(r"import time:\s+\d+ \|\s+\d+ \|\s*(\S+)", line)
        if m:
            top = m.group(1).split(".")[0]
            if top in HEAVY:
                found.add(top)
    return sorted(found)


def wait4(proc: subprocess.Popen, timeout: float = 600) -> tuple[int, float]:
    """Wait for the process; (exit code, its peak RSS in MB)."""
    deadline = time.monotonic() + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            return proc.returncode, usage.ru_maxrss * 1024 / 1e6
        if time.monotonic() > deadline:
            proc.kill()
            raise SystemExit("timed out")
        time.sleep(0.005)


def run_ask(data_dir: Path, *, importtime: bool = False) -> dict:
    import tempfile

    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t = time.perf_counter()
        proc = subprocess.Popen(cita("ask", "--no-llm", QUESTION, importtime=importtime), cwd=BENCH,
                                env=clean_env(CITA_DATA_DIR=data_dir), stdout=out, stderr=err, text=True)
        code, peak = wait4(proc)
        seconds = time.perf_counter() - t
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if code != 0:
        raise SystemExit(f"cita ask failed ({code}): {stderr[-2000:]}")
    return {"s": seconds, "peak_rss_mb": peak, "stderr": stderr, "stdout": stdout}


def run_bot(data_dir: Path, *, importtime: bool = False) -> dict:
    import psutil

    from tests.bot.discord_standin import StandIn

    standin = StandIn().start()
    log_file = data_dir / "cita.log"
    log_start = log_file.stat().st_size if log_file.exists() else 0

    def logged(text: str) -> bool:
        if not log_file.exists():
            return False
        with log_file.open("rb") as f:
            f.seek(log_start)
            return text.encode() in f.read()

    import tempfile

    err = tempfile.TemporaryFile("w+")
    t0 = time.perf_counter()
    proc = subprocess.Popen(cita("bot", importtime=importtime), cwd=BENCH,
                            env=clean_env(CITA_DATA_DIR=data_dir, DISCORD_TOKEN=standin.token,
                                          CITA_DISCORD_API_URL=standin.api_url),
                            stdout=subprocess.DEVNULL, stderr=err, text=True)
    try:
        process = psutil.Process(proc.pid)
        standin.wait_ready(timeout=300)
        connected = time.perf_counter() - t0
        while not logged("connected to Discord as"):
            if proc.poll() is not None:
                err.seek(0)
                raise SystemExit(f"cita bot exited: {err.read()[-2000:]}")
            time.sleep(0.005)
        ready = time.perf_counter() - t0
        rss_ready = process.memory_info().rss / 1e6
        asked = time.perf_counter()
        question = standin.user_message(QUESTION)
        standin.wait_for(lambda r: r.matches("POST", rf"/channels/{question['id']}/messages"),
                         timeout=300, what="the first answer")
        first_answer = time.perf_counter() - asked
        rss_answer = process.memory_info().rss / 1e6
        peak = peak_rss_mb(proc.pid)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        err.seek(0)
        stderr = err.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        standin.stop()
        err.close()
    return {"connected_s": connected, "ready_s": ready, "first_answer_s": first_answer,
            "rss_ready_mb": rss_ready, "rss_answer_mb": rss_answer, "peak_rss_mb": peak, "stderr": stderr}


def floor_import_s() -> float:
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import chromadb"], check=True, cwd=ROOT)
    return time.perf_counter() - t


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs of each command (the median is reported)")
    parser.add_argument("--articles", type=int, default=BIG_ARTICLES,
                        help="size of the synthetic corpus (smaller only for a smoke run)")
    args = parser.parse_args(argv)

    index = ensure_big_index(articles=args.articles)
    data_dir = index["data_dir"]

    asks = [run_ask(data_dir) for _ in range(args.runs)]
    bots = [run_bot(data_dir) for _ in range(args.runs)]
    floors = [floor_import_s() for _ in range(args.runs)]
    ask_imports = heavy_imports(run_ask(data_dir, importtime=True)["stderr"])
    bot_imports = heavy_imports(run_bot(data_dir, importtime=True)["stderr"])

    def med(runs: list[dict], key: str) -> float:
        return statistics.median(r[key] for r in runs)

    figures = {
        "index_chunks": index["chunks"],
        "index_sentences": index["sentences"],
        "runs": args.runs,
        "bot_connected_s": med(bots, "connected_s"),
        "bot_first_answer_s": med(bots, "first_answer_s"),
        "bot_start_to_first_answer_s": statistics.median(r["ready_s"] + r["first_answer_s"] for r in bots),
        "bot_rss_ready_mb": med(bots, "rss_ready_mb"),
        "bot_peak_rss_mb": med(bots, "peak_rss_mb"),
        "bot_heavy_imports": ",".join(bot_imports) or "none",
        "ask_peak_rss_mb": med(asks, "peak_rss_mb"),
        "ask_heavy_imports": ",".join(ask_imports) or "none",
        "python_import_chromadb_s": statistics.median(floors),
        "bot_ready_s": med(bots, "ready_s"),
        "bot_rss_mb": med(bots, "rss_answer_mb"),
        "ask_ready_s": med(asks, "s"),
    }
    report("footprint" if args.articles == BIG_ARTICLES else "footprint-smoke", figures, notes=[
        f"medians of {args.runs} runs on the {index['chunks']}-chunk index; bot against the local Discord stand-in",
        "bot_ready_s: process start to discord.py's on_ready (includes its guild_ready_timeout of 0.5 s; the index may still be loading); "
        "bot_rss_mb: resident memory after the first answer (all indexes loaded); "
        "ask_ready_s: `cita ask --no-llm` start to exit",
        "all runs: " + "; ".join(f"bot ready {b['ready_s']:.2f} s, {b['rss_answer_mb']:.0f} MB" for b in bots)
        + " | " + "; ".join(f"ask {a['s']:.2f} s, {a['peak_rss_mb']:.0f} MB" for a in asks),
    ])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
