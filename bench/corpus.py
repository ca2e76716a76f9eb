"""The synthetic news corpus the benchmarks index, recombined from the XQuAD paragraphs.

XQuAD has 240 paragraphs per language, far fewer than the 10,000 chunks the latency benchmark
needs. This module splits the Spanish and English paragraphs into sentences (with Cita's own
sentence splitter) and recombines them into distinct articles: each article is monolingual,
has a title, a date and a URL, and 3-6 paragraphs of 3-6 sentences drawn from the pool of its
language. Every article text is different (so no article is a duplicate and every chunk is a
distinct text that must be embedded once), while the *sentences* come from a pool of about
2,500, so the sentence vectors the index also stores mostly repeat and hit the embedding cache.
The benchmarks print how many distinct embeddings the index needed.

Deterministic: the same arguments give byte-identical files.

    .venv/bin/python bench/corpus.py --articles 2800 --out data/bench/corpus
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# the shared material beside the checkout (or beside a folder of worktrees holding it)
XQUAD = next((p / "shared" / "eval" / "xquad" for p in ROOT.parents if (p / "shared" / "eval" / "xquad").is_dir()),
             ROOT.parent / "shared" / "eval" / "xquad")
SEED = 20240605


@dataclass(frozen=True)
class Question:
    qid: str
    text: str
    language: str


def _paragraphs(language: str, directory: Path = XQUAD) -> list[tuple[str, str]]:
    """(XQuAD article title, paragraph text) for every paragraph of one language."""
    data = json.loads((directory / f"xquad.{language}.json").read_text(encoding="utf-8"))
    return [(a["title"].replace("_", " "), p["context"].strip("\ufeff \n\t"))
            for a in data["data"] for p in a["paragraphs"]]


def sentence_pool(language: str, directory: Path = XQUAD) -> list[tuple[str, str]]:
    """(topic, sentence) pairs: the sentences of the XQuAD paragraphs of one language, as Cita's
    splitter cuts them, keeping only those that stay one sentence when placed next to others
    (they start with a capital, a digit or a quote and end with closing punctuation)."""
    from index.text import sentence_spans

    pool, seen = [], set()
    for topic, text in _paragraphs(language, directory):
        for s, e in sentence_spans(text):
            sent = text[s:e]
            if sent in seen or len(sent.split()) < 4:
                continue
            if not (sent[0].isupper() or sent[0].isdigit() or sent[0] in "\"'“«¿¡("):
                continue
            if sent[-1] not in ".!?…\"'”»)":
                continue
            seen.add(sent)
            pool.append((topic, sent))
    return pool


def make_articles(n: int, *, seed: int = SEED, directory: Path = XQUAD) -> list[dict]:
    """n distinct articles (jsonl records), alternating Spanish and English."""
    rng = random.Random(seed)
    pools = {lang: sentence_pool(lang, directory) for lang in ("es", "en")}
    seen: set[str] = set()
    records = []
    i = 0
    while len(records) < n:
        lang = "es" if i % 2 == 0 else "en"
        pool = pools[lang]
        paragraphs = []
        for _ in range(rng.randint(3, 6)):
            k = rng.randint(3, 6)
            paragraphs.append(" ".join(sent for _, sent in rng.sample(pool, k)))
        text = "\n\n".join(paragraphs)
        i += 1
        if text in seen:
            continue
        seen.add(text)
        topic = pool[rng.randrange(len(pool))][0]
        day = 1 + (len(records) % 28)
        month = 1 + (len(records) // 28) % 12
        records.append({
            "title": f"{topic}: {'noticia' if lang == 'es' else 'report'} {len(records) + 1}",
            "text": text,
            "url": f"https://news.example/{lang}/{len(records) + 1:05d}",
            "published": f"2025-{month:02d}-{day:02d}",
        })
    return records


PER_FILE = 400  # articles per .jsonl file (each stays well under Cita's 5 MB file limit)


def write_corpus(folder: Path, n: int, *, seed: int = SEED) -> Path:
    """Write the corpus as .jsonl files of PER_FILE articles in `folder`. A file is rewritten
    only when its content would change (an unchanged rebuild then really sees unchanged input);
    files of an earlier, larger corpus are removed."""
    folder.mkdir(parents=True, exist_ok=True)
    records = make_articles(n, seed=seed)
    wanted = set()
    for part, i in enumerate(range(0, len(records), PER_FILE)):
        path = folder / f"news-{part:03d}.jsonl"
        wanted.add(path.name)
        body = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records[i:i + PER_FILE])
        if not path.exists() or path.read_text(encoding="utf-8") != body:
            path.write_text(body, encoding="utf-8")
    for old in folder.glob("*.jsonl"):
        if old.name not in wanted:
            old.unlink()
    return folder


def questions(n: int, *, seed: int = SEED, directory: Path = XQUAD) -> list[Question]:
    """n XQuAD questions, half English and half Spanish, in a fixed random order."""
    rng = random.Random(seed + 1)
    out = []
    for lang in ("en", "es"):
        data = json.loads((directory / f"xquad.{lang}.json").read_text(encoding="utf-8"))
        qs = [Question(q["id"], q["question"], lang) for a in data["data"] for p in a["paragraphs"]
              for q in p["qas"]]
        out += rng.sample(qs, n // 2 + (n % 2 if lang == "en" else 0))
    rng.shuffle(out)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=2800)
    parser.add_argument("--out", type=Path, default=ROOT / "data" / "bench" / "corpus")
    args = parser.parse_args(argv)
    path = write_corpus(args.out, args.articles)
    pools = {lang: len(sentence_pool(lang)) for lang in ("es", "en")}
    print(f"wrote {args.articles} articles to {path}")
    print(f"sentence_pool_es: {pools['es']}")
    print(f"sentence_pool_en: {pools['en']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
