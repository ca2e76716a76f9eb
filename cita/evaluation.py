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


# -- cita eval news ---------------------------------------------------------------------------

NEWS_KINDS = ("single", "multi", "date", "latest", "who_said", "abstain", "offtopic")


class NewsEvalError(ValueError):
    """The news benchmark folder is not usable (no articles, a bad questions.jsonl line)."""


@dataclass
class NewsQuestion:
    q: str
    kind: str
    any: list[str]
    sources: list[str]
    today: str = ""


def load_news_questions(path: Path) -> list[NewsQuestion]:
    """DIR/questions.jsonl: one {"q", "kind", "any", "sources", optional "today"} a line."""
    if not path.exists():
        raise NewsEvalError(f"no questions file at {path}")
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            raise NewsEvalError(f"{path}:{n}: not valid JSON") from None
        if not isinstance(rec, dict) or not isinstance(rec.get("q"), str) or rec.get("kind") not in NEWS_KINDS:
            raise NewsEvalError(f"{path}:{n}: needs a 'q' and a 'kind' (one of {', '.join(NEWS_KINDS)})")
        out.append(NewsQuestion(rec["q"], rec["kind"], [str(a) for a in rec.get("any") or []],
                                [str(s) for s in rec.get("sources") or []], str(rec.get("today") or "")))
    return out


def _norm(text: str) -> str:
    return " ".join(text.casefold().split())


def _article_files(articles_dir: Path, max_bytes: int) -> dict[str, set[str]]:
    """Article ids by the names a question may use for them: file name, path, URL, shown source.
    Keys follow index.articles.load_paths for a folder (its name / the relative path)."""
    from index.articles import iter_files, load_file

    names: dict[str, set[str]] = {}
    root = Path(articles_dir)
    files, _ = iter_files(root)
    for path in files:
        key = str(Path(Path(root.resolve()).name) / path.relative_to(root))
        got, _ = load_file(path, max_bytes=max_bytes, key=key, shown=key)
        for a in got:
            for name in {path.name, str(path.relative_to(root)), key}:
                names.setdefault(name, set()).add(a.id)
    return names


def news_hit(question: NewsQuestion, answer, ids_of: dict[str, set[str]]) -> bool:
    """Abstain/offtopic: a hit is an abstention. Otherwise a quote (with the attribution shown
    beside it: outlet, author, agency) from one of the `sources` articles contains one of `any`."""
    if question.kind in ("abstain", "offtopic"):
        return bool(answer.abstained)
    if answer.abstained:
        return False
    allowed = set()
    for s in question.sources:
        allowed |= ids_of.get(s, set())
    golds = [_norm(a) for a in question.any if a.strip()]
    for c in answer.citations:
        if allowed and c.article_id not in allowed:
            continue
        shown = " ".join([c.quote, getattr(c, "outlet", ""), getattr(c, "author", ""), getattr(c, "agency", "")])
        if any(g in _norm(shown) for g in golds):
            return True
    return False


def run_news(settings: Settings, *, directory: Path, progress: bool = False) -> dict:
    """Index DIR/articles in a data dir of its own, ask DIR/questions.jsonl, score the answers."""
    import hashlib
    import inspect

    from index.boilerplate import is_boilerplate_text

    from .app import make_answerer, make_builder, make_embedder

    directory = Path(directory)
    articles_dir = directory / "articles"
    if not articles_dir.is_dir():
        raise NewsEvalError(f"no articles folder at {articles_dir}")
    questions = load_news_questions(directory / "questions.jsonl")
    tag = hashlib.sha256(str(directory.resolve()).encode()).hexdigest()[:10]
    data_dir = settings.data_dir / "eval" / f"news-{tag}"
    data_dir.mkdir(parents=True, exist_ok=True)
    eval_settings = settings.replace(data_dir=data_dir, llm_base_url="")
    embedder = make_embedder(eval_settings)
    builder = make_builder(eval_settings, embedder, progress=progress)
    try:
        build = builder.rebuild([articles_dir])
    finally:
        builder.close()
    answerer = make_answerer(eval_settings, embedder)
    ids_of = _article_files(articles_dir, int(settings.max_file_mb * 1_000_000))
    with answerer.library.reading() as view:
        for aid, meta in view.articles.items():
            ids_of.setdefault(meta.get("source", ""), set()).add(aid)
    texts = _article_texts(articles_dir, int(settings.max_file_mb * 1_000_000))
    takes_today = "today" in inspect.signature(answerer.ask).parameters
    with answerer.library.reading() as view:
        excluded = {aid: [tuple(x) for x in meta.get("boilerplate", [])] for aid, meta in view.articles.items()}

    by_kind: dict[str, list[int]] = {}
    rows, latencies, non_verbatim, boilerplate = [], [], 0, 0
    for question in questions:
        kwargs = {"today": _day(question.today)} if takes_today and question.today else {}
        t = time.perf_counter()
        answer = answerer.ask(question.q, use_llm=False, **kwargs)
        latencies.append((time.perf_counter() - t) * 1000)
        hit = news_hit(question, answer, ids_of)
        bad_span = [c.n for c in answer.citations if texts.get(c.article_id, "")[c.start:c.end] != c.quote]
        junk = [c.n for c in answer.citations
                if is_boilerplate_text(c.quote)
                or any(s < c.end and c.start < e for s, e in excluded.get(c.article_id, []))]
        non_verbatim += bool(bad_span)
        boilerplate += bool(junk)
        by_kind.setdefault(question.kind, [0, 0])
        by_kind[question.kind][0] += hit
        by_kind[question.kind][1] += 1
        rows.append({"q": question.q, "kind": question.kind, "hit": hit, "abstained": answer.abstained,
                     "reason": getattr(answer, "reason", ""),
                     "quotes": [{"n": c.n, "quote": c.quote, "source": c.source,
                                 "outlet": getattr(c, "outlet", "")} for c in answer.citations],
                     "non_verbatim": bool(bad_span), "boilerplate": bool(junk),
                     "ms": round(latencies[-1], 1)})
    hits = sum(h for h, _ in by_kind.values())
    return {
        "by_kind": {k: {"hits": h, "questions": n, "rate": round(h / n, 3)}
                    for k in NEWS_KINDS if k in by_kind for h, n in [by_kind[k]]},
        "overall": round(hits / (len(questions) or 1), 3),
        "hits": hits,
        "non_verbatim": non_verbatim,
        "boilerplate": boilerplate,
        "p50_ms": round(percentile(latencies, 50), 1),
        "p95_ms": round(percentile(latencies, 95), 1),
        "questions": rows,
        "index": build.as_dict() | {"skipped": [f"{s.source}: {s.reason}" for s in build.skipped]},
    }


def _day(iso: str):
    import datetime as dt

    try:
        return dt.date.fromisoformat(iso)
    except ValueError:
        raise NewsEvalError(f"'today' must be YYYY-MM-DD, not {iso!r}") from None


def _article_texts(articles_dir: Path, max_bytes: int) -> dict[str, str]:
    from index.articles import load_paths

    articles, _ = load_paths([articles_dir], max_bytes=max_bytes)
    return {a.id: a.text for a in articles}
