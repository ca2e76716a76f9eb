"""Choosing the sentences that answer: every sentence of the retrieved passages is scored for
what the question asks, not only for how close it is to the question's topic.

A sentence's score adds up
- its cosine to the question (multilingual e5: works across languages), plus a share of its best
  neighbour's (a sentence next to a relevant one often names what that one refers to);
- how far down its passage is ranked (a weak prior: the answer may sit in the 15th passage);
- the question's specific words it contains, weighted by their rarity in the index (IDF over the
  chunks, accent-folded, words of five letters or more matched on their first five), so "kilos" or
  a name counts and the story's common words ("strike", "port") barely do;
- whether it holds the kind of answer asked for (answer/question.py): a date for "when", a number
  (of the counted thing) for "how many", a name or role for "who", a place for "where";
- a bonus for articles of an outlet the question names ("according to Reuters").
Sentences inside page furniture (index/boilerplate.py) are never candidates; a sentence that only
starts with some (a dateline) is trimmed to the rest, so a quote stays an exact slice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from index.boilerplate import usable_span
from index.lexical import lexical_tokens
from index.retrieval import Passage
from index.text import fold, guess_language

from .question import Asked, has_type

NEIGHBOUR_WEIGHT = 0.4
PASSAGE_WEIGHT = 0.4
TERM_WEIGHT = 0.08  # within one language
TERM_WEIGHT_CROSS = 0.02  # across languages only names and cognates match: a weaker signal
TYPE_WEIGHT = 0.05
OUTLET_WEIGHT = 0.05
SECOND_QUOTE_MARGIN = 0.10
# a third article's sentence within this of the second is quoted too: where many outlets cover
# one story, the ranking often cannot tell the second-best source from the third
THIRD_QUOTE_MARGIN = 0.04
SAME_LANGUAGE_MARGIN = 0.04
SAME_CONTENT = 0.88
# "not stated": no sentence holding the asked-for type comes within this margin of the best one
# (on the vectors' part of the score: word matches favour sentences in the question's language)
NOT_STATED_MARGIN = 0.045
# e5 scores a sentence in the question's own language a few points above an equally relevant one
# in the other language; sentences across languages get this much back
CROSS_LANGUAGE_BONUS = 0.03
_WORD = re.compile(r"\w+", re.UNICODE)
_QUESTION_WORDS = {fold(w) for w in (
    "what which who whom whose when where why how many much qué cuál cuáles quién quiénes cuándo dónde "
    "cómo cuánto cuántos cuánta cuántas por según according said say says dijo dice reported informó "
    "happened pasó ocurrió").split()}


@dataclass
class Candidate:
    passage: Passage
    span: tuple[int, int]  # the quotable span (boilerplate trimmed)
    key: tuple[int, int]  # the sentence's span in the index (its vector)
    text: str
    base: float  # score without the answer-type bonus
    typed: bool  # holds the asked-for type (read only near the top: see candidates; False below)
    semantic: float = 0.0  # the part of `base` from the vectors alone (no word matching, no outlet)

    @property
    def score(self) -> float:
        return self.base + (TYPE_WEIGHT if self.typed else 0.0)


def question_terms(question: str, idf) -> dict[str, float]:
    """The question's words with their IDF (words the index does not hold are left out)."""
    terms = {}
    for w in lexical_tokens(question):
        if w in _QUESTION_WORDS or w.isdigit() and len(w) < 2:
            continue
        weight = idf(w)
        if weight > 0:
            terms[w] = weight
    return terms


def question_names(question: str, idf, rare: float = 1.6) -> list[str]:
    """The question's rare names: capitalised words past its first word ("Yumbel", "Brasilia")
    that the index holds in fewer than about a fifth of its chunks (IDF above `rare`)."""
    tokens = re.findall(r"[\w'’-]+", question)
    out = []
    for i, t in enumerate(tokens):
        f = fold(t)
        if i == 0 or not t[:1].isupper() or len(t) < 3 or f in _QUESTION_WORDS or t.isupper() and len(t) <= 3:
            continue
        if idf(f) > rare:
            out.append(f)
    return out


_PER_ARTICLES: dict[tuple[int, str], tuple[dict, object]] = {}


def per_articles(articles: dict[str, dict], name: str, build):
    """`build(articles)`, made once per articles table (one per index view: a question on an
    index of 3,000 articles must not go through all of them) and kept while that table lives."""
    key = (id(articles), name)
    hit = _PER_ARTICLES.get(key)
    if hit is not None and hit[0] is articles:
        return hit[1]
    value = build(articles)
    while len(_PER_ARTICLES) >= 4:  # the tables of the current view and the one before it (an
        _PER_ARTICLES.pop(next(iter(_PER_ARTICLES)))  # older view's articles are not kept alive)
    _PER_ARTICLES[key] = (articles, value)
    return value


def source_names(articles: dict[str, dict]) -> set[str]:
    """Outlets and agencies of the indexed articles, folded ("reuters", "diario del sur")."""
    return per_articles(articles, "sources", _source_names)


def _source_names(articles: dict[str, dict]) -> set[str]:
    names = set()
    for meta in articles.values():
        for field_ in ("outlet", "agency"):
            for name in (meta.get(field_) or "").split(","):
                key = " ".join(_WORD.findall(fold(name)))
                if len(key) >= 2:
                    names.add(key)
    return names


@lru_cache(maxsize=65536)  # sentences come up again for other questions on the same story
def _sentence_words(text: str) -> tuple[tuple[str, ...], frozenset[str], frozenset[str]]:
    """A sentence's folded words, in order, as a set, and the set of their first five letters."""
    folded = _WORD.findall(fold(text))
    return tuple(folded), frozenset(folded), frozenset(w[:5] for w in folded if len(w) >= 5)


def _matches(term: str, words: set[str], prefixes: set[str]) -> bool:
    return term in words or (len(term) >= 5 and term[:5] in prefixes)


def candidates(question: str, asked: Asked, passages: list[Passage], articles: dict[str, dict], *,
               idf, prefer: dict[str, float] | None = None) -> list[Candidate]:
    """Every quotable sentence of the passages, scored, best first."""
    if not passages:
        return []
    top = max(_rank_score(p) for p in passages)
    q_lang = guess_language(question)
    terms = question_terms(question, idf)
    all_sources = source_names(articles)
    # the outlet a question names ("Según Crónica Atlántica") is not a name the answer must hold
    outlet_words = {w for name in all_sources for w in name.split()}
    names = [n for n in question_names(question, idf) if n not in outlet_words] + [w for w in asked.of if idf(w) > 0]
    sources = all_sources if asked.about_source else set()
    total = sum(terms.values()) or 1.0
    seen: set[tuple[str, tuple[int, int]]] = set()
    out: list[Candidate] = []
    context: list[tuple] = []  # what reading a candidate's type needs, beside it
    for p in passages:
        meta = articles.get(p.chunk.article_id, {})
        excluded = [tuple(x) for x in meta.get("boilerplate", ())]
        spans = [span for span in p.chunk.sentences if span in p.sentence_scores]
        shift = CROSS_LANGUAGE_BONUS if q_lang != "und" and p.chunk.language not in (q_lang, "und") else 0.0
        sims = [p.sentence_scores[span] + shift for span in spans]
        for i, span in enumerate(spans):
            if (p.chunk.article_id, span) in seen:
                continue
            seen.add((p.chunk.article_id, span))
            usable = usable_span(span, excluded, p.chunk.sentence_text(*span))
            if usable is None:
                continue
            text = p.chunk.sentence_text(*usable)
            folded, words, prefixes = _sentence_words(text)
            term_share = sum(wt for t, wt in terms.items() if _matches(t, words, prefixes)) / total
            neighbour = max(sims[max(i - 1, 0):i] + sims[i + 1:i + 2], default=0.0)
            same = p.chunk.language == q_lang
            semantic = sims[i] + NEIGHBOUR_WEIGHT * neighbour + PASSAGE_WEIGHT * (_rank_score(p) - top)
            base = (semantic + (TERM_WEIGHT if same else TERM_WEIGHT_CROSS) * term_share + (prefer or {}).get(p.chunk.article_id, 0.0) * OUTLET_WEIGHT)
            out.append(Candidate(p, usable, span, text, base, False, semantic))
            context.append((meta, folded, words, same))
    # Whether a sentence holds the asked-for type is read only where it can change the answer:
    # near the best score (what `choose` quotes, and what could overtake it with the type bonus)
    # or near the best semantic score (what `stated` looks at). A sentence further down could not
    # be quoted even with the bonus, so the answer is the same as reading every sentence's type;
    # the regular expressions of has_type were a tenth of a question's time outside the model.
    if out:
        best_base = max(c.base for c in out)
        best_semantic = max(c.semantic for c in out)
        for c, (meta, folded, words, same) in zip(out, context):
            if c.base < best_base - _TYPED_REACH and best_semantic - c.semantic > NOT_STATED_MARGIN:
                continue
            if asked.about_source:  # "which outlet/agency reported...": a sentence that credits one
                joined = f" {' '.join(folded)} "
                c.typed = any(f" {name} " in joined for name in sources)
                continue
            typed = bool(asked.type) and has_type(c.text, asked, same_language=same)
            # a same-language sentence, or its article's title, must name something the question
            # names ("in Quillón"): the hectares of another fire do not answer it. (Across
            # languages names are often translated: not checked.)
            if typed and names and same:
                title = _WORD.findall(fold(meta.get("title", "")))
                tw = words | set(title)
                # one of them is enough: "Regresó a Lahore en 1908" answers "¿En qué año
                # regresó Iqbal a Lahore?" (asking for all of them abstained on 5% of
                # XQuAD's Spanish questions)
                typed = any(_matches(n, tw, {w[:5] for w in tw if len(w) >= 5}) for n in names)
            c.typed = typed
    out.sort(key=lambda c: -c.score)
    return out


# the answer types an abstention can rest on: a number, a date, a person are told apart from
# text reliably; places and causes take too many forms (they only rank sentences)
ABSTAIN_TYPES = ("number", "date", "person")


PASSAGE_SCORE = "dense"


# How far below the best score a sentence's type is still read (candidates): a quote is taken
# within SECOND_QUOTE_MARGIN of the best, which may be a same-language sentence up to
# SAME_LANGUAGE_MARGIN below the top, and the type bonus lifts a sentence by TYPE_WEIGHT.
_TYPED_REACH = TYPE_WEIGHT + SECOND_QUOTE_MARGIN + SAME_LANGUAGE_MARGIN + 1e-6


def _rank_score(p: Passage) -> float:
    return p.score if PASSAGE_SCORE == "score" else p.dense


def stated(asked: Asked, ranked: list[Candidate]) -> bool:
    """Whether a sentence near the top holds what the question asks for (always, when the
    question asks for no particular type, or one of a form too free to check)."""
    if asked.type not in ABSTAIN_TYPES or asked.about_source or not ranked:
        return True
    best = max(c.semantic for c in ranked)
    return any(c.typed and best - c.semantic <= NOT_STATED_MARGIN for c in ranked)


def choose(question: str, ranked: list[Candidate]) -> list[Candidate]:
    """The best one to three sentences: the best, in the question's language when one says the
    same thing nearly as well, a second one close behind from elsewhere, and a third from another
    article when it comes as close as the second."""
    if not ranked:
        return []
    best = ranked[0]
    q_lang = guess_language(question)
    if q_lang != "und" and best.passage.chunk.language != q_lang:
        for c in ranked[1:]:
            if best.score - c.score > SAME_LANGUAGE_MARGIN:
                break
            if guess_language(c.text) == q_lang and _same_content(best, c):
                best = c
                break
    picked = [best]
    for c in ranked:
        if c is best or best.score - c.score > SECOND_QUOTE_MARGIN:
            continue
        if len(picked) == 2:  # a third quote: another article's, as close as the second
            if picked[1].score - c.score > THIRD_QUOTE_MARGIN:
                break
            if c.passage.chunk.article_id in {p.passage.chunk.article_id for p in picked}:
                continue
        if any(c.passage.chunk.article_id == p.passage.chunk.article_id and _overlaps(c.span, p.span) for p in picked):
            continue
        if any(c.passage.chunk.article_id != p.passage.chunk.article_id and _same_content(p, c) for p in picked):
            continue  # the same sentence in a wire copy
        picked.append(c)
        if len(picked) == 3:
            break
    return picked


def _same_content(a: Candidate, b: Candidate) -> bool:
    va, vb = a.passage.sentence_vectors.get(a.key), b.passage.sentence_vectors.get(b.key)
    return va is not None and vb is not None and float(va @ vb) >= SAME_CONTENT


def _overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]
