"""Suite 1: `cita index rebuild` killed with SIGKILL at 20 seeded random moments on a corpus of
300 articles. After each kill `cita ask` answers from a complete generation and `cita index
status` agrees with what that generation really holds; the final rebuild holds exactly the chunks
and sentences of a clean build: nothing missing, nothing duplicated.

To keep this affordable on two cores the articles are short and the embedding cache is warm
(tests/reliability_corpus.py): each rebuild embeds only the article edited for it, and its time
goes to loading, chunking, writing Chroma, publishing and cleaning up. The kill moments are
drawn uniformly over the part of a rebuild that holds the build lock (from just after the files
are read until the process exits: chunking, writing, publishing, cleanup), measured on a
complete rebuild first; the phase each kill hit is recorded in the figures.

The second test kills adds (each writes one small segment), feed refreshes (fetching, building,
saving what they saw) and segment merges the same way, and checks after each kill that readers
see every row of the published generation once, that a completed refresh indexed every feed
entry exactly once, and that a merge keeps exactly the rows readers saw.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import time
from collections import Counter
from pathlib import Path

import pytest

from index.store import LocalStore
from tests import reliability
from tests.reliability_corpus import (
    CITIES, N_ARTICLES, copy_index, corpus_index, current_generation, stored_rows, write_corpus,
)

from .conftest import popen_cita, run_cita

pytestmark = pytest.mark.slow
SUITE = "test_crash_rebuild"
SEED = int(os.environ.get("CITA_CRASH_SEED", "20260601"))
KILLS = int(os.environ.get("CITA_CRASH_KILLS", "20"))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, seed_data_dir, e5):
    return corpus_index(tmp_path_factory, seed_data_dir, e5)


def holds_build_lock(data_dir: Path, pid: int) -> bool:
    """Whether process `pid` holds the flock on data_dir/build.lock (read from /proc/locks, so
    looking does not disturb it)."""
    try:
        inode = (data_dir / "build.lock").stat().st_ino
        with open("/proc/locks") as f:
            return any(line.split()[4] == str(pid) and line.split()[5].endswith(f":{inode}")
                       for line in f if "FLOCK" in line)
    except (OSError, IndexError):
        return False


def unfinished(data_dir: Path) -> set[str]:
    gens = data_dir / "generations"
    return {g.name for g in gens.iterdir() if not (g / "manifest.json").exists()} if gens.is_dir() else set()


def check_generation(data_dir: Path, texts: dict[str, str], status: dict) -> int:
    """The published generation against its manifest and the article texts it was built from;
    returns the number of rows missing, duplicated or wrong (0 when all is well)."""
    gen = status["generation"]
    manifest = LocalStore(data_dir).manifest(gen)  # (its articles are in its segments' lists)
    rows = stored_rows(data_dir, gen)
    by_id = {a["id"]: a for a in manifest["articles"]}
    bad = 0
    for kind in ("chunks", "sentences"):
        ids = [r[0] for r in rows[kind]]
        bad += len(ids) - len(set(ids))  # duplicated
        bad += abs(manifest[kind] - len(set(ids)))  # missing (or extra) against the manifest
        bad += abs(len({r[1:4] for r in rows[kind]}) - len(rows[kind]))  # one span stored twice
    assert status["chunks"] == manifest["chunks"] and status["sentences"] == manifest["sentences"]
    assert status["articles"] == len(manifest["articles"]) == N_ARTICLES
    assert {r[1] for r in rows["chunks"]} == set(by_id), "every article has its chunks, no stranger"
    for _, article_id, start, end, text in rows["chunks"]:
        name = by_id[article_id]["source"].rsplit("/", 1)[-1]
        bad += texts[name][start:end] != text  # a chunk from another version of the article
    return bad


def run_checks(data_dir: Path, question: str) -> tuple[dict, dict]:
    """`cita index status --json` and `cita ask --json` side by side (two cores)."""
    status = popen_cita("index", "status", "--json", data_dir=data_dir)
    ask = popen_cita("ask", "--json", question, data_dir=data_dir)
    out_s, err_s = status.communicate(timeout=300)
    out_a, err_a = ask.communicate(timeout=300)
    assert status.returncode == 0, err_s
    assert ask.returncode == 0, err_a
    assert "Traceback" not in err_s + err_a
    return json.loads(out_s), json.loads(out_a)


def test_a_rebuild_killed_at_random_moments_never_loses_or_duplicates_anything(corpus, tmp_path):
    src_data, src_articles = corpus
    data = copy_index(src_data, tmp_path / "data")
    articles = tmp_path / "articles"
    shutil.copytree(src_articles, articles)
    versions: dict[int, int] = {}
    texts_of: dict[str, dict[str, str]] = {current_generation(data): write_corpus(articles, versions)}

    # a complete rebuild first (one article edited): how long the locked part of a rebuild lasts
    versions[0] = 1
    texts = write_corpus(articles, versions)
    start = time.monotonic()
    proc = popen_cita("index", "rebuild", str(articles), data_dir=data)
    locked_at = None
    while proc.poll() is None:
        if locked_at is None and holds_build_lock(data, proc.pid):
            locked_at = time.monotonic()
        time.sleep(0.005)
    finished = time.monotonic()
    assert proc.returncode == 0, proc.stderr.read()
    assert locked_at is not None
    locked_span = finished - locked_at
    texts_of[current_generation(data)] = texts
    reliability.note(SUITE, "reference rebuild", {"seconds": round(finished - start, 1),
                                                  "seconds holding the lock": round(locked_span, 1)})

    rng = random.Random(SEED)
    phases: Counter = Counter()
    for trial in range(KILLS):
        edited = rng.randrange(N_ARTICLES)
        versions[edited] = trial + 2
        texts = write_corpus(articles, versions)
        delay = rng.uniform(0, locked_span)
        before = current_generation(data)

        proc = popen_cita("index", "rebuild", str(articles), data_dir=data)
        deadline = time.monotonic() + 300
        while not holds_build_lock(data, proc.pid) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        time.sleep(delay)
        # where the rebuild was when it was killed
        if proc.poll() is not None:
            phase = "had already finished"
            # this rebuild held the lock for less than `delay`: aim the next kills inside that
            locked_span = min(locked_span, delay)
        elif current_generation(data) != before:
            phase = "after publishing (cleanup)"
        elif unfinished(data):
            phase = "writing the new generation"
        else:
            phase = "starting to build (imports, chunking)"
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
        phases[phase] += 1
        reliability.count(SUITE, trials=1, faults=1)

        after = current_generation(data)
        assert after is not None
        if after != before:
            assert after not in texts_of, "a new generation, not an old one brought back"
            texts_of[after] = texts
        city = CITIES[edited % len(CITIES)]
        status, answer = run_checks(data, f"¿Cuánto cuesta la revisión del plan {edited} de {city}?")
        assert status["generation"] == after, (trial, phase)
        assert answer["generation"] == after, (trial, phase)
        assert not answer["abstained"] and answer["citations"]
        version_texts = texts_of[after]
        wrong = sum(version_texts[c["source"].rsplit("/", 1)[-1]][c["start"]:c["end"]] != c["quote"]
                    for c in answer["citations"])
        wrong += check_generation(data, version_texts, status)
        reliability.count(SUITE, data_lost=wrong)
        assert wrong == 0, f"trial {trial} (killed {phase}): {wrong} rows or quotes missing, duplicated or wrong"

    reliability.note(SUITE, "kills by phase", dict(phases))
    reliability.note(SUITE, "seed", SEED)

    # the final rebuild completes and leaves exactly what a clean build of the same articles holds
    final = run_cita("index", "rebuild", str(articles), "--json", data_dir=data)
    assert final.returncode == 0, final.stderr
    clean = tmp_path / "clean"
    (clean / "cache").mkdir(parents=True)
    shutil.copy(data / "cache" / "embeddings.sqlite", clean / "cache" / "embeddings.sqlite")
    built = run_cita("index", "rebuild", str(articles), "--json", data_dir=clean)
    assert built.returncode == 0, built.stderr
    got = stored_rows(data, current_generation(data))
    want = stored_rows(clean, current_generation(clean))
    for kind in ("chunks", "sentences"):
        have, should = Counter(got[kind]), Counter(want[kind])
        missing = sum((should - have).values())
        extra = sum((have - should).values())
        reliability.count(SUITE, data_lost=missing + extra)
        assert not missing and not extra, f"{kind}: {missing} missing, {extra} duplicated or foreign"
    assert len(got["chunks"]) == N_ARTICLES
    status = json.loads(run_cita("index", "status", "--json", data_dir=data).stdout)
    assert check_generation(data, texts, status) == 0

    # and nothing is left behind: the current generation and at most one older one, no unfinished
    # build, no trash
    gens = sorted(p.name for p in (data / "generations").iterdir())
    assert current_generation(data) in gens and len(gens) <= 2, gens
    assert not unfinished(data)
    assert not (data / "trash").exists() or not any((data / "trash").iterdir())


# -- adds, feed refreshes and segment merges killed -------------------------------------------

def check_live(data_dir: Path, question: str) -> tuple[str, int]:
    """The published generation as readers see it: (generation, rows missing, duplicated or
    foreign), with `cita ask` answering from it."""
    status, answer = run_checks(data_dir, question)
    gen = current_generation(data_dir)
    assert status["generation"] == gen and answer["generation"] == gen
    assert not answer["abstained"] and answer["citations"]
    manifest = LocalStore(data_dir).manifest(gen)  # (its articles are in its segments' lists)
    rows = stored_rows(data_dir, gen)
    bad = 0
    for kind in ("chunks", "sentences"):
        ids = [r[0] for r in rows[kind]]
        bad += len(ids) - len(set(ids)) + abs(manifest[kind] - len(ids))
    assert status["articles"] == len(manifest["articles"])
    assert len({a["source"] for a in manifest["articles"]}) == len(manifest["articles"]), "an article twice"
    bad += len({r[1] for r in rows["chunks"]} ^ {a["id"] for a in manifest["articles"]})
    return gen, bad


def kill_at_random(args: tuple[str, ...], data: Path, span: float, rng: random.Random, *, after_lock: bool,
                   **env: str) -> str:
    """Run `cita ARGS`, SIGKILL it `uniform(0, span)` s after it takes the build lock (or after it
    starts), and say where it was."""
    before = current_generation(data)
    proc = popen_cita(*args, data_dir=data, **env)
    deadline = time.monotonic() + 300
    while after_lock and not holds_build_lock(data, proc.pid) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    time.sleep(rng.uniform(0, span))
    if proc.poll() is not None:
        phase = "had already finished"
    elif current_generation(data) != before:
        phase = "after publishing"
    elif unfinished(data):
        phase = "writing a segment"
    else:
        phase = "before writing"
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    reliability.count(SUITE, trials=1, faults=1)
    return phase


def timed(args: tuple[str, ...], data: Path, **env: str) -> float:
    """Seconds from taking the build lock to exiting, for a complete run."""
    proc = popen_cita(*args, data_dir=data, **env)
    locked_at = None
    while proc.poll() is None:
        if locked_at is None and holds_build_lock(data, proc.pid):
            locked_at = time.monotonic()
        time.sleep(0.005)
    out, err = proc.communicate()
    assert proc.returncode == 0, err
    return time.monotonic() - (locked_at or time.monotonic())


def test_adds_refreshes_and_merges_killed_at_random_moments_never_lose_or_duplicate(corpus, tmp_path):
    from .feed_server import FeedServer, page, rss

    src_data, _ = corpus
    data = copy_index(src_data, tmp_path / "data")
    extra = tmp_path / "extra"
    extra.mkdir()
    rng = random.Random(SEED + 1)
    phases: Counter = Counter()

    def new_article(n: int) -> Path:
        path = extra / f"{n:04d}_extra.txt"
        path.write_text(f"Nueva obra {n} en {CITIES[n % len(CITIES)]}\n\nEl ayuntamiento anunció la obra {n} con "
                        f"un presupuesto de {n + 5} millones de euros. Las obras empezarán en primavera.\n",
                        encoding="utf-8")
        return path

    question = "¿Cuánto cuesta el plan 7 de {}?".format(CITIES[7 % len(CITIES)])
    span = timed(("index", "add", str(new_article(0))), data)
    for trial in range(1, KILLS // 4 + 1):
        phases["add " + kill_at_random(("index", "add", str(new_article(trial))), data, span, rng,
                                       after_lock=True)] += 1
        _, bad = check_live(data, question)
        reliability.count(SUITE, data_lost=bad)
        assert bad == 0, f"add trial {trial}"

    # feeds: a refresh killed while it fetches, builds or saves what it saw
    server = FeedServer()
    try:
        items = []
        for i in range(4):
            title = f"Crónica {i} de la riada en {CITIES[i]}"
            server.route(f"/news/{i}.html", page(title, f"La riada {i} dejó {100 + i} litros por metro cuadrado "
                                                       f"en {CITIES[i]} durante la noche del domingo.\n\nLos "
                                                       f"bomberos atendieron {20 + i} avisos en la ciudad."))
            items.append((title, f"{server.base}/news/{i}.html"))
        feed = server.route("/rss.xml", rss("El Diario", items), content_type="application/rss+xml")
        env = {"CITA_ALLOW_PRIVATE_URLS": "true"}
        assert run_cita("feeds", "add", feed, data_dir=data, **env).returncode == 0
        for trial in range(KILLS // 4):
            phases["refresh " + kill_at_random(("index", "refresh"), data, 12.0, rng, after_lock=False, **env)] += 1
            json.loads((data / "feeds.json").read_text())  # never half-written
            _, bad = check_live(data, question)
            reliability.count(SUITE, data_lost=bad)
            assert bad == 0, f"refresh trial {trial}"
        done = run_cita("index", "refresh", "--json", data_dir=data, **env)
        assert done.returncode == 0, done.stderr
        gen, bad = check_live(data, question)
        assert bad == 0
        manifest = LocalStore(data).manifest(gen)
        sources = [a["source"] for a in manifest["articles"]]
        assert sorted(s for s in sources if s.startswith(server.base)) == sorted(link for _, link in items), \
            "every entry indexed exactly once"
        assert run_cita("index", "refresh", "--json", data_dir=data, **env).returncode == 0
        assert current_generation(data) == gen, "nothing new, nothing rewritten"
    finally:
        server.close()

    # merges killed at random moments; a complete one keeps exactly the rows readers saw
    seen = Counter(stored_rows(data, current_generation(data))["chunks"])
    segments_before = len(LocalStore(data).header(current_generation(data))["segments"])
    assert segments_before > 1
    span = max(timed(("index", "merge"), copy_index(data, tmp_path / "probe")), 0.5)
    for trial in range(KILLS // 4):
        phases["merge " + kill_at_random(("index", "merge"), data, span, rng, after_lock=True)] += 1
        _, bad = check_live(data, question)
        reliability.count(SUITE, data_lost=bad)
        assert bad == 0, f"merge trial {trial}"
        assert Counter(stored_rows(data, current_generation(data))["chunks"]) == seen
    final = run_cita("index", "merge", "--json", data_dir=data)
    assert final.returncode == 0, final.stderr
    gen = current_generation(data)
    assert json.loads(final.stdout)["segments"] == 1
    assert Counter(stored_rows(data, gen)["chunks"]) == seen, "the same rows after the merge"
    _, bad = check_live(data, question)
    assert bad == 0
    reliability.note(SUITE, "adds, refreshes, merges killed by phase", dict(phases))
