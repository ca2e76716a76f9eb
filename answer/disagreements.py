"""Sources that disagree: the same statement with another date or number in another article.

For each quote of an answer, the index is searched for the sentences nearest to it (the quote's
own vector against every sentence, one Chroma query). A sentence of another article that says
nearly the same thing (cosine >= SAME_STATEMENT: restatements, wire copies and translations of
one statement, where different statements of one article score 0.75-0.86) but gives another set
of dates, or of numbers, states the fact differently. The answer then shows both versions, each
quoted verbatim with its outlet and date, and says that they differ. Agreeing versions are not
listed (the quote's copies appear under "also reported by").

Dates are compared as days ("23 de enero" and "January 23" agree), numbers as values with
their thousands separators removed ("1.500" and "1,500" agree); years alone are not numbers
here. Two sentences about two different events that read alike ("200 kg seized on Monday",
"300 kg seized on Tuesday") would also be reported as differing: the reader sees both, dated.
"""

from __future__ import annotations

import datetime as dt
import re

from index.dates import DAY_MONTH, ISO, MONTH_DAY, MONTH_YEAR, NUMERIC, format_day, mentioned_dates
from index.retrieval import IndexView, Passage
from index.text import fold, guess_language, parse_sentence_id

SAME_STATEMENT = 0.9
# In one language the two sentences must also share most of their words besides the dates and
# numbers (Jaccard of folded words): "the first test train reached 280 km/h" and "the second
# test train reached 302 km/h" read alike (cosine > 0.9) but are two events, not a disagreement.
SAME_WORDS = 0.6
# Across languages only the vectors can tell, and must be closer.
SAME_STATEMENT_CROSS = 0.93
# Reports more than this many days apart are an update, not a disagreement.
WITHIN_DAYS = 7
NEIGHBOURS = 12
_NUMBER = re.compile(r"(?<![\w.,])\d{1,3}(?:[.,]\d{3})+(?![\d])|(?<![\w.,])\d+(?:[.,]\d+)?(?![\w])")
_YEAR = re.compile(r"^(?:19|20)\d\d$")


def facts(sentence: str, published: str = "") -> tuple[frozenset[str], frozenset[str]]:
    """(days or months the sentence states, numbers it states outside those dates)."""
    dates = frozenset(f if f == l else f"{f}/{l}" for f, l in mentioned_dates(sentence, published=published))
    folded = fold(sentence)
    for pattern in (ISO, DAY_MONTH, MONTH_DAY, NUMERIC, MONTH_YEAR):
        folded = pattern.sub(" ", folded)
    numbers = set()
    for m in _NUMBER.finditer(folded):
        raw = m.group()
        if _YEAR.match(raw):
            continue
        if re.fullmatch(r"\d{1,3}(?:[.,]\d{3})+", raw):
            value = raw.replace(".", "").replace(",", "")
        else:
            value = raw.replace(",", ".")
        numbers.add(value.rstrip("0").rstrip(".") if "." in value else value)
    return dates, frozenset(numbers)


def _describe(kind: str, values: frozenset[str], lang: str) -> str:
    if kind == "numbers":
        return ", ".join(sorted(values))
    out = []
    for v in sorted(values):
        try:
            out.append(format_day(dt.date.fromisoformat(v[:10]), lang) if "/" not in v else v)
        except ValueError:
            out.append(v)
    return ", ".join(out)


def add_disagreements(answer, passages: list[Passage], view: IndexView, lang: str = "en") -> set[str]:
    """Find the differing statements of the answer's quotes, add each as a citation and a
    `disagreements` entry (with a one-line summary appended to the answer text). Returns the ids
    of the articles that differ (they are not "also reported by")."""
    from .answering import Citation, quoted

    vectors = {(p.chunk.article_id, s, e): v for p in passages for (s, e), v in p.sentence_vectors.items()}
    numbers = {c.article_id: c.n for c in answer.citations}
    differing: set[str] = set()
    added = []
    cited = {(c.article_id, c.start, c.end) for c in answer.citations}
    # the quotes that state a date or a number, and the sentences nearest each (one query for all)
    stating = []
    for c in list(answer.citations):
        vec = vectors.get((c.article_id, c.start, c.end))
        if vec is None:
            continue
        meta = view.articles.get(c.article_id, {})
        mine = facts(c.quote, meta.get("published", ""))
        if mine[0] or mine[1]:
            stating.append((c, vec, meta, mine))
    nearest = view.query_many([vec for _, vec, _, _ in stating], 1, NEIGHBOURS)
    for (c, _, meta, mine), near in zip(stating, nearest):
        by_value: dict[tuple[str, frozenset[str]], tuple[float, str, int, int, str]] = {}
        for sid, sim in near.items():
            aid, s, e = parse_sentence_id(sid)
            if sim < SAME_STATEMENT or aid == c.article_id or aid not in view.articles:
                continue
            rows = view.chunks_of_sentence(sid)
            if not rows:
                continue
            if (aid, s, e) in cited:
                continue
            text = view.rows[rows[0]].sentence_text(s, e)
            if not same_statement(c.quote, text, sim, meta, view.articles[aid]):
                continue
            theirs = facts(text, view.articles[aid].get("published", ""))
            for kind, a, b in (("dates", mine[0], theirs[0]), ("numbers", mine[1], theirs[1])):
                if a and b and a != b:
                    key = (kind, b)
                    if key not in by_value or by_value[key][0] < sim:
                        by_value[key] = (sim, aid, s, e, text)
                    break
        by_value = {k: v for k, v in by_value.items() if (v[1], v[2], v[3]) not in cited}
        if not by_value:
            continue
        statements = [_statement(c.n, c.quote, meta, lang, c.start)]
        kinds = set()
        for (kind, values), (sim, aid, s, e, text) in sorted(by_value.items(), key=lambda kv: -kv[1][0]):
            other = view.articles[aid]
            if (aid, s, e) in cited:
                continue
            cited.add((aid, s, e))
            n = numbers.setdefault(aid, len(numbers) + 1)
            cit = Citation(n=n, article_id=aid, title=other.get("title", ""), source=other.get("source", ""),
                           published=other.get("published", ""), quote=text, start=s, end=e, score=round(sim, 4))
            answer.citations.append(cit)
            statements.append(_statement(n, text, other, lang, s))
            differing.add(aid)
            kinds.add(kind)
            statements[0].setdefault("values", {})
            statements[0]["values"][kind] = _describe(kind, mine[0 if kind == "dates" else 1], lang)
            statements[-1]["values"] = {kind: _describe(kind, values, lang)}
        kind = "dates" if "dates" in kinds else "numbers"
        entry = {"about": c.n, "kind": kind, "statements": statements, "summary": _summary(kind, statements, lang)}
        added.append(entry)
    if added:
        answer.disagreements = added
        if answer.mode == "extractive":
            answer.answer = " ".join(f"{quoted(c.quote)} [{c.n}]" for c in answer.citations)
        answer.answer += " " + " ".join(d["summary"] for d in added)
    return differing


_WORDS = re.compile(r"[^\W\d]+", re.UNICODE)


def _content_words(text: str) -> set[str]:
    from index.dates import MONTHS

    return {w for w in _WORDS.findall(fold(text)) if w not in MONTHS}


def same_statement(a: str, b: str, sim: float, meta_a: dict, meta_b: dict) -> bool:
    """Whether two sentences state the same fact (so different values in them disagree)."""
    pa, pb = meta_a.get("published", ""), meta_b.get("published", "")
    if pa and pb:
        try:
            if abs((dt.date.fromisoformat(pa[:10]) - dt.date.fromisoformat(pb[:10])).days) > WITHIN_DAYS:
                return False
        except ValueError:
            pass
    la, lb = guess_language(a), guess_language(b)
    if la != lb or la == "und":
        return sim >= SAME_STATEMENT_CROSS
    wa, wb = _content_words(a), _content_words(b)
    return bool(wa | wb) and len(wa & wb) / len(wa | wb) >= SAME_WORDS


def _statement(n: int, quote: str, meta: dict, lang: str, start: int) -> dict:
    from .news import outlet_of

    return {"n": n, "quote": quote, "outlet": outlet_of(meta), "published": meta.get("published", ""),
            "source": meta.get("source", ""), "article_id": meta.get("id", ""), "start": start,
            "end": start + len(quote), "title": meta.get("title", "")}


def renumber_disagreements(answer, lang: str = "en") -> None:
    """After an LLM rewrote the answer (its own citation numbers, its own quotes): every
    statement of a disagreement is cited in the answer (added when missing) and the summaries
    use the answer's numbers."""
    from .answering import Citation

    if not answer.disagreements:
        return
    numbers = {c.article_id: c.n for c in answer.citations}
    cited = {(c.article_id, c.start) for c in answer.citations}
    for d in answer.disagreements:
        for st in d["statements"]:
            n = numbers.setdefault(st["article_id"], max(numbers.values(), default=0) + 1)
            st["n"] = n
            if (st["article_id"], st["start"]) not in cited:
                cited.add((st["article_id"], st["start"]))
                answer.citations.append(Citation(
                    n=n, article_id=st["article_id"], title=st.get("title", ""), source=st["source"],
                    published=st["published"], quote=st["quote"], start=st["start"], end=st["end"], score=0.0))
        d["about"] = d["statements"][0]["n"]
        d["summary"] = _summary(d["kind"], d["statements"], lang)


def _summary(kind: str, statements: list[dict], lang: str) -> str:
    es = lang == "es"
    parts = []
    for st in statements:
        when = ""
        if st["published"]:
            try:
                when = ", " + format_day(dt.date.fromisoformat(st["published"][:10]), lang)
            except ValueError:
                when = ", " + st["published"]
        value = st.get("values", {}).get(kind, "")
        parts.append(f"[{st['n']}] {st['outlet']}{when}: {value}")
    if es:
        what = "la fecha" if kind == "dates" else "la cifra"
        return f"Las fuentes no coinciden en {what}: " + "; ".join(parts) + "."
    what = "the date" if kind == "dates" else "the figure"
    return f"The sources differ on {what}: " + "; ".join(parts) + "."
