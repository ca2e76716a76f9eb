"""Answering a question from the index: retrieval, verbatim quotes and numbered citations.

The default answer is extractive: the sentences that answer the question, quoted exactly as
they stand in the article. An optional LLM (answer.llm) may write the answer text instead; the
quotes shown under it are still the verbatim spans chosen here.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
from dataclasses import asdict, dataclass, field

from index.retrieval import Library, Passage, background_similarity, query_vector
from index.text import fold, guess_language

from . import ranking
from .ranking import per_articles
from .question import analyse, not_stated_reason

log = logging.getLogger(__name__)

NOT_IN_ARTICLES = "The indexed articles don't say."
# How many passages answering looks through for the sentence that answers (the best three are
# often about the story in general; the one that says what was asked can be 10th or 15th).
POOL = 20


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
    outlet: str = ""  # who published the article ("Reuters", "La Gaceta Austral", a site)
    also_reported_by: list[dict] = field(default_factory=list)  # other copies of the same wire text
    author: str = ""
    agency: str = ""  # wire agencies its text credits


def make_citation(n: int, article_id: str, meta: dict, quote: str, start: int, end: int,
                  score: float) -> Citation:
    return Citation(n=n, article_id=article_id, title=meta.get("title", ""), source=meta.get("source", ""),
                    published=meta.get("published", ""), quote=quote, start=start, end=end,
                    score=round(float(score), 4), outlet=meta.get("outlet", ""), author=meta.get("author", ""),
                    agency=meta.get("agency", ""))


@dataclass
class Answer:
    question: str
    answer: str
    abstained: bool
    citations: list[Citation] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)
    mode: str = "extractive"
    note: str = ""
    # why Cita abstained: "off_topic" (the articles are about something else) or "not_stated"
    # (they discuss it but none says what was asked; the citations are the closest context)
    reason: str = ""
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
            "reason": self.reason,
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
            prefer = named_outlets(question, view.articles)
            # a wide pool of passages to find the answering sentence in (a "latest" question
            # keeps the newest relevant ones only)
            wide = k if plan.time.latest else max(k, POOL)
            passages = search(view, qvec, question, plan, k=wide, context=context, prefer=prefer,
                              supported=lambda ps: supported(question, ps, self.thresholds, background))
            t2 = time.perf_counter()
            timings["retrieve"] = (t2 - t1) * 1000
            if plan.uncovered and supported(question, passages, self.thresholds, background):
                # on the articles' topic, but none covers the question's dates: say so
                answer = Answer(question=question, abstained=True, reason="not_covered",
                                answer=uncovered_message(plan.time.window, plan.visible(view.articles), plan.lang))
            else:
                answer = extractive_answer(question, passages, view.articles, thresholds=self.thresholds,
                                           background=background, idf=view.idf, prefer=prefer)
            finish_answer(answer, plan, view, passages)
        passages = passages[:max(k, 3)]
        answer.generation = view.generation
        answer.passages = passages
        timings["select"] = (time.perf_counter() - t2) * 1000
        if self.llm is not None and use_llm and not answer.abstained:
            t3 = time.perf_counter()
            answer = self.llm.improve(answer, passages[:3], view.articles)
            if answer.mode == "llm":
                from .disagreements import renumber_disagreements
                from .news import annotate_citations

                renumber_disagreements(answer, plan.lang)
                annotate_citations(answer, view.articles)
            timings["llm"] = (time.perf_counter() - t3) * 1000
        timings["total"] = (time.perf_counter() - t0) * 1000
        answer.timings_ms = timings
        return answer


def supported(question: str, passages: list[Passage], thresholds: Thresholds, background: float) -> bool:
    """Whether one of the retrieved passages answers the question well enough to quote it: its
    dense score clears the floor for its language pair (a same-language passage can lead on words
    alone while a passage in the other language holds the answer)."""
    if not passages:
        return False
    q_lang = guess_language(question)
    best_sentence = max(p.best_sentence for p in passages)
    if best_sentence - background < thresholds.background:
        return False
    for p in passages:
        same = q_lang != "und" and q_lang == p.chunk.language
        if p.dense >= (thresholds.same if same else thresholds.cross):
            return True
    return False


def named_outlets(question: str, articles: dict[str, dict]) -> dict[str, float]:
    """Articles of an outlet, agency or author the question names ("according to Reuters",
    "según Infobae"), with weight 1 (0.5 for an agency credit only): the name as the article's
    metadata has it, or a capitalised name of the question in the article's site or file name
    ("Mercados Hoy" in mercados-hoy-sol.txt, "Infobae" in infobae.com)."""
    q = f" {' '.join(_WORDS.findall(fold(question)))} "
    slugs = [s for s in _name_slugs(question) if len(s) >= 5]
    # "La Jornada" is jornada.com.mx, "The Guardian" theguardian.com: with and without the article
    slugs += [s.split("-", 1)[1] for s in slugs if s.split("-", 1)[0] in _NOT_NAMES and "-" in s]
    names, hosts, files = per_articles(articles, "outlets", _outlet_table)
    out: dict[str, float] = {}
    for key, hits in names.items():  # the distinct names, not every article: a question costs
        if f" {key} " in q:          # the same on 30 articles and on 3,000
            for aid, weight in hits:
                out[aid] = max(out.get(aid, 0.0), weight)
    for host, aids in hosts.items():  # the site: "infobae" in www.infobae.com
        if any(slug.replace("-", "") in host for slug in slugs):
            out.update(dict.fromkeys(aids, 1.0))
    for name, aid in files if slugs else ():  # a file named for its outlet first: mercados-hoy-sol.txt
        if any(name.startswith(slug + "-") for slug in slugs):
            out[aid] = 1.0
    return out


def _outlet_table(articles: dict[str, dict]):
    """(folded outlet/author/agency name -> [(article, weight)], site host -> [article],
    [(file name, article)]) of an index's articles, made once per index view."""
    names: dict[str, list[tuple[str, float]]] = {}
    hosts: dict[str, list[str]] = {}
    files: list[tuple[str, str]] = []
    for aid, meta in articles.items():
        for field_, weight in (("outlet", 1.0), ("author", 1.0), ("agency", 0.5)):
            for name in (meta.get(field_) or "").split(","):
                key = " ".join(_WORDS.findall(fold(name)))
                if len(key) >= 2 and key not in _NOT_NAMES:
                    names.setdefault(key, []).append((aid, weight))
        source = fold(meta.get("source", ""))
        if source.startswith(("http://", "https://")):
            hosts.setdefault(source.split("/")[2].replace("-", ""), []).append(aid)
        else:
            files.append((source.rsplit("/", 1)[-1].replace("_", "-"), aid))
    return names, hosts, files


def _name_slugs(question: str) -> list[str]:
    """Runs of capitalised words past the question's first word, as URL slugs ("mercados-hoy")."""
    tokens = re.findall(r"[\w'’.-]+", question)
    runs, current = [], []
    for i, t in enumerate(tokens):
        if i > 0 and t[:1].isupper():
            current.append(fold(t).strip(".'’"))
        else:
            if current:
                runs.append("-".join(current))
            current = []
    if current:
        runs.append("-".join(current))
    return runs


_WORDS = re.compile(r"\w+", re.UNICODE)
_NOT_NAMES = {"the", "el", "la", "los", "las"}


def quoted(quote: str) -> str:
    """The quote in quotation marks, unless it already starts with one."""
    return quote if quote[:1] in "“\"«'‘" else f"“{quote}”"


def extractive_answer(question: str, passages: list[Passage], articles: dict[str, dict], *,
                      thresholds: Thresholds, background: float = 0.0, idf=None,
                      prefer: dict[str, float] | None = None) -> Answer:
    """Quotes for the question from the passages (best first), or an abstention: off topic
    (the calibrated check on the best three passages) or "not stated" (on topic, but no sentence
    near the top holds the kind of answer asked for)."""
    if not supported(question, passages, thresholds, background):
        return Answer(question=question, answer=NOT_IN_ARTICLES, abstained=True, reason="off_topic")
    asked = analyse(question)
    ranked = ranking.candidates(question, asked, passages, articles, idf=idf or (lambda w: 1.0), prefer=prefer)
    if not ranked:
        return Answer(question=question, answer=NOT_IN_ARTICLES, abstained=True, reason="off_topic")
    if not ranking.stated(asked, ranked):
        citations = _citations(ranked[:1], articles)
        reason = not_stated_reason(asked, guess_language(question))
        text = f"{reason} {quoted(citations[0].quote)} [{citations[0].n}]"
        return Answer(question=question, answer=text, abstained=True, citations=citations, reason="not_stated")
    citations = _citations(ranking.choose(question, ranked), articles)
    text = " ".join(f"{quoted(c.quote)} [{c.n}]" for c in citations)
    return Answer(question=question, answer=text, abstained=False, citations=citations)


def _citations(chosen: list[ranking.Candidate], articles: dict[str, dict]) -> list[Citation]:
    citations = []
    numbers: dict[str, int] = {}  # one number per article, in order of first quote
    for c in chosen:
        aid = c.passage.chunk.article_id
        n = numbers.setdefault(aid, len(numbers) + 1)
        citations.append(make_citation(n, aid, articles.get(aid, {}), c.text, c.span[0], c.span[1], c.score))
    return citations
