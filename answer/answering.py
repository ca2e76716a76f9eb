"""Answering a question from the index: retrieval, verbatim quotes and numbered citations.

The default answer is extractive: the sentences that answer the question, quoted exactly as
they stand in the article. An optional LLM (answer.llm) may write the answer text instead; the
quotes shown under it are still the verbatim spans chosen here.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import asdict, dataclass, field

from index.text import guess_language

from index.retrieval import Library, Passage, background_similarity, query_vector, retrieve

log = logging.getLogger(__name__)

NOT_IN_ARTICLES = "The indexed articles don't say."
# A question in the user's language is preferred to a better-scored quote in another language
# when the two scores are within this margin (the seed article quotes the same statement in
# Spanish and in its English original).
SAME_LANGUAGE_MARGIN = 0.04
# ... and when the two say the same thing: cosine of the two sentences' vectors (e5 puts a
# translation pair at ~0.89-0.93, different statements of one article at ~0.75-0.86).
SAME_CONTENT = 0.88
# A second sentence is quoted when it scores within this margin of the best one. Quoting two
# sentences finds the answer far more often than one (XQuAD en->es: 0.72 vs 0.83).
SECOND_QUOTE_MARGIN = 0.10
# A sentence next to a relevant one is more likely to hold the answer (it often names what the
# relevant one refers to): each sentence gains this share of its best neighbour's similarity.
NEIGHBOUR_WEIGHT = 0.4
# How much the passage's own rank counts when choosing sentences across passages.
PASSAGE_WEIGHT = 1.0


@dataclass(frozen=True)
class Thresholds:
    """When to say "the articles don't say". `cross`/`same`: the least dense score of the best
    passage (chunk cosine + best sentence cosine) when question and passage are in other
    languages / the same language; `background`: how much the best sentence must beat the best
    background sentence (index/background.txt)."""

    cross: float
    same: float
    background: float = 0.0


# Calibrated on XQuAD with the bundled e5 (README, "Answer quality"): each threshold is about the
# 1st percentile of the scores of answerable questions (en->es for `cross`, es->es for `same`);
# with them, half (en) to two thirds (es) of the questions whose article was taken out of the
# index are abstained (hard negatives: same style, other topic).
CALIBRATED = {"multilingual-e5-small": Thresholds(cross=1.535, same=1.655, background=0.0)}
UNCALIBRATED = Thresholds(cross=float("-inf"), same=float("-inf"), background=0.0)


def thresholds_for(model: str, override: float | None = None) -> Thresholds:
    base = CALIBRATED.get(model, UNCALIBRATED)
    if override is None:
        return base
    return Thresholds(cross=override, same=override, background=base.background)


class QuestionError(ValueError):
    """The question cannot be asked as it is (empty, too long, not text)."""


@dataclass
class Citation:
    n: int
    article_id: str
    title: str
    source: str
    published: str
    quote: str
    start: int
    end: int
    score: float
    outlet: str = ""
    also_reported_by: list[dict] = field(default_factory=list)  # other copies of the same wire text


@dataclass
class Answer:
    question: str
    answer: str
    abstained: bool
    citations: list[Citation] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)
    mode: str = "extractive"
    note: str = ""
    generation: str = ""
    passages: list[Passage] = field(default_factory=list, repr=False)
    # news over time (answer/news.py): the dates the quotes come from, the question's window,
    # whether it asked for the latest, the day it was asked, and sources that state it differently
    heading: str = ""
    window: dict | None = None
    latest: bool = False
    today: str = ""
    disagreements: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "question": self.question,
            "answer": self.answer,
            "abstained": self.abstained,
            "citations": [asdict(c) for c in self.citations],
            "timings_ms": {k: round(v, 1) for k, v in self.timings_ms.items()},
            "mode": self.mode,
            "note": self.note,
            "generation": self.generation,
            "heading": self.heading,
            "window": self.window,
            "latest": self.latest,
            "today": self.today,
            "disagreements": self.disagreements,
        }


def clean_question(text: str, *, max_chars: int) -> str:
    """The question with whitespace normalised, or QuestionError saying what is wrong."""
    if not isinstance(text, str):
        raise QuestionError("Ask a question in text.")
    cleaned = "".join(ch for ch in text if ch.isprintable() or ch in "\n\t")
    cleaned = " ".join(cleaned.split())
    if not any(ch.isalnum() for ch in cleaned):
        raise QuestionError("Ask a question, for example: What did the US demand?")
    if len(cleaned) > max_chars:
        raise QuestionError(f"That question is {len(cleaned)} characters long; keep it under {max_chars}.")
    return cleaned


class Answerer:
    """Answers questions from a Library; optionally lets an LLM write the answer text."""

    def __init__(self, library: Library, *, abstain_threshold: float | None = None,
                 max_question_chars: int = 500, llm=None) -> None:
        self.library = library
        self.thresholds = thresholds_for(library.embedder.name, abstain_threshold)
        self.max_question_chars = max_question_chars
        self.llm = llm

    def ask(self, question: str, *, context: list[str] | None = None, use_llm: bool = True,
            k: int = 3, today: dt.date | None = None) -> Answer:
        """`today`: the day the question is asked (its dates are read against it; default the
        real date, or the date the question states)."""
        from .news import finish_answer, plan_question, search, uncovered_message

        question = clean_question(question, max_chars=self.max_question_chars)
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        with self.library.reading() as view:  # kept open even if another thread moves on
            plan = plan_question(question, view.articles, today)
            qvec = query_vector(self.library.embedder, question, context)
            t1 = time.perf_counter()
            timings["embed"] = (t1 - t0) * 1000
            background = background_similarity(view, qvec)
            passages = search(view, qvec, question, plan, k=k, context=context,
                              supported=lambda ps: supported(question, ps, self.thresholds, background))
            t2 = time.perf_counter()
            timings["retrieve"] = (t2 - t1) * 1000
            if plan.uncovered and supported(question, passages, self.thresholds, background):
                # on the articles' topic, but none covers the question's dates: say so
                answer = Answer(question=question, abstained=True,
                                answer=uncovered_message(plan.time.window, plan.visible(view.articles), plan.lang))
            else:
                answer = extractive_answer(question, passages[:3], view.articles, thresholds=self.thresholds,
                                           background=background)
            finish_answer(answer, plan, view, passages)
        answer.generation = view.generation
        answer.passages = passages
        timings["select"] = (time.perf_counter() - t2) * 1000
        if self.llm is not None and use_llm and not answer.abstained:
            t3 = time.perf_counter()
            answer = self.llm.improve(answer, passages[:3], view.articles)
            if answer.mode == "llm":
                from .news import annotate_citations

                annotate_citations(answer, view.articles)
            timings["llm"] = (time.perf_counter() - t3) * 1000
        timings["total"] = (time.perf_counter() - t0) * 1000
        answer.timings_ms = timings
        return answer


def supported(question: str, passages: list[Passage], thresholds: Thresholds, background: float) -> bool:
    """Whether the best passage answers the question well enough to quote it."""
    if not passages:
        return False
    best = passages[0]
    q_lang = guess_language(question)
    same = q_lang != "und" and q_lang == best.chunk.language
    floor = thresholds.same if same else thresholds.cross
    best_sentence = max(p.best_sentence for p in passages)
    return best.dense >= floor and best_sentence - background >= thresholds.background


def choose_quotes(question: str, passages: list[Passage]) -> list[tuple[Passage, tuple[int, int], float]]:
    """The best one or two sentences across the passages, as (passage, span, score)."""
    if not passages:
        return []
    top = passages[0].score
    scored = []
    for p in passages:
        spans = [span for span in p.chunk.sentences if span in p.sentence_scores]
        sims = [p.sentence_scores[span] for span in spans]
        for i, span in enumerate(spans):
            neighbour = max(sims[max(i - 1, 0):i] + sims[i + 1:i + 2], default=0.0)
            score = sims[i] + NEIGHBOUR_WEIGHT * neighbour + PASSAGE_WEIGHT * (p.score - top)
            scored.append((score, p, span))
    scored.sort(key=lambda x: -x[0])
    best_score, best_p, best_span = scored[0]
    q_lang = guess_language(question)
    if q_lang != "und" and best_p.chunk.language != q_lang:
        for score, p, span in scored[1:]:
            if best_score - score > SAME_LANGUAGE_MARGIN:
                break
            if guess_language(p.chunk.sentence_text(*span)) == q_lang and _same_content(best_p, best_span, p, span):
                best_score, best_p, best_span = score, p, span
                break
    picked = [(best_p, best_span, best_score)]
    for score, p, span in scored:
        if (p, span) == (best_p, best_span) or best_score - score > SECOND_QUOTE_MARGIN:
            continue
        if p.chunk.article_id == best_p.chunk.article_id and _overlaps(span, best_span):
            continue
        picked.append((p, span, score))
        break
    return picked


def quoted(quote: str) -> str:
    """The quote in quotation marks, unless it already starts with one."""
    return quote if quote[:1] in "“\"«'‘" else f"“{quote}”"


def _same_content(p1: Passage, span1: tuple[int, int], p2: Passage, span2: tuple[int, int]) -> bool:
    v1, v2 = p1.sentence_vectors.get(span1), p2.sentence_vectors.get(span2)
    return v1 is not None and v2 is not None and float(v1 @ v2) >= SAME_CONTENT


def _overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def extractive_answer(question: str, passages: list[Passage], articles: dict[str, dict], *,
                      thresholds: Thresholds, background: float = 0.0) -> Answer:
    if not supported(question, passages, thresholds, background):
        return Answer(question=question, answer=NOT_IN_ARTICLES, abstained=True)
    citations = []
    numbers: dict[str, int] = {}  # one number per article, in order of first quote
    for p, (s, e), score in choose_quotes(question, passages):
        meta = articles.get(p.chunk.article_id, {})
        n = numbers.setdefault(p.chunk.article_id, len(numbers) + 1)
        citations.append(Citation(
            n=n, article_id=p.chunk.article_id, title=meta.get("title", ""), source=meta.get("source", ""),
            published=meta.get("published", ""), quote=p.chunk.sentence_text(s, e), start=s, end=e,
            score=round(float(score), 4)))
    text = " ".join(f"{quoted(c.quote)} [{c.n}]" for c in citations)
    return Answer(question=question, answer=text, abstained=False, citations=citations)
