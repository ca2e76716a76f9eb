"""The one place that wires Cita's pieces together from the settings."""

from __future__ import annotations

import logging

from answer.answering import Answerer
from index.build import BuildConfig, Builder
from index.embedding import Embedder, load_embedder
from index.retrieval import Library
from index.store import Store, open_store

from .settings import Settings

log = logging.getLogger(__name__)


def make_store(settings: Settings) -> Store:
    return open_store(settings.data_dir, settings.chroma_url)


def make_embedder(settings: Settings) -> Embedder:
    return load_embedder(settings.embed_model)


def make_builder(settings: Settings, embedder: Embedder | None = None, *, progress: bool = False,
                 store: Store | None = None) -> Builder:
    config = BuildConfig(chunk_tokens=settings.chunk_tokens, chunk_overlap_tokens=settings.chunk_overlap_tokens,
                         max_bytes=int(settings.max_file_mb * 1_000_000), chunk_vectors=settings.chunk_vectors)
    return Builder(store or make_store(settings), embedder or make_embedder(settings), config, progress=progress)


def make_fetcher(settings: Settings):
    """HTTP for feeds and their pages (index/web.py), with the settings' limits."""
    from index.web import Fetcher

    return Fetcher(timeout=settings.fetch_timeout_s, deadline=3 * settings.fetch_timeout_s,
                   max_bytes=int(settings.max_file_mb * 1_000_000), allow_private=settings.allow_private_urls)


def make_refresher(settings: Settings, embedder: Embedder | None = None, *, store: Store | None = None):
    """A function that refreshes every feed once (index.feeds.refresh) and returns its result.
    It embeds 4 texts per model call: the bot's questions share the model and wait for one call."""

    def refresh_once():
        from index.feeds import refresh

        builder = make_builder(settings, embedder, store=store)
        builder.embed_batch = 4
        try:
            return refresh(settings.data_dir, make_fetcher(settings), builder)
        finally:
            builder.close()

    return refresh_once


def make_llm(settings: Settings):
    if not settings.llm_enabled:
        return None
    from answer.llm import LLMAnswerer

    return LLMAnswerer.connect(base_url=settings.llm_base_url, model=settings.llm_model,
                               api_key=settings.llm_api_key.get_secret_value(), timeout_s=settings.llm_timeout_s,
                               prompts_dir=settings.prompts_dir)


def make_answerer(settings: Settings, embedder: Embedder | None = None, *, store: Store | None = None) -> Answerer:
    library = Library(store or make_store(settings), embedder or make_embedder(settings))
    return Answerer(library, abstain_threshold=settings.abstain_threshold,
                    max_question_chars=settings.max_question_chars, llm=make_llm(settings))
