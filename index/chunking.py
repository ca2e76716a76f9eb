"""Sentence-aware chunks with exact character offsets, cut by llama-index's SentenceSplitter."""

from __future__ import annotations

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


def chunk_article(article: Article, *, chunk_tokens: int, overlap_tokens: int) -> list[Chunk]:
    from llama_index.core import Document
    from llama_index.core.node_parser import SentenceSplitter

    splitter = SentenceSplitter(chunk_size=chunk_tokens, chunk_overlap=overlap_tokens,
                                tokenizer=count_tokens, paragraph_separator="\n\n")
    text = article.text
    nodes = splitter.get_nodes_from_documents([Document(text=text, id_=article.id)])
    chunks: list[Chunk] = []
    cursor = 0
    for node in nodes:
        piece = node.get_content()
        start = text.find(piece, cursor)
        if start < 0:  # the splitter normalised something: fall back to its own offsets
            start = node.start_char_idx if node.start_char_idx is not None else -1
            if start < 0 or text[start:start + len(piece)] != piece:
                continue
        end = start + len(piece)
        cursor = start + 1
        sentences = tuple(sentence_spans(text, start, end))
        if not sentences:
            continue
        cid = hashlib.sha256(f"{article.id}:{start}:{end}:{piece}".encode()).hexdigest()[:24]
        chunks.append(Chunk(cid, article.id, start, end, piece, sentences))
    return chunks
