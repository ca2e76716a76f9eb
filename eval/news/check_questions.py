#!/usr/bin/env python3
"""Check a news evaluation set: DIR/articles/ and DIR/questions.jsonl (standard library only).

    python eval/news/check_questions.py                      # eval/news
    python eval/news/check_questions.py tests/fixtures/news  # the unit-test fixture
    python eval/news/check_questions.py --loader             # also through Cita's own loader

It checks that
- every line of questions.jsonl is a JSON object with `q`, `kind` (single, multi, date, latest,
  who_said, abstain, offtopic), `any` and `sources` (lists of strings), and `today` (YYYY-MM-DD)
  only as an optional field;
- answerable questions have `any` and `sources`; abstain and offtopic questions have neither;
- every source names an article: a file under articles/ (by its name or its path below
  articles/), an HTML page's canonical URL, or a .jsonl record's `url`;
- every `any` string occurs, compared case-insensitively with whitespace normalised, in the
  text of at least one of the question's sources (for HTML, the visible text of <body>);
- every abstain question has patterns in abstain_checks.json ({question: [regex, ...]}) that
  describe the fact it asks for, and none of them matches any article;
- with --loader (run inside Cita's environment), the same `any` strings also occur in the text
  Cita's loader extracts (index.articles.load_paths: trafilatura for HTML).

It then prints counts per kind, per question language, cross-language questions, articles per
format, language and outlet. The exit status is 1 when a check fails.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import sys
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

KINDS = ("single", "multi", "date", "latest", "who_said", "abstain", "offtopic")
NO_ANSWER = {"abstain", "offtopic"}
FIELDS = {"q", "kind", "any", "sources", "today"}

ES_WORDS = set("el la los las de del que en y por para con una un es se al lo como más pero sus su "
               "qué cuál cuándo cuántos cuántas quién dónde según hasta sobre entre este esta".split())
EN_WORDS = set("the of and to in a is that for on with as by was were at from which what who when "
               "how did does said has have will about its their this".split())


def norm(s: str) -> str:
    return " ".join(s.split()).casefold()


def language(text: str) -> str:
    words = re.findall(r"[a-záéíóúñü]+", text.casefold())
    es = sum(w in ES_WORDS for w in words) + 3 * text.count("¿")
    en = sum(w in EN_WORDS for w in words)
    return "es" if es > en else "en"


class _Visible(HTMLParser):
    """Visible text of <body> (no script/style/template), plus canonical URL and site name."""

    SKIP = {"script", "style", "template", "noscript", "head"}
    BLOCK = {"p", "div", "li", "h1", "h2", "h3", "h4", "h5", "h6", "figcaption", "br", "tr", "td",
             "section", "article", "header", "footer", "nav", "aside", "ul", "ol", "figure", "time"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0
        self.meta: dict[str, str] = {}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "link" and (a.get("rel") or "").lower() == "canonical":
            self.meta["canonical"] = a.get("href") or ""
        if tag == "meta":
            key = a.get("property") or a.get("name") or ""
            if key:
                self.meta[key] = a.get("content") or ""
        if tag in self.SKIP:
            self.skip += 1
        elif tag in self.BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in self.SKIP:
            self.skip = max(0, self.skip - 1)
        elif tag in self.BLOCK:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self.skip:
            self.parts.append(data)


class Doc:
    def __init__(self, name: str, fmt: str, text: str, url: str = "", outlet: str = "",
                 published: str = "") -> None:
        self.name, self.fmt, self.text, self.url = name, fmt, text, url
        self.outlet, self.published = outlet, published
        self.normed = norm(text)
        self.lang = language(text)


def outlet_of(url: str) -> str:
    m = re.match(r"https?://(?:www\.)?([^/]+)", url or "")
    return m.group(1) if m else ""


def load_articles(folder: Path, problems: list[str]) -> list[Doc]:
    docs: list[Doc] = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")):
        name = path.relative_to(folder).as_posix()
        raw = path.read_text(encoding="utf-8")
        if path.suffix == ".html":
            parser = _Visible()
            parser.feed(raw)
            text = "".join(parser.parts)
            text = "\n".join(" ".join(line.split()) for line in text.splitlines() if line.strip())
            url = parser.meta.get("canonical") or parser.meta.get("og:url", "")
            outlet = parser.meta.get("og:site_name") or outlet_of(url)
            published = parser.meta.get("article:published_time", "")[:10]
            docs.append(Doc(name, "html", text, url, outlet, published))
        elif path.suffix in (".txt", ".md"):
            docs.append(Doc(name, "txt", raw))
        elif path.suffix == ".jsonl":
            for n, line in enumerate(raw.splitlines(), 1):
                if not line.strip():
                    continue
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError as e:
                    problems.append(f"{name}:{n}: not JSON ({e})")
                    continue
                missing = {"title", "text", "url", "published", "source"} - set(rec)
                if missing:
                    problems.append(f"{name}:{n}: record lacks {sorted(missing)}")
                text = f"{rec.get('title', '')}\n\n{rec.get('text', '')}"
                docs.append(Doc(rec.get("url") or f"{name}:{n}", "jsonl", text, rec.get("url", ""),
                                rec.get("source", ""), rec.get("published", "")))
        else:
            problems.append(f"{name}: not an article format (.html, .txt, .md, .jsonl)")
    return docs


def index_of(docs: list[Doc]) -> dict[str, list[Doc]]:
    """Every name a source may use: file name, path below articles/, URL."""
    by: dict[str, list[Doc]] = {}
    for d in docs:
        keys = {d.name, Path(d.name).name}
        if d.url:
            keys.add(d.url)
        for k in keys:
            by.setdefault(k, []).append(d)
    return by


def loader_texts(folder: Path, problems: list[str]) -> dict[str, str] | None:
    """Text of each article as Cita's loader sees it, keyed like index_of (None: not importable)."""
    repo = Path(__file__).resolve().parents[2]
    sys.path.insert(0, str(repo))
    try:
        from index.articles import load_paths
    except ImportError as e:
        problems.append(f"--loader: Cita's loader cannot be imported here ({e})")
        return None
    try:
        articles, skipped = load_paths([folder], max_bytes=5_000_000)
    except ImportError as e:
        problems.append(f"--loader: Cita's loader needs a package this Python lacks ({e})")
        return None
    for s in skipped:
        print(f"  loader skipped {s.source}: {s.reason}")
    out: dict[str, str] = {}
    for a in articles:
        src = a.source
        out[src] = norm(f"{a.title}\n{a.text}")
        out[Path(src).name] = out[src]
        if "/" in src and not src.startswith("http"):
            out[src.split("/", 1)[1]] = out[src]
    return out


def check(root: Path, use_loader: bool) -> int:
    problems: list[str] = []
    warnings: list[str] = []
    docs = load_articles(root / "articles", problems)
    by = index_of(docs)
    dup = [k for k, v in by.items() if len({id(d) for d in v}) > 1]
    for k in dup:
        problems.append(f"the name {k!r} matches several articles")
    try:
        absent = json.loads((root / "abstain_checks.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        absent = {}
    loaded = loader_texts(root / "articles", problems) if use_loader else None

    questions = []
    for n, line in enumerate((root / "questions.jsonl").read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        where = f"questions.jsonl:{n}"
        try:
            q = json.loads(line)
        except json.JSONDecodeError as e:
            problems.append(f"{where}: not JSON ({e})")
            continue
        if not isinstance(q, dict):
            problems.append(f"{where}: not an object")
            continue
        questions.append(q)
        extra = set(q) - FIELDS
        if extra:
            problems.append(f"{where}: unknown fields {sorted(extra)}")
        if not isinstance(q.get("q"), str) or not q["q"].strip():
            problems.append(f"{where}: no question text")
            continue
        kind, anys, sources = q.get("kind"), q.get("any"), q.get("sources")
        if kind not in KINDS:
            problems.append(f"{where}: kind {kind!r} is not one of {KINDS}")
        if not (isinstance(anys, list) and all(isinstance(s, str) and s.strip() for s in anys)):
            problems.append(f"{where}: `any` must be a list of non-empty strings")
            anys = []
        if not (isinstance(sources, list) and all(isinstance(s, str) and s for s in sources)):
            problems.append(f"{where}: `sources` must be a list of strings")
            sources = []
        if "today" in q:
            try:
                dt.date.fromisoformat(q["today"])
            except (TypeError, ValueError):
                problems.append(f"{where}: today {q['today']!r} is not YYYY-MM-DD")
        if kind in ("date", "latest") and "today" not in q:
            warnings.append(f"{where}: {kind} question without `today`")
        if kind in NO_ANSWER:
            if anys or sources:
                problems.append(f"{where}: {kind} questions have empty `any` and `sources`")
            if kind == "abstain":
                patterns = absent.get(q["q"])
                if not patterns:
                    problems.append(f"{where}: abstain question without patterns in abstain_checks.json")
                for pat in patterns or []:
                    rx = re.compile(pat, re.IGNORECASE)
                    for d in docs:
                        m = rx.search(d.text)
                        if m:
                            problems.append(f"{where}: abstain fact /{pat}/ is stated in {d.name}: {m.group(0)!r}")
            continue
        if not anys or not sources:
            problems.append(f"{where}: an answerable question needs `any` and `sources`")
        found_docs = []
        for s in sources:
            if s not in by:
                problems.append(f"{where}: source {s!r} is not an article")
            else:
                found_docs += by[s]
        for a in anys:
            if not any(norm(a) in d.normed for d in found_docs):
                problems.append(f"{where}: {a!r} is in none of its sources")
            names = set(sources) | {d.url for d in found_docs if d.url} | {d.name for d in found_docs}
            if loaded is not None and not any(norm(a) in loaded.get(k, "") for k in names):
                problems.append(f"{where}: {a!r} is in none of its sources as Cita's loader reads them")
        q["_src_langs"] = {d.lang for d in found_docs}
    for pat_q in absent:
        if not any(q.get("q") == pat_q for q in questions):
            warnings.append(f"abstain_checks.json: {pat_q!r} is not a question")

    # -- summary --------------------------------------------------------------------------
    kinds = Counter(q.get("kind") for q in questions)
    qlang = Counter(language(q.get("q", "")) for q in questions)
    cross = [q for q in questions if q.get("_src_langs") and language(q["q"]) not in q["_src_langs"]]
    mixed = [q for q in questions if q.get("_src_langs") and len(q["_src_langs"]) > 1]
    fmts = Counter(d.fmt for d in docs)
    langs = Counter(d.lang for d in docs)
    files = {d.name.split(":")[0] if d.fmt != "jsonl" else "jsonl" for d in docs}
    print(f"{root}: {len(docs)} articles ({', '.join(f'{k} {v}' for k, v in sorted(fmts.items()))}; "
          f"{', '.join(f'{k} {v}' for k, v in sorted(langs.items()))}), {len(files)} files")
    outlets = Counter(d.outlet for d in docs if d.outlet)
    if outlets:
        print(f"  outlets named in metadata ({len(outlets)}): " + ", ".join(sorted(outlets)))
    print(f"{len(questions)} questions: " + ", ".join(f"{k} {kinds.get(k, 0)}" for k in KINDS))
    print(f"  question language: " + ", ".join(f"{k} {v}" for k, v in sorted(qlang.items())))
    print(f"  answerable only in the other language: {len(cross)}; answered in both languages: {len(mixed)}")
    for w in warnings:
        print(f"warning: {w}")
    for p in problems:
        print(f"PROBLEM: {p}")
    print("OK" if not problems else f"{len(problems)} problem(s)")
    return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dir", nargs="?", default=str(Path(__file__).resolve().parent),
                    help="folder with articles/ and questions.jsonl (default: this folder)")
    ap.add_argument("--loader", action="store_true", help="also check the text Cita's loader extracts")
    args = ap.parse_args(argv)
    return check(Path(args.dir), args.loader)


if __name__ == "__main__":
    sys.exit(main())
