"""Sentence-aware chunks with exact character offsets, cut by llama-index's SentenceSplitter."""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass

from .articles import Article
from .text import sentence_spans

log = logging.getLogger(__name__)

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


def chunk_article(article: Article, *, chunk_tokens: int, overlap_tokens: int) -> list[Chunk]:
    from llama_index.core import Document
    from llama_index.core.node_parser import SentenceSplitter

    splitter = SentenceSplitter(chunk_size=chunk_tokens, chunk_overlap=overlap_tokens,
                                tokenizer=count_tokens, paragraph_separator="\n\n")
    text = article.text
    nodes = splitter.get_nodes_from_documents([Document(text=text, id_=article.id)])
    chunks: list[Chunk] = []
    cursor = 0
    covered = 0  # where the previous chunk ended
    for node in nodes:
        piece = node.get_content()
        start = _locate(text, piece, cursor, covered, overlap_tokens)
        if start < 0:  # the splitter normalised something: fall back to its own offsets
            start = node.start_char_idx if node.start_char_idx is not None else -1
            if start < 0 or text[start:start + len(piece)] != piece:
                log.warning("chunk of article %s not found in its text; skipped: %r", article.id, piece[:80])
                continue
        end = start + len(piece)
        cursor = start + 1
        covered = max(covered, end)
        sentences = tuple(sentence_spans(text, start, end))
        if not sentences:
            continue
        cid = hashlib.sha256(f"{article.id}:{start}:{end}:{piece}".encode()).hexdigest()[:24]
        chunks.append(Chunk(cid, article.id, start, end, piece, sentences))
    return chunks


def _locate(text: str, piece: str, cursor: int, covered: int, overlap_tokens: int) -> int:
    """Where a chunk stands in the text, given where the previous one started (cursor) and ended.

    Chunks move forward and overlap the previous one by at most `overlap_tokens`, so a paragraph
    repeated later in the article is not mistaken for its earlier copy (llama-index's own
    start_char_idx makes that mistake: it takes the first copy). -1 when the piece is not there.
    """
    first_forward = -1
    start = text.find(piece, cursor)
    while start >= 0:
        if start + len(piece) > covered:
            if first_forward < 0:
                first_forward = start
            if start >= covered or len(count_tokens(text[start:covered])) <= overlap_tokens + 2:
                return start
        start = text.find(piece, start + 1)
    return first_forward
