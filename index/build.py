"""Building a generation: load articles, chunk, embed what the cache lacks, store, publish.

`rebuild` replaces the index with the articles found under some paths: one new segment holding
everything. `add` writes only the new articles, into one small new segment with its article
list, and publishes a small manifest naming the current segments plus the new one; it reads the
segments' key lists, never their articles, so its cost does not grow with the index (README
"Articles and the index"). `remove` publishes a manifest marking the articles dead; their rows
stay in their segment. An article lives in exactly one segment (the list it is live in), so a
new version or a removal hides the old rows from readers: no duplicates.
`merge` copies the live rows of several segments into one (automatically when an add leaves
more than MAX_SEGMENTS, or all of them with `cita index merge`). Every operation writes new
segments nobody reads yet and switches the pointer only when they are complete, so a kill at
any moment leaves the previous generation serving.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import json
import logging
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .articles import Article, Skipped, fetch_url, load_paths
from .cache import EmbeddingCache
from .annotate import annotate_news, groups_after_add, sign
from .chunking import Chunk, chunk_article
from .embedding import Embedder
from .lexical import ChunkTable, save_table
from .copies import NUM_PERM
from .store import LAYOUT, Store, StoreError, has_lists, new_generation_id, segments_of
from .text import sentence_id

log = logging.getLogger(__name__)

FORMAT = 6  # bump when the stored layout changes; older generations then need a rebuild
# (4: chunks as windows over the sentence spans; segments; per-article row counts;
#  5: articles carry ISO dates, the dates their text mentions and their wire-copy group;
#  6: wire-copy signatures by our own MinHash, index/copies.py)
# How a chunk gets its vector: "embedded" (the model reads the chunk) or "sentence-mean" (the
# normalised mean of its sentences' vectors, which are embedded anyway: half the model work per
# build, at a small cost in recall; README "Performance")
CHUNK_VECTORS = ("embedded", "sentence-mean")
EMBED_BATCH = 32
# An add that leaves more segments than this merges the smaller ones (all but the largest) into
# one: each question queries every segment, and merging costs what the small segments hold.
MAX_SEGMENTS = 8
PAGE = 1000  # rows per Chroma get/add when copying a segment


class NothingIndexed(RuntimeError):
    """No article could be indexed at all; the message says why, file by file."""

    def __init__(self, skipped: list[Skipped] | None = None, what: str = "no article could be indexed") -> None:
        self.skipped = list(skipped or [])
        lines = [what]
        for s in self.skipped[:20]:
            lines.append(f"  skipped {s.source}: {s.reason}")
        if len(self.skipped) > 20:
            lines.append(f"  ... and {len(self.skipped) - 20} more skipped")
        super().__init__("\n".join(lines))


class NeedsRebuild(StoreError):
    """The index was built with another model or chunking: it can only be rebuilt, not changed."""

    def __init__(self, what: str) -> None:
        super().__init__(f"the index was built with {what}: rebuild it with `cita index rebuild` "
                         "before adding or removing articles")


def _difference(manifest: dict, fingerprint: dict) -> str:
    if manifest.get("embed_model") != fingerprint["embed_model"]:
        return f"the model {manifest.get('embed_model')!r}, not {fingerprint['embed_model']!r}"
    changed = [f"{k}={_recorded(manifest, k)!r}, now {fingerprint[k]!r}" for k in fingerprint
               if _recorded(manifest, k) != fingerprint[k]]
    return "other settings (" + "; ".join(changed) + ")"


@dataclass
class BuildConfig:
    chunk_tokens: int = 256
    chunk_overlap_tokens: int = 48
    max_bytes: int = 5_000_000
    chunk_vectors: str = "embedded"

    def __post_init__(self) -> None:
        if self.chunk_vectors not in CHUNK_VECTORS:
            raise ValueError(f"chunk_vectors must be one of {', '.join(CHUNK_VECTORS)}, not {self.chunk_vectors!r}")

    def fingerprint(self, embedder: Embedder) -> dict:
        return {"format": FORMAT, "embed_model": embedder.name, "dim": embedder.dim,
                "chunk_tokens": self.chunk_tokens, "chunk_overlap_tokens": self.chunk_overlap_tokens,
                "chunk_vectors": self.chunk_vectors}


def _recorded(manifest: dict, key: str):
    """A fingerprint value as a manifest records it (those written before chunk_vectors existed
    had embedded chunk vectors)."""
    return manifest.get(key, "embedded" if key == "chunk_vectors" else None)


@dataclass
class BuildSummary:
    """What a build did. `embedded` counts the vectors computed (chunks, sentences and, on a
    cold cache, the background set), `reused` the chunk and sentence vectors taken from the
    embedding cache or the previous generation."""

    generation: str = ""
    articles: int = 0
    chunks: int = 0
    sentences: int = 0
    embedded: int = 0
    reused: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    seconds: float = 0.0
    unchanged: bool = False
    removed_generations: list[str] = field(default_factory=list)
    segments: int = 0
    new_articles: list[str] = field(default_factory=list)  # ids of the articles this build wrote
    grouping_s: float = 0.0  # signatures, mentioned dates and wire-copy groups (index/annotate.py)

    def line(self) -> str:
        state = " (unchanged: kept the current generation)" if self.unchanged else ""
        return (f"articles: {self.articles}, chunks: {self.chunks}, embedded: {self.embedded}, "
                f"reused: {self.reused}, skipped: {len(self.skipped)}, seconds: {self.seconds:.1f}{state}")

    def as_dict(self) -> dict:
        return {"generation": self.generation, "articles": self.articles, "chunks": self.chunks,
                "sentences": self.sentences, "embedded": self.embedded, "reused": self.reused,
                "skipped": [{"source": s.source, "reason": s.reason} for s in self.skipped],
                "seconds": round(self.seconds, 3), "unchanged": self.unchanged, "segments": self.segments,
                "grouping_seconds": round(self.grouping_s, 4)}


class Builder:
    """Wires a store, an embedder and the embedding cache into the build operations."""

    def __init__(self, store: Store, embedder: Embedder, config: BuildConfig, *, progress: bool = False) -> None:
        self.store = store
        self.embedder = embedder
        self.config = config
        self.progress = progress
        self.cache = EmbeddingCache(store.data_dir / "cache" / "embeddings.sqlite", embedder.name, embedder.dim)
        self._bar = _progress(0, enabled=False)
        # texts per model call; the bot's background refresh uses small batches, so that a
        # question waiting for the (shared, serialised) model waits for one small batch at most
        self.embed_batch = EMBED_BATCH

    # -- public operations ------------------------------------------------------------------

    def rebuild(self, paths: list[Path]) -> BuildSummary:
        start = time.perf_counter()
        articles, skipped = load_paths(paths, max_bytes=self.config.max_bytes)
        return self._build(articles, skipped, start=start, replace=True)

    def add(self, sources: list[str]) -> BuildSummary:
        start = time.perf_counter()
        articles: list[Article] = []
        skipped: list[Skipped] = []
        files = [Path(s) for s in sources if not s.startswith(("http://", "https://"))]
        if files:
            got, bad = load_paths(files, max_bytes=self.config.max_bytes)
            articles += got
            skipped += bad
        for url in (s for s in sources if s.startswith(("http://", "https://"))):
            got, bad = fetch_url(url, max_bytes=self.config.max_bytes)
            articles += got
            skipped += bad
        return self.add_articles(articles, skipped, start=start)

    def add_articles(self, articles: list[Article], skipped: list[Skipped] | None = None, *,
                     start: float | None = None) -> BuildSummary:
        """Add articles already loaded (the feeds' refresh): one new segment, one publish."""
        return self._build(articles, list(skipped or []), start=time.perf_counter() if start is None else start,
                           replace=False)

    def remove(self, which: list[str]) -> tuple[BuildSummary, list[str]]:
        """Drop articles named by id, source or exact title, or else by the end of their source
        ("story.txt" for "seeds/story.txt"). Returns the summary and the names that matched
        nothing."""
        start = time.perf_counter()
        _, manifest = self.store.current()
        drop, unknown = set(), []
        for name in which:
            # an exact match wins: "story.txt" removes the article added as story.txt, not also
            # "seeds/story.txt"
            hits = [a["id"] for a in manifest["articles"] if name in (a["id"], a["source"], a["title"])]
            if not hits:
                hits = [a["id"] for a in manifest["articles"] if a["source"].endswith("/" + name)]
            if hits:
                drop.update(hits)
            else:
                unknown.append(name)
        if not drop:
            return BuildSummary(generation=manifest["generation"], articles=len(manifest["articles"]),
                                chunks=manifest["chunks"], unchanged=True,
                                seconds=time.perf_counter() - start), unknown
        return self._build([], [], start=start, replace=False, drop=drop), unknown

    def merge(self, *, everything: bool = True) -> BuildSummary:
        """Copy the live rows of the current segments into one new segment (all of them, or with
        everything=False only when there are more than MAX_SEGMENTS, all but the largest)."""
        start = time.perf_counter()
        with self.store.build_lock():
            current_id, current = self.store.current()
            fingerprint = self.config.fingerprint(self.embedder)
            if {k: _recorded(current, k) for k in fingerprint} != fingerprint:
                raise NeedsRebuild(_difference(current, fingerprint))
            summary = self._merge(current_id, current, everything=everything)
            if summary.generation != current_id:
                summary.removed_generations = self.store.cleanup(keep=1)
        summary.seconds = time.perf_counter() - start
        return summary

    # -- the build itself -------------------------------------------------------------------

    def _build(self, articles: list[Article], skipped: list[Skipped], *, start: float, replace: bool,
               drop: set[str] | None = None) -> BuildSummary:
        summary = BuildSummary(skipped=list(skipped))
        fingerprint = self.config.fingerprint(self.embedder)
        drop = drop or set()
        if not articles and not drop:
            raise NothingIndexed(summary.skipped)
        with self.store.build_lock():
            current_id = self.store.current_id()
            head = self.store.header(current_id) if current_id else None
            if head and {k: _recorded(head, k) for k in fingerprint} != fingerprint:
                if not replace:  # adding to it or removing from it would silently drop the rest
                    raise NeedsRebuild(_difference(head, fingerprint))
                head = None  # other model or chunking: nothing can be carried over
            if head and not replace and not drop and has_lists(head):
                # an add to an index whose segments have article lists: work that does not
                # grow with the index (None: the groups need a full regroup, done below)
                done = self._add(current_id, head, articles, summary, fingerprint)
                if done is not None:
                    done.seconds = time.perf_counter() - start
                    return done
            current = (self.store.manifest(current_id) if has_lists(head) else head) if head else None

            if current and not drop and (
                    _same_articles(current["articles"], articles) if replace
                    else _already_there(current["articles"], articles)):
                _describe(summary, current_id, current)
                summary.reused = summary.chunks + summary.sentences
                summary.unchanged = True
                summary.seconds = time.perf_counter() - start
                return summary

            kept: list[dict] = []
            segments: list[dict] = []
            background = None
            if current and not replace:
                # an article added again replaces its old version, also when it comes back under
                # another path or URL with the same content (no duplicates): its old rows stay
                # in their segment, dead, because the manifest no longer points there
                new_ids = {a.id for a in articles}
                new_hashes = {a.content_hash for a in articles}
                kept = [a for a in current["articles"] if a["id"] not in new_ids
                        and a["content_hash"] not in new_hashes and a["id"] not in drop]
                for a in kept:
                    a.setdefault("segment", current_id)
                segments = _segment_entries(current)
                background = current.get("background", segments[0]["id"] if segments else None)

            generation = new_generation_id()
            prepared = self._prepare(articles, summary)
            if not prepared and not drop:
                raise NothingIndexed(summary.skipped)
            self._bar = _progress(len(self.cache.missing(_texts_to_embed(prepared, self.config.chunk_vectors))),
                                  enabled=self.progress)
            try:
                written: list[dict] = []
                if prepared or background is None:
                    written = self._write_segment(generation, prepared, summary, background is None)
                    if background is None:
                        background = generation
                    segments.append({"id": generation, "chunks": summary.chunks, "sentences": summary.sentences})
                all_articles = kept + written
                summary.grouping_s = annotate_news(all_articles, [article for article, _ in prepared])
                manifest = self._encode(fingerprint, generation, all_articles, segments, background)
                self.store.publish(generation, manifest)
            except BaseException:
                self._bar(0, done=True)
                # Ctrl-C, a full disk, a store error: the current generation keeps serving and
                # the unfinished one goes (a kill -9 leaves it to the next cleanup)
                with contextlib.suppress(Exception):
                    self.store.discard(generation)
                raise
            return self._published(summary, generation, manifest, written, replace=replace, start=start)

    def _published(self, summary: BuildSummary, generation: str, manifest: dict, written: list[dict], *,
                   replace: bool, start: float) -> BuildSummary:
        """The summary of a published build, after merging too many segments and cleaning up
        (under the build lock)."""
        self._bar(0, done=True)
        embedded, reused = summary.embedded, summary.reused
        summary.new_articles = [a["id"] for a in written]
        _describe(summary, generation, manifest)
        summary.embedded, summary.reused = embedded, reused
        if not replace and len(manifest["segments"]) > MAX_SEGMENTS:
            merged = self._merge(generation, self.store.manifest(generation), everything=False)
            summary.generation, summary.segments = merged.generation, merged.segments
        summary.removed_generations = self.store.cleanup(keep=1)
        summary.seconds = time.perf_counter() - start
        return summary

    def _write_segment(self, generation: str, prepared: list[tuple[Article, list[Chunk]]], summary: BuildSummary,
                       with_background: bool) -> list[dict]:
        """A new segment with the prepared articles (and the background set): its rows, its
        saved chunk table; returns the articles' manifest entries."""
        chunks_col, sentences_col, background_col = self.store.create(generation)
        if with_background:
            self._write_background(background_col, summary)
        written = self._write(prepared, chunks_col, sentences_col, summary)
        for a in written:
            a["segment"] = generation
        # the chunk rows and BM25 index readers load (index/lexical.py), saved now so the first
        # question after the build does not wait for them
        table = ChunkTable.from_collection(chunks_col, {a["id"]: a.get("title", "") for a in written})
        table.read_vectors(sentences_col)
        save_table(self.store.data_dir, generation, table)
        # close the writer's client first: once published, readers in other processes open a
        # directory no process is writing any more
        self.store.release(generation)
        return written

    def _add(self, current_id: str, head: dict, articles: list[Article], summary: BuildSummary,
             fingerprint: dict) -> BuildSummary | None:
        """Add articles to an index whose segments have article lists, reading only the
        segments' key lists and writing one new segment, its lists and a manifest that does not
        grow with the index (README "Articles and the index"). None when the wire-copy groups
        need a full regroup (an article replaced was the first of a group): the caller then
        takes the general path."""
        import numpy as np

        segments = _segment_entries(head)
        dead = {seg: list(ids) for seg, ids in (head.get("dead") or {}).items()}
        overrides = dict(head.get("groups") or {})
        live: dict[str, tuple[str, list]] = {}  # id -> (segment, key row)
        by_hash: dict[str, list[str]] = {}
        matrices = []
        order: list[str] = []  # the live ids, in the rows' order of the matrices
        for seg in segments:
            keys = self.store.segment_keys(seg["list"], seg["id"])
            gone = set(dead.get(seg["id"], ()))
            rows = keys["rows"]
            matrix = np.frombuffer(base64.b64decode(keys.get("minhash") or ""), dtype="<u4")
            matrix = matrix.reshape(-1, NUM_PERM) if len(matrix) == len(rows) * NUM_PERM else \
                np.zeros((len(rows), NUM_PERM), dtype="<u4")
            keep = [i for i, r in enumerate(rows) if r[0] not in gone]
            matrices.append(matrix[keep] if len(keep) != len(rows) else matrix)
            order.extend(rows[i][0] for i in keep)
            for i in keep:
                live[rows[i][0]] = (seg["id"], rows[i])
                by_hash.setdefault(rows[i][1], []).append(rows[i][0])
        if all(a.id in live and live[a.id][1][2] == _digest(_loaded(a)) for a in articles):
            summary.generation, summary.articles = current_id, head["article_count"]
            summary.chunks, summary.sentences = head["chunks"], head.get("sentences", 0)
            summary.segments = len(segments)
            summary.reused = summary.chunks + summary.sentences
            summary.unchanged = True
            return summary
        # an article added again replaces its old version, also under another path or URL with
        # the same content (no duplicates): its old rows stay in their segment, dead
        replaced = {a.id for a in articles if a.id in live}
        replaced |= {old for a in articles for old in by_hash.get(a.content_hash, ())}
        matrix = np.concatenate(matrices) if matrices else np.zeros((0, NUM_PERM), dtype="<u4")
        stored = [aid for aid in order if aid not in replaced]
        if replaced:
            matrix = matrix[[i for i, aid in enumerate(order) if aid not in replaced]]
        groups = [overrides.get(aid, live[aid][1][3]) for aid in stored]
        position = {aid: i for i, aid in enumerate(stored)}
        if any(g not in position or groups[position[g]] != g for g in set(groups)):
            return None  # a group lost its first member (replaced here, say): regroup everything
        generation = new_generation_id()
        prepared = self._prepare(articles, summary)
        if not prepared:
            raise NothingIndexed(summary.skipped)
        self._bar = _progress(len(self.cache.missing(_texts_to_embed(prepared, self.config.chunk_vectors))),
                              enabled=self.progress)
        try:
            written = self._write_segment(generation, prepared, summary, False)
            t = time.perf_counter()
            sign(written, [article for article, _ in prepared])
            regrouped = groups_after_add(stored, groups, [live[aid][1][4] for aid in stored], matrix, written)
            if regrouped is None:  # checked above; never here
                raise StoreError("the index's wire-copy groups are inconsistent: rebuild it with `cita index rebuild`")
            fresh_group, changed = regrouped
            for a in written:
                a["group"] = fresh_group[a["id"]]
            summary.grouping_s = time.perf_counter() - t
            for aid in replaced:
                seg, _ = live[aid]
                dead.setdefault(seg, []).append(aid)
                overrides.pop(aid, None)
            for aid, g in changed.items():
                overrides[aid] = g
            self._write_lists(generation, generation, written)
            segments.append({"id": generation, "chunks": summary.chunks, "sentences": summary.sentences,
                             "list": generation})
            gone_rows = [live[aid][1] for aid in replaced]
            manifest = self._header(
                fingerprint, generation, segments, head.get("background") or segments[0]["id"],
                articles=head["article_count"] - len(replaced) + len(written),
                chunks=head["chunks"] - sum(r[5] for r in gone_rows) + summary.chunks,
                sentences=head.get("sentences", 0) - sum(r[6] for r in gone_rows) + summary.sentences,
                dead=dead, groups=overrides)
            self.store.publish(generation, manifest)
        except BaseException:
            self._bar(0, done=True)
            with contextlib.suppress(Exception):
                self.store.discard(generation)
            raise
        return self._published(summary, generation, manifest, written, replace=False, start=time.perf_counter())

    def _header(self, fingerprint: dict, generation: str, segments: list[dict], background: str | None, *,
                articles: int, chunks: int, sentences: int, dead: dict, groups: dict) -> dict:
        """A generation's manifest as stored: counts and segments, no article entries (the
        segments' lists hold them; `dead` names the listed articles that are not live,
        `groups` the live ones whose wire-copy group changed since their list was written)."""
        return {
            **fingerprint,
            "generation": generation,
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "layout": LAYOUT,
            "article_count": articles,
            "chunks": chunks,
            "sentences": sentences,
            "segments": segments,
            "background": background,
            "dead": {seg: sorted(ids) for seg, ids in dead.items() if ids},
            "groups": groups,
        }

    def _encode(self, fingerprint: dict, generation: str, articles: list[dict], segments: list[dict],
                background: str | None) -> dict:
        """The stored manifest of a generation whose live articles are `articles` (each with its
        segment): a segment whose list holds its live entries keeps it (the rest of the list is
        `dead`, changed groups go in `groups`); a new segment, or one without a list (an index
        written before lists existed), gets a list written now, kept with this generation."""
        by_segment: dict[str, list[dict]] = {}
        for a in articles:
            by_segment.setdefault(a["segment"], []).append(a)
        out, dead, groups = [], {}, {}
        for seg in segments:
            seg = {k: v for k, v in seg.items() if k in ("id", "chunks", "sentences", "list")}
            mine = by_segment.get(seg["id"], [])
            listed = None
            if seg.get("list"):
                listed = {a["id"]: a for a in self.store.segment_articles(seg["list"], seg["id"])}
                if not all(a["id"] in listed and _same_entry(listed[a["id"]], a) for a in mine):
                    listed = None
            if listed is None:
                self._write_lists(generation, seg["id"], mine)
                seg["list"] = generation
            else:
                live = {a["id"] for a in mine}
                dead[seg["id"]] = [aid for aid in listed if aid not in live]
                groups.update({a["id"]: a.get("group") for a in mine
                               if a.get("group") != listed[a["id"]].get("group")})
            out.append(seg)
        return self._header(fingerprint, generation, out, background, articles=len(articles),
                            chunks=sum(a["chunks"] for a in articles),
                            sentences=sum(a["sentences"] for a in articles), dead=dead, groups=groups)

    def _write_lists(self, holder: str, segment: str, entries: list[dict]) -> None:
        """A segment's article list and its key list (what an add looks up), in `holder`."""
        entries = sorted(({**a, "segment": segment} for a in entries), key=lambda a: a["source"])
        blobs = []
        for a in entries:
            blob = b""
            with contextlib.suppress(ValueError, TypeError):
                blob = base64.b64decode(a.get("minhash") or "", validate=True)
            blobs.append(blob if len(blob) == 4 * NUM_PERM else bytes(4 * NUM_PERM))
        keys = {"rows": [[a["id"], a["content_hash"], _digest(_meta_key(a)), a.get("group", a["id"]),
                          a.get("published") or "", a.get("chunks", 0), a.get("sentences", 0)] for a in entries],
                "minhash": base64.b64encode(b"".join(blobs)).decode("ascii")}
        self.store.write_lists(holder, segment, entries, keys)

    def _merge(self, current_id: str, current: dict, *, everything: bool) -> BuildSummary:
        """One new segment with the live rows of the chosen segments, published (under the
        build lock, which the caller holds)."""
        segments = _segment_entries(current)
        live = _live_counts(current)
        if everything:
            chosen = [s["id"] for s in segments]
            if len(chosen) == 1 and live.get(chosen[0], (0, 0)) == (segments[0]["chunks"], segments[0]["sentences"]):
                chosen = []  # one segment without dead rows: nothing to do
        elif len(segments) > MAX_SEGMENTS:
            largest = max(segments, key=lambda s: live.get(s["id"], (0, 0))[0])["id"]
            chosen = [s["id"] for s in segments if s["id"] != largest]
        else:
            chosen = []
        summary = BuildSummary()
        if not chosen:
            _describe(summary, current_id, current)
            summary.unchanged = True
            return summary
        generation = new_generation_id()
        fingerprint = self.config.fingerprint(self.embedder)
        where = {a["id"]: a.get("segment", current_id) for a in current["articles"]}
        for a in current["articles"]:
            a.setdefault("segment", current_id)
        background = current.get("background") or segments[0]["id"]
        try:
            chunks_col, sentences_col, background_col = self.store.create(generation)
            if background in chosen:
                self._write_background(background_col, summary)
                background = generation
            for seg in chosen:
                self._copy(seg, {aid for aid, s in where.items() if s == seg}, chunks_col, sentences_col, summary)
            articles = [{**a, "segment": generation} if where[a["id"]] in chosen else a for a in current["articles"]]
            merged = {"id": generation, "chunks": summary.chunks, "sentences": summary.sentences}
            first = min(i for i, s in enumerate(segments) if s["id"] in chosen)
            rest = [s for s in segments if s["id"] not in chosen]
            new_segments = rest[:first] + [merged] + rest[first:]
            table = ChunkTable.from_collection(chunks_col, {a["id"]: a.get("title", "") for a in articles})
            table.read_vectors(sentences_col)
            save_table(self.store.data_dir, generation, table)
            self.store.release(generation)
            manifest = self._encode(fingerprint, generation, articles, new_segments, background)
            self.store.publish(generation, manifest)
        except BaseException:
            with contextlib.suppress(Exception):
                self.store.discard(generation)
            raise
        _describe(summary, generation, manifest)
        return summary

    def _write_background(self, collection, summary: BuildSummary) -> None:
        """The background sentences (see background.txt), embedded once and cached."""
        texts = background_sentences()
        vectors = self._embed({_key(t): t for t in texts}, summary, count=False)
        collection.add(ids=[f"bg{i}" for i in range(len(texts))], documents=texts,
                       embeddings=[vectors[_key(t)] for t in texts])

    def _prepare(self, articles: list[Article], summary: BuildSummary) -> list[tuple[Article, list[Chunk]]]:
        """The chunks of each article; an article without any is skipped."""
        prepared = []
        for article in articles:
            chunks = chunk_article(article, chunk_tokens=self.config.chunk_tokens,
                                   overlap_tokens=self.config.chunk_overlap_tokens)
            if chunks:
                prepared.append((article, chunks))
            else:
                summary.skipped.append(Skipped(article.source, "no sentences to index"))
        return prepared

    def _write(self, prepared: list[tuple[Article, list[Chunk]]], chunks_col, sentences_col,
               summary: BuildSummary) -> list[dict]:
        """Embed and store the chunked articles, a few dozen chunks at a time; returns their
        manifest entries (with their row counts)."""
        batch: list[tuple[Article, list[Chunk]]] = []
        entries: list[dict] = []
        pending = 0
        for article, chunks in prepared:
            batch.append((article, chunks))
            pending += len(chunks)
            if pending >= 64:
                entries += self._flush(batch, chunks_col, sentences_col, summary)
                batch, pending = [], 0
        if batch:
            entries += self._flush(batch, chunks_col, sentences_col, summary)
        return entries

    def _flush(self, batch, chunks_col, sentences_col, summary: BuildSummary) -> list[dict]:
        chunk_texts: dict[str, str] = {}
        sentence_rows: dict[str, tuple[Article, int, int, str]] = {}
        entries = []
        for article, chunks in batch:
            before = len(sentence_rows)
            for c in chunks:
                chunk_texts[c.content_key] = c.text
                for s, e in c.sentences:
                    text = article.text[s:e]
                    sentence_rows[sentence_id(article.id, s, e)] = (article, s, e, text)
            entries.append({**article.meta(), "chunks": len(chunks), "sentences": len(sentence_rows) - before})
        sentence_keys = {sid: _key(row[3]) for sid, row in sentence_rows.items()}
        texts = {sentence_keys[sid]: row[3] for sid, row in sentence_rows.items()}
        if self.config.chunk_vectors == "embedded":
            texts.update(chunk_texts)
        vectors = self._embed(texts, summary)
        # All three collections are written the same way, with chromadb's own `add`. The chunks
        # used to go through llama-index's ChromaVectorStore as TextNodes: that only added a
        # `_node_content` JSON copy of each node (text and metadata again) and a few id fields
        # to every row, which nothing reads (retrieval reads the rows and metadata directly).
        ids, embeddings, documents, metadatas = [], [], [], []
        for article, chunks in batch:
            for c in chunks:
                if self.config.chunk_vectors == "embedded":
                    vector = vectors[c.content_key]
                else:
                    v = np.mean([vectors[_key(article.text[s:e])] for s, e in c.sentences], axis=0)
                    vector = v / (np.linalg.norm(v) or 1.0)
                ids.append(c.id)
                embeddings.append(np.asarray(vector, dtype=np.float32).tolist())
                documents.append(c.text)
                metadatas.append({**_article_metadata(article), "start": c.start, "end": c.end,
                                  "sentences": json.dumps(c.sentences)})
        for i in range(0, len(ids), PAGE):
            chunks_col.add(ids=ids[i:i + PAGE], embeddings=embeddings[i:i + PAGE],
                           documents=documents[i:i + PAGE], metadatas=metadatas[i:i + PAGE])
        sids = list(sentence_rows)
        for i in range(0, len(sids), PAGE):
            part = sids[i:i + PAGE]
            sentences_col.add(
                ids=part,
                embeddings=[vectors[sentence_keys[sid]] for sid in part],
                metadatas=[{"article_id": sentence_rows[sid][0].id, "start": sentence_rows[sid][1],
                            "end": sentence_rows[sid][2]} for sid in part],
            )
        summary.chunks += len(ids)
        summary.sentences += len(sids)
        return entries

    def _embed(self, texts_by_key: dict[str, str], summary: BuildSummary, *, count: bool = True) -> dict[str, np.ndarray]:
        keys = list(texts_by_key)
        found = self.cache.get_many(keys)
        missing = [k for k in keys if k not in found]
        if count:
            summary.reused += len(keys) - len(missing)
        for i in range(0, len(missing), self.embed_batch):
            part = missing[i:i + self.embed_batch]
            vecs = self.embedder.passages([texts_by_key[k] for k in part])
            fresh = dict(zip(part, vecs))
            self.cache.put_many(fresh)
            found.update(fresh)
            summary.embedded += len(part)
            self._bar(len(part))
        return found

    def _copy(self, segment: str, article_ids: set[str], chunks_col, sentences_col, summary: BuildSummary) -> None:
        """Carry the rows of the live articles of a segment over, vectors included, a page at a time."""
        old_chunks, old_sentences, _ = self.store.open(segment)
        try:
            for src, dst, is_chunk in ((old_chunks, chunks_col, True), (old_sentences, sentences_col, False)):
                total = src.count()
                include = ["embeddings", "metadatas", "documents"] if is_chunk else ["embeddings", "metadatas"]
                copied = 0
                for offset in range(0, total, PAGE):
                    got = src.get(include=include, limit=PAGE, offset=offset)
                    rows = [i for i, md in enumerate(got["metadatas"]) if md.get("article_id") in article_ids]
                    if not rows:
                        continue
                    dst.add(ids=[got["ids"][j] for j in rows],
                            embeddings=[got["embeddings"][j] for j in rows],
                            metadatas=[got["metadatas"][j] for j in rows],
                            documents=[got["documents"][j] for j in rows] if is_chunk else None)
                    copied += len(rows)
                summary.reused += copied
                if is_chunk:
                    summary.chunks += copied
                else:
                    summary.sentences += copied
        finally:
            self.store.release(segment)

    def close(self) -> None:
        self.cache.close()


def _segment_entries(manifest: dict) -> list[dict]:
    """The manifest's segments with their row counts (a single one for an older manifest)."""
    if manifest.get("segments"):
        return [dict(s) for s in manifest["segments"]]
    return [{"id": manifest["generation"], "chunks": manifest.get("chunks", 0),
             "sentences": manifest.get("sentences", 0)}]


def _live_counts(manifest: dict) -> dict[str, tuple[int, int]]:
    """Live (chunks, sentences) per segment."""
    out: dict[str, tuple[int, int]] = {}
    for a in manifest["articles"]:
        seg = a.get("segment", manifest["generation"])
        c, s = out.get(seg, (0, 0))
        out[seg] = (c + a.get("chunks", 0), s + a.get("sentences", 0))
    return out


def _describe(summary: BuildSummary, generation: str, manifest: dict) -> None:
    summary.generation = generation
    summary.articles = manifest["article_count"] if "article_count" in manifest else len(manifest["articles"])
    summary.chunks = manifest["chunks"]
    summary.sentences = manifest.get("sentences", 0)
    summary.segments = len(segments_of(manifest))


def background_sentences() -> list[str]:
    path = Path(__file__).with_name("background.txt")
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.startswith("#")]


def _key(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()


def _article_metadata(article: Article) -> dict:
    return {"article_id": article.id, "title": article.title, "source": article.source,
            "published": article.published, "language": article.language}


_ARTICLE_KEYS = tuple(f.name for f in dataclasses.fields(Article) if f.name != "text")


def _meta_key(meta: dict) -> str:
    """What the loader found for an article (its Article fields, as the manifest holds them): a
    rebuild whose loader now finds other metadata for the same text (an outlet, boilerplate
    spans) writes a new generation."""
    return json.dumps([meta.get(k) for k in _ARTICLE_KEYS], ensure_ascii=False)


def _digest(meta_key: str) -> str:
    import hashlib

    return hashlib.sha256(meta_key.encode()).hexdigest()[:24]


def _same_entry(listed: dict, entry: dict) -> bool:
    """Whether a live entry is its segment's listed one (its group may have changed since)."""
    skip = ("group", "segment")
    return {k: v for k, v in listed.items() if k not in skip} == {k: v for k, v in entry.items() if k not in skip}


def _loaded(article: Article) -> str:
    return _meta_key(json.loads(json.dumps(article.meta())))


def _same_articles(old: list[dict], new: list[Article]) -> bool:
    return sorted(_meta_key(a) for a in old) == sorted(_loaded(a) for a in new)


def _already_there(old: list[dict], new: list[Article]) -> bool:
    """Every added article is already indexed as it is (only the old entries with the new ids
    can match: an add does not serialise every entry of the index)."""
    ids = {a.id for a in new}
    have = {_meta_key(a) for a in old if a["id"] in ids}
    return all(_loaded(a) in have for a in new)


def _texts_to_embed(prepared: list[tuple[Article, list[Chunk]]], chunk_vectors: str) -> list[str]:
    """The cache keys of everything a build embeds: the background set, chunks and sentences."""
    keys = [_key(t) for t in background_sentences()]
    for article, chunks in prepared:
        for c in chunks:
            if chunk_vectors == "embedded":
                keys.append(c.content_key)
            keys.extend(_key(article.text[s:e]) for s, e in c.sentences)
    return keys


def _progress(total: int, *, enabled: bool):
    """A tqdm bar on stderr counting the vectors to compute, when asked for and there are any;
    a no-op otherwise."""
    if not enabled or total == 0:
        return lambda n, done=False: None
    from tqdm import tqdm

    bar = tqdm(total=total, unit="vector", desc="embedding", file=sys.stderr, leave=False)

    def update(n: int, done: bool = False) -> None:
        bar.update(n)
        if done:  # show the final count even when the work took less than tqdm's refresh interval
            bar.refresh()
            bar.close()

    return update
