"""Sentence-aware chunks with exact character offsets: windows over the article's sentence spans.

The article is cut into units: a paragraph that fits in a chunk, else its sentences
(`index.text.sentence_spans`), and a sentence longer than a chunk into pieces of at most
`chunk_tokens` tokens at token boundaries. Chunks are then packed greedily from consecutive units
up to `chunk_tokens` tokens, and each next chunk starts with the last whole units of the previous
one that fit in `overlap_tokens` (the semantics of llama-index's SentenceSplitter, which cut the
chunks before). A chunk's text is
`article.text[start:end]` by construction, so no offset has to be searched for afterwards, and a
paragraph repeated later in the article keeps its own offsets.
"""

from __future__ import annotations

import bisect
import hashlib
import re
from dataclasses import dataclass

from .articles import Article
from .text import sentence_spans

_TOKEN = re.compile(r"\w+|[^\w\s]", re.UNICODE)


def count_tokens(text: str) -> list[str]:
    """A cheap stand-in for the model's tokenizer (words and punctuation; XLM-R splits a bit finer)."""
    return _TOKEN.findall(text)


@dataclass(frozen=True)
class Chunk:
    id: str  # derived from the article id and the exact text span: stable across rebuilds
    article_id: str
    start: int
    end: int
    text: str
    sentences: tuple[tuple[int, int], ...]  # absolute offsets in the article text

    @property
    def content_key(self) -> str:
        """What the embedding depends on."""
        return hashlib.sha256(self.text.encode()).hexdigest()


_PARAGRAPH = re.compile(r"\n\s*\n")


def _units(text: str, token_starts: list[int], token_ends: list[int], chunk_tokens: int) -> list[tuple[int, int]]:
    """What chunks are packed from: a paragraph that fits in a chunk stays one unit, a longer one is
    cut into its sentences, and a sentence longer than a chunk into chunk-sized pieces. This keeps
    llama-index SentenceSplitter's preference for paragraph boundaries (paragraph split first, then
    sentences): on XQuAD, windows over sentences alone spilled across paragraphs and cost recall."""
    def tokens(s: int, e: int) -> tuple[int, int]:
        return bisect.bisect_left(token_starts, s), bisect.bisect_left(token_starts, e)

    units = []
    cursor = 0
    bounds = [m.start() for m in _PARAGRAPH.finditer(text)] + [len(text)]
    for b in bounds:
        spans = sentence_spans(text, cursor, b)
        cursor = b
        if not spans:
            continue
        first, last = tokens(spans[0][0], spans[-1][1])
        if last - first <= chunk_tokens:
            units.append((spans[0][0], spans[-1][1]))
            continue
        for s, e in spans:
            first, last = tokens(s, e)
            if last - first <= chunk_tokens:
                units.append((s, e))
                continue
            for i in range(first, last, chunk_tokens):
                j = min(i + chunk_tokens, last) - 1
                units.append((max(s, token_starts[i]), min(e, token_ends[j])))
    return units


def chunk_article(article: Article, *, chunk_tokens: int, overlap_tokens: int) -> list[Chunk]:
    text = article.text
    tokens = list(_TOKEN.finditer(text))
    starts = [m.start() for m in tokens]
    ends = [m.end() for m in tokens]
    units = _units(text, starts, ends, chunk_tokens)

    def size(a: int, b: int) -> int:
        """Tokens of the window over units a..b (inclusive), what lies between them included."""
        return bisect.bisect_left(starts, units[b][1]) - bisect.bisect_left(starts, units[a][0])

    chunks: list[Chunk] = []
    i = 0
    while i < len(units):
        j = i
        while j + 1 < len(units) and size(i, j + 1) <= chunk_tokens:
            j += 1
        start, end = units[i][0], units[j][1]
        piece = text[start:end]
        cid = hashlib.sha256(f"{article.id}:{start}:{end}:{piece}".encode()).hexdigest()[:24]
        sentences = tuple(s for u in units[i:j + 1] for s in (sentence_spans(text, *u) or [u]))
        chunks.append(Chunk(cid, article.id, start, end, piece, sentences))
        if j + 1 >= len(units):
            break
        # the next window starts with the last whole sentences of this one that fit the overlap
        nxt = j + 1
        while nxt - 1 > i and size(nxt - 1, j) <= overlap_tokens:
            nxt -= 1
        while nxt <= j and size(nxt, j + 1) > chunk_tokens:  # overlap only where the next unit still fits
            nxt += 1
        i = nxt
    return chunks
