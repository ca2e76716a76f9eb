"""Answer latency on the 10,000-chunk index: Cita's answer path against a bare vector query.

    .venv/bin/python bench/answer_latency.py [--questions 500]

Cita: `make_answerer(settings, embedder).ask(question)`, the extractive answer exactly as the bot
and `cita ask` compute it (embed the question, dense chunk + sentence search, BM25, fusion,
diversity, sentence choice, abstention). Baseline, in the same process and on the same index:
`embedder.query(question)` plus a bare `chunks_collection.query(query_embeddings=[v],
n_results=3)`. Each question runs through both, alternating which goes first, so the two share
the machine's noise. Questions: XQuAD, half English, half Spanish.

The first run builds the index (bench/corpus.py, about 12,800 embeddings); later runs reuse it.

`--adds N` measures an index built from one rebuild plus N separate `cita index add`s of one new
article each (issue 13: adds write small segments, merged past 8; questions search them all):
the index is copied and the adds made before the questions. `--hash` builds and asks with the
deterministic `hash-test` embedder instead of the model (its own index under data/bench/hash-*,
built in minutes): the embedding then costs next to nothing on both sides, so the ratio shows the
index's own overhead, stricter than with the model.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import BIG_ARTICLES, big_dirs, ensure_big_index, percentile, report, rss_mb, settings_for  # noqa: E402
from bench.corpus import questions  # noqa: E402

K = 3  # what the bot asks for (Answerer.ask's default)
WARMUP = 10


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=500)
    parser.add_argument("--articles", type=int, default=BIG_ARTICLES,
                        help="size of the synthetic corpus (smaller only for a smoke run)")
    parser.add_argument("--profile", type=Path, default=None,
                        help="also write a pyinstrument profile of the Cita answers to this .html file")
    parser.add_argument("--adds", type=int, default=0,
                        help="ask on a copy of the index with this many separate one-article adds")
    parser.add_argument("--hash", action="store_true",
                        help="the hash-test embedder instead of the model (an index of its own)")
    parser.add_argument("--first-round-features", action="store_true",
                        help="answer as on 2026-11-28: 3 passages instead of answering.POOL, no check for "
                             "sources that disagree (what the news work added costs, measured on this code)")
    args = parser.parse_args(argv)
    if args.first_round_features:
        import answer.answering
        import answer.disagreements

        answer.answering.POOL = 3
        answer.disagreements.add_disagreements = lambda answer, passages, view, lang="en": set()

    from cita.app import make_answerer, make_embedder

    if args.hash:
        index, embedder = hash_index(args.articles)
    elif args.adds:
        # the 10,000-chunk index is only read and copied (with_adds), never written: no
        # unchanged rebuild on it, no embedding cache opened in it
        embedder = make_embedder(settings_for(big_dirs(args.articles)[1]))
        index = existing_index(big_dirs(args.articles)[1])
    else:
        embedder = make_embedder(settings_for(big_dirs(args.articles)[1]))
        index = ensure_big_index(embedder, articles=args.articles)
    if args.adds:
        index = with_adds(index, embedder, args.adds, args.articles)
    settings = settings_for(index["data_dir"], **({"CITA_EMBED_MODEL": "hash-test"} if args.hash else {}))
    answerer = make_answerer(settings, embedder)
    view = answerer.library.view()
    chunks = view.chunks_col

    def baseline(q: str) -> None:
        v = embedder.query(q)
        chunks.query(query_embeddings=[v.tolist()], n_results=K)

    def cita(q: str):
        return answerer.ask(q, k=K)

    asked = questions(args.questions + WARMUP)
    for q in asked[:WARMUP]:  # loads the HNSW indexes and warms the caches, for both paths
        baseline(q.text)
        cita(q.text)
    asked = asked[WARMUP:]

    profiler = None
    if args.profile:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0005)

    wall = {"cita": [], "base": []}
    cpu = {"cita": [], "base": []}
    parts: dict[str, list[float]] = {}
    abstained = 0
    for i, q in enumerate(asked):
        order = ("cita", "base") if i % 2 == 0 else ("base", "cita")
        for which in order:
            t, c = time.perf_counter(), time.thread_time()
            if which == "base":
                baseline(q.text)
            else:
                if profiler:
                    profiler.start()
                answer = cita(q.text)
                if profiler:
                    profiler.stop()
                abstained += answer.abstained
                for key, ms in answer.timings_ms.items():
                    parts.setdefault(key, []).append(ms)
            wall[which].append((time.perf_counter() - t) * 1000)
            cpu[which].append((time.thread_time() - c) * 1000)
    if profiler:
        args.profile.parent.mkdir(parents=True, exist_ok=True)
        args.profile.write_text(profiler.output_html())
        print(profiler.output_text(unicode=True, color=False, show_all=False))

    n = len(asked)
    figures = {
        "questions": n,
        "index_segments": len(view.segments),
        "index_articles": index["articles"],
        "index_chunks": index["chunks"],
        "index_sentences": index["sentences"],
        "index_distinct_embeddings": index["distinct_embeddings"],
        "baseline_p50_ms": percentile(wall["base"], 50),
        "baseline_p95_ms": percentile(wall["base"], 95),
        "answer_p50_ms": percentile(wall["cita"], 50),
        "answer_p95_ms": percentile(wall["cita"], 95),
        "answer_p50_ratio": percentile(wall["cita"], 50) / percentile(wall["base"], 50),
        "answer_cpu_p95_ratio": percentile(cpu["cita"], 95) / percentile(cpu["base"], 95),
        **{f"answer_{k}_p50_ms": percentile(v, 50) for k, v in parts.items() if k != "total"},
        "abstained_share": round(abstained / n, 3),
        "rss_mb": rss_mb(),
        "answer_p95_ratio": percentile(wall["cita"], 95) / percentile(wall["base"], 95),
    }
    name = "answer_latency" + ("-hash" if args.hash else "") + (f"-adds{args.adds}" if args.adds else "") + (
        "-first-round-features" if args.first_round_features else "")
    report(name if args.articles == BIG_ARTICLES else name + "-smoke", figures, notes=[
        f"index: {index['articles']} synthetic articles recombined from XQuAD sentences (bench/corpus.py), "
        f"{index['chunks']} chunks, {index['sentences']} sentence rows; the index needed "
        f"{index['distinct_embeddings']} distinct embeddings (every chunk is a distinct text; sentences "
        "repeat across articles and come from the embedding cache)",
        f"baseline: embedder.query + bare chunks_collection.query(n_results={K}); Cita: Answerer.ask(k={K}), "
        "extractive; wall times; cpu ratio from thread CPU time",
    ])
    return 0


def hash_index(articles: int) -> tuple[dict, object]:
    """The benchmark corpus indexed with the hash-test embedder (data/bench/hash-N; reused)."""
    from bench.common import BENCH
    from bench.corpus import write_corpus
    from cita.app import make_builder, make_embedder

    corpus = write_corpus(big_dirs(articles)[0], articles)
    data = BENCH / f"hash-{articles}"
    settings = settings_for(data, CITA_EMBED_MODEL="hash-test")
    embedder = make_embedder(settings)
    builder = make_builder(settings, embedder)
    try:
        built = builder.rebuild([corpus])
    finally:
        builder.close()
    return {"articles": built.articles, "chunks": built.chunks, "sentences": built.sentences, "data_dir": data,
            "distinct_embeddings": built.embedded}, embedder


def existing_index(data_dir: Path) -> dict:
    """What a built index holds, read from its current manifest alone (nothing in it is opened
    for writing); SystemExit when there is none."""
    from index.store import LocalStore, StoreError

    try:
        generation, head = LocalStore(data_dir).current_header()
    except StoreError as e:
        raise SystemExit(f"no index in {data_dir} ({e}): build it first with bench/answer_latency.py") from None
    articles = head["article_count"] if "article_count" in head else len(head["articles"])
    return {"articles": articles, "chunks": head["chunks"], "sentences": head.get("sentences", 0),
            "data_dir": Path(data_dir), "distinct_embeddings": None, "generation": generation}


def with_adds(index: dict, embedder, adds: int, articles: int) -> dict:
    """A copy of the index with `adds` separate one-article adds (new articles of the corpus
    generator), as `cita index add` makes them. The index itself is only read: everything is
    written in the copy (also the article lists an index written before them gets on its first
    add)."""
    import json
    import shutil

    from bench.common import cached_vectors
    from bench.corpus import make_articles
    from cita.app import make_builder

    src = Path(index["data_dir"])
    data = src.with_name(src.name + f"-adds{adds}")
    shutil.rmtree(data, ignore_errors=True)
    shutil.copytree(src, data, ignore=shutil.ignore_patterns("readers", "*.lock", "trash"))
    if index.get("distinct_embeddings") is None:  # counted in the copy, before its adds
        index = {**index, "distinct_embeddings": cached_vectors(data)}
    folder = data.with_name(data.name + "-articles")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    settings = settings_for(data, **({"CITA_EMBED_MODEL": embedder.name} if embedder.name == "hash-test" else {}))
    builder = make_builder(settings, embedder)
    try:
        for i, record in enumerate(make_articles(articles + adds)[articles:]):
            path = folder / f"add-{i:03d}.jsonl"
            path.write_text(json.dumps(record, ensure_ascii=False) + "\n", encoding="utf-8")
            summary = builder.add([str(path)])
    finally:
        builder.close()
    return {**index, "data_dir": data, "articles": summary.articles, "chunks": summary.chunks,
            "sentences": summary.sentences}


if __name__ == "__main__":
    raise SystemExit(main())
