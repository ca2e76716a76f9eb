"""Timelines: the dated quotes about a topic across articles, in date order, one per event.

`build_timeline(answerer, topic, today=...)` retrieves the passages about the topic (within the
topic's own window when it names one: "timeline of the talks in January"), takes from each
relevant passage the sentence that matches the topic best, and dates it by its article's
publication date (an undated article's sentence by the day it mentions, or it is left out).
Statements that are the same event reported again (wire copies, the same sentence restated or
translated the next day: cosine >= SAME_EVENT) are one event, shown once at its earliest date
with the other outlets as "also reported by". Each event is quoted verbatim and cited.

The result is a plain structure (`Timeline.as_dict()` for --json and Discord);
`render_timeline` writes it for a terminal.
"""

from __future__ import annotations

import datetime as dt
import textwrap
from dataclasses import asdict, dataclass, field

from index.dates import format_day, mentioned_dates
from index.text import guess_language
from index.retrieval import background_similarity, query_vector, retrieve

from .answering import NOT_IN_ARTICLES, clean_question, quoted, supported
from .disagreements import SAME_STATEMENT_CROSS, SAME_WORDS, _content_words, facts
from .news import copies_of, group_of, outlet_of, plan_question, uncovered_message

TIMELINE_CANDIDATES = 24
RELEVANT_MARGIN = 0.15  # passages within this of the best dense score are about the topic
SENTENCE_MARGIN = 0.12  # and a sentence within this of the best sentence
SAME_EVENT = 0.88  # cosine of two sentences saying the same thing (SAME_CONTENT in answering)
SHARED_FIGURE = 0.85  # ... when they state the same figure
SAME_EVENT_DAYS = 1  # ... across languages, when published at most this many days apart
MAX_EVENTS = 12


@dataclass
class _Candidate:
    date: str
    score: float
    article_id: str
    start: int
    end: int
    quote: str
    vector: object = None
    others: list[str] = field(default_factory=list)  # other articles reporting the same event


@dataclass
class TimelineEvent:
    date: str  # ISO: the article's publication date (or the day an undated article names)
    n: int  # citation number (one per article)
    quote: str
    article_id: str
    title: str
    source: str
    outlet: str
    published: str
    start: int
    end: int
    score: float
    also_reported_by: list[dict] = field(default_factory=list)


@dataclass
class Timeline:
    topic: str
    events: list[TimelineEvent] = field(default_factory=list)
    abstained: bool = False
    message: str = ""
    window: dict | None = None
    today: str = ""
    generation: str = ""

    def as_dict(self) -> dict:
        return {"topic": self.topic, "abstained": self.abstained, "message": self.message,
                "window": self.window, "today": self.today, "generation": self.generation,
                "events": [asdict(e) for e in self.events]}


def build_timeline(answerer, topic: str, *, today: dt.date | None = None, limit: int = MAX_EVENTS) -> Timeline:
    topic = clean_question(topic, max_chars=answerer.max_question_chars)
    library = answerer.library
    with library.reading() as view:
        plan = plan_question(topic, view.articles, today)
        timeline = Timeline(topic=topic, today=plan.time.today.isoformat(), generation=view.generation,
                            window=plan.time.window.as_dict() if plan.time.window else None)
        qvec = query_vector(library.embedder, topic)
        background = background_similarity(view, qvec)
        passages = retrieve(view, qvec, topic, k=TIMELINE_CANDIDATES, only=plan.asof if plan.uncovered else
                            plan.only if plan.only is not None else plan.asof)
        if not supported(topic, passages, answerer.thresholds, background):
            timeline.abstained = True
            timeline.message = NOT_IN_ARTICLES
            return timeline
        if plan.uncovered:  # on the topic, but no article covers the window
            timeline.abstained = True
            timeline.message = uncovered_message(plan.time.window, plan.visible(view.articles), plan.lang)
            return timeline
        articles = view.articles
        best_dense = max(p.dense for p in passages)
        best_sentence = max((max(p.sentence_scores.values(), default=0.0) for p in passages), default=0.0)
        candidates: list[_Candidate] = []
        for p in passages:
            if p.dense < best_dense - RELEVANT_MARGIN or not p.sentence_scores:
                continue
            (s, e), sim = max(p.sentence_scores.items(), key=lambda kv: kv[1])
            if sim < best_sentence - SENTENCE_MARGIN:
                continue
            c = _Candidate(date=articles.get(p.chunk.article_id, {}).get("published", ""), score=sim,
                           article_id=p.chunk.article_id, start=s, end=e, quote=p.chunk.sentence_text(s, e),
                           vector=p.sentence_vectors.get((s, e)))
            copy = earliest_copy(view, articles, c.article_id, c.quote)
            if copy is not None:  # the same words, published first by another outlet: cite that one
                c.article_id, c.start, c.end, c.quote = copy
                c.date = articles[copy[0]]["published"]
            if not c.date:  # an undated article: the day its sentence names, if one
                days = [f for f, l in mentioned_dates(c.quote) if f == l]
                c.date = days[0] if days else ""
            if c.date:
                candidates.append(c)
    # one per event: earliest first, so a restatement joins the first report of it
    candidates.sort(key=lambda c: (c.date, -c.score))
    events: list[_Candidate] = []
    for c in candidates:
        same = next((ev for ev in events if (ev.article_id, ev.start) == (c.article_id, c.start) or (
            ev.article_id != c.article_id and ev.vector is not None and c.vector is not None
            and _same_event(ev.quote, c.quote, float(ev.vector @ c.vector), _days_apart(ev.date, c.date)))), None)
        if same is None:
            events.append(c)
        elif c.article_id != same.article_id and c.article_id not in same.others:
            same.others.append(c.article_id)
    # the best `limit` events, in date order
    events = sorted(sorted(events, key=lambda ev: -ev.score)[:limit], key=lambda ev: (ev.date, -ev.score))
    numbers: dict[str, int] = {}
    for ev in events:
        meta = articles.get(ev.article_id, {})
        also = copies_of(articles, ev.article_id)
        listed = {x["article_id"] for x in also} | {ev.article_id}
        for other in ev.others:
            if other not in listed:
                o = articles.get(other, {})
                also.append({"article_id": other, "outlet": outlet_of(o), "title": o.get("title", ""),
                             "source": o.get("source", ""), "published": o.get("published", "")})
                listed.add(other)
        timeline.events.append(TimelineEvent(
            date=ev.date, n=numbers.setdefault(ev.article_id, len(numbers) + 1), quote=ev.quote,
            article_id=ev.article_id, title=meta.get("title", ""), source=meta.get("source", ""),
            outlet=outlet_of(meta), published=meta.get("published", ""), start=ev.start, end=ev.end,
            score=round(float(ev.score), 4), also_reported_by=also))
    if not timeline.events:
        timeline.abstained = True
        timeline.message = ("Los artículos sobre esto no tienen fecha." if plan.lang == "es"
                            else "The articles about this carry no dates.")
    return timeline


def _days_apart(a: str, b: str) -> int:
    try:
        return abs((dt.date.fromisoformat(a[:10]) - dt.date.fromisoformat(b[:10])).days)
    except ValueError:
        return 9999


def _same_event(a: str, b: str, sim: float, days: int = 9999) -> bool:
    """Two sentences reporting one event. e5's cosine alone cannot tell: it puts "the first test
    train reached 280 km/h" and "the second ... reached 302 km/h" at 0.96, and the start and the
    end of a strike at 0.88. So: the same figure and a similar sentence (0.85: "alcanza los 280
    kilómetros por hora" / "reached 280 kilometers per hour" across languages); no figure in
    common when both state figures, never; else nearly the same words in one language, or,
    across languages, nearly the same vector or a similar one (SAME_EVENT) a day apart at most."""
    na, nb = facts(a)[1], facts(b)[1]
    if na and nb:
        return bool(na & nb) and sim >= SHARED_FIGURE
    if sim < SAME_EVENT:
        return False
    la, lb = guess_language(a), guess_language(b)
    if la != lb or la == "und":
        # reports in two languages of one event, a day apart at most, read alike; a week apart
        # they may be two events of one story (a strike's start and end scored 0.88)
        return sim >= SAME_STATEMENT_CROSS or days <= SAME_EVENT_DAYS
    return _word_overlap(a, b) >= SAME_WORDS


def _word_overlap(a: str, b: str) -> float:
    wa, wb = _content_words(a), _content_words(b)
    return len(wa & wb) / len(wa | wb) if wa | wb else 0.0


def earliest_copy(view, articles: dict[str, dict], article_id: str, quote: str) -> tuple[str, int, int, str] | None:
    """The same sentence in the earliest dated copy of its wire text (article id, start, end, text):
    word for word, or the copy's sentence sharing most words with it (SAME_WORDS at least)."""
    group = group_of(articles, article_id)
    mine = articles.get(article_id, {}).get("published") or "9999"
    best = None
    for aid, a in articles.items():
        if aid == article_id or a.get("group", aid) != group or not a.get("published") or a["published"] >= mine:
            continue
        found = None
        for row in view.rows:
            if row.article_id == aid and quote in row.text:
                start = row.start + row.text.index(quote)
                found = (aid, start, start + len(quote), quote)
                break
        if found is None:  # an edited copy: its sentence with most of the same words
            spans = [(_word_overlap(quote, row.sentence_text(s, e)), s, e, row.sentence_text(s, e))
                     for row in view.rows if row.article_id == aid for s, e in row.sentences]
            overlap, s, e, text = max(spans, default=(0.0, 0, 0, ""))
            if overlap >= SAME_WORDS:
                found = (aid, s, e, text)
        if found and (best is None or a["published"] < articles[best[0]]["published"]):
            best = found
    return best


def render_timeline(timeline: Timeline, width: int = 88) -> str:
    """The timeline for a terminal: one dated, cited quote per event, then the sources."""
    if timeline.abstained:
        return timeline.message
    lines = [f"Timeline: {timeline.topic}", ""]
    for ev in timeline.events:
        try:
            day = format_day(dt.date.fromisoformat(ev.date), "en")
        except ValueError:
            day = ev.date
        lines += textwrap.wrap(f"{day} — {quoted(ev.quote)} [{ev.n}]", width, subsequent_indent="    ")
        if ev.also_reported_by:
            names = ", ".join(dict.fromkeys(x["outlet"] for x in ev.also_reported_by))
            lines.append(f"    also reported by: {names}")
    lines += ["", "Sources:"]
    seen = set()
    for ev in timeline.events:
        if ev.n in seen:
            continue
        seen.add(ev.n)
        parts = [ev.title or "(untitled)", ev.outlet, ev.published, ev.source]
        lines.append(f"  [{ev.n}] " + " — ".join(x for x in parts if x))
        for x in ev.also_reported_by:
            lines.append(f"       also: {x['outlet']} — " + " — ".join(v for v in (x["published"], x["source"]) if v))
    return "\n".join(lines)
