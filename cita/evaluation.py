"""`cita eval xquad`: answer quality on XQuAD, measured through the same code as `cita ask`.

The paragraphs of one language become articles (one per XQuAD article, paragraphs separated by
blank lines) in a data dir of their own; the questions of another language are asked; a hit is
a passage or quote that contains the gold answer of the paragraph language.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from answer.answering import Answerer
from .settings import Settings


@dataclass
class Item:
    qid: str
    question: str
    article_key: str
    answer: str
    answer_start: int  # in the article text


def load_xquad(directory: Path, paragraphs: str, questions: str) -> tuple[list[dict], list[Item]]:
    """Articles as jsonl records, and the questions with their gold answers in article offsets."""
    para = json.loads((directory / f"xquad.{paragraphs}.json").read_text(encoding="utf-8"))
    ques = json.loads((directory / f"xquad.{questions}.json").read_text(encoding="utf-8"))
    asked = {q["id"]: q["question"] for a in ques["data"] for p in a["paragraphs"] for q in p["qas"]}
    records, items = [], []
    for n, art in enumerate(para["data"]):
        title = art["title"].replace("_", " ")
        text, key = "", f"xquad-{paragraphs}-{n:02d}"
        for p in art["paragraphs"]:
            raw = p["context"]
            lead = len(raw) - len(raw.lstrip("\ufeff \n\t"))
            context = raw.strip("\ufeff \n\t")
            offset = len(text)
            for q in p["qas"]:
                if q["id"] not in asked:
                    continue
                a = q["answers"][0]
                start = a["answer_start"] - lead
                if context[start:start + len(a["text"])] != a["text"]:
                    start = max(context.find(a["text"]), 0)
                items.append(Item(q["id"], asked[q["id"]], key, a["text"], offset + start))
            text += context + "\n\n"
        records.append({"title": title, "text": text.strip(), "url": f"https://xquad.example/{key}",
                        "source": key})
    return records, items


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else 0.0


def run_xquad(settings: Settings, *, directory: Path, paragraphs: str = "es", questions: str = "en",
              limit: int | None = None, progress: bool = False) -> dict:
    from index.articles import make_article

    from .app import make_answerer, make_builder, make_embedder

    records, items = load_xquad(directory, paragraphs, questions)
    data_dir = settings.data_dir / "eval" / f"xquad-{paragraphs}"
    data_dir.mkdir(parents=True, exist_ok=True)
    corpus = data_dir / "articles" / "xquad.jsonl"
    corpus.parent.mkdir(parents=True, exist_ok=True)
    corpus.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    eval_settings = settings.replace(data_dir=data_dir, llm_base_url="")
    embedder = make_embedder(eval_settings)
    builder = make_builder(eval_settings, embedder, progress=progress)
    build = builder.rebuild([corpus.parent])
    builder.close()
    answerer: Answerer = make_answerer(eval_settings, embedder)
    texts = {make_article(key=r["url"], title=r["title"], text=r["text"], source=r["url"]).id: r["text"]
             for r in records}
    ids = {r["source"]: make_article(key=r["url"], title=r["title"], text=r["text"], source=r["url"]).id
           for r in records}
    if limit:
        items = items[:limit]
    ranks, contains, abstained, non_verbatim, latencies = [], 0, 0, 0, []
    for item in items:
        t = time.perf_counter()
        answer = answerer.ask(item.question, k=5)
        latencies.append((time.perf_counter() - t) * 1000)
        gold_article = ids[item.article_key]
        rank = next((i for i, p in enumerate(answer.passages)
                     if p.chunk.article_id == gold_article and p.chunk.start <= item.answer_start < p.chunk.end), None)
        ranks.append(rank)
        abstained += answer.abstained
        if any(texts.get(c.article_id, "")[c.start:c.end] != c.quote for c in answer.citations):
            non_verbatim += 1
        if not answer.abstained and any(item.answer in c.quote for c in answer.citations):
            contains += 1
    n = len(items) or 1
    return {
        "questions": len(items),
        "recall_at_1": round(sum(r == 0 for r in ranks) / n, 4),
        "recall_at_5": round(sum(r is not None and r < 5 for r in ranks) / n, 4),
        "mrr": round(sum(1 / (r + 1) for r in ranks if r is not None) / n, 4),
        "answer_contains": round(contains / n, 4),
        "abstained": round(abstained / n, 4),
        "non_verbatim": non_verbatim,
        "p50_ms": round(percentile(latencies, 50), 1),
        "p95_ms": round(percentile(latencies, 95), 1),
        "paragraphs": paragraphs,
        "question_language": questions,
        "index": build.as_dict() | {"skipped": len(build.skipped)},
    }
