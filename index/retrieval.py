"""Hybrid retrieval over the published generation: dense (chunks and sentences in Chroma) plus
BM25 over the same chunks, fused, then diversified.

`Library` follows the published generation: every read checks the pointer (at most once per
`check_every` seconds) and swaps in the new generation, vectors and lexical index together. A
generation stays open while questions that started on it are still reading it (`reading`), so
that another thread moving the library on neither closes it under them nor lets a rebuild in
another process delete it.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import functools
import logging
import threading
import time
from dataclasses import dataclass, field

import numpy as np

from .embedding import Embedder
from .lexical import ChunkRow, lexical_tokens, load_table
from .store import IndexMissing, Store, StoreError, StoreUnavailable, segments_of
from .text import guess_language, parse_sentence_id, sentence_id, words

log = logging.getLogger(__name__)

# Dense score of a chunk = cosine(question, chunk) + SENTENCE_WEIGHT * best cosine(question, one
# of its sentences). Measured on XQuAD (240 es paragraphs, en questions): R@1 0.883 for the chunk
# alone, 0.910 with the sentence term. See README "Answer quality".
SENTENCE_WEIGHT = 1.0
# BM25 (normalised to the best hit) is added with a weight that depends on whether question and
# article share a language: across languages it only adds noise (R@1 drops with any weight above
# ~0.02 on XQuAD en->es), within one language it helps.
LEXICAL_WEIGHT_SAME = 0.15
LEXICAL_WEIGHT_CROSS = 0.01
DENSE_CHUNKS = 30
DENSE_SENTENCES = 60
VECTOR_MEMORY = 50_000  # sentence vectors kept in memory per generation (~77 MB at 384 dims)


@dataclass
class Passage:
    chunk: ChunkRow
    score: float
    dense: float
    lexical: float
    best_sentence: float = 0.0
    sentence_scores: dict[tuple[int, int], float] = field(default_factory=dict)
    sentence_vectors: dict[tuple[int, int], np.ndarray] = field(default_factory=dict, repr=False)


class IndexView:
    """One published generation, loaded for reading: the live rows of all its segments.

    Each segment is queried on its own and the hits merged; a row counts only when its article
    lives in that segment (the manifest says where each article lives), so the rows of a removed
    article or of an older version are never seen. A segment's table (rows and BM25) is shared
    with the previous view of the same library when both read it, so moving to a generation that
    added one small segment loads only that segment's table."""

    def __init__(self, store: Store, generation: str, manifest: dict | None = None,
                 previous: IndexView | None = None) -> None:
        self.store = store
        self.generation = generation
        self.readers = 0  # questions reading it now (Library.reading)
        self.manifest = manifest if manifest is not None else store.manifest(generation)
        self.articles = {a["id"]: a for a in self.manifest["articles"]}
        self.segments = segments_of(self.manifest)
        self.live = {aid: a.get("segment", generation) for aid, a in self.articles.items()}
        self.groups = {aid: a.get("group", aid) for aid, a in self.articles.items()}  # wire-copy groups
        self.cols: dict[str, tuple] = {}
        try:
            for seg in self.segments:
                self.cols[seg] = store.open(seg)
        except BaseException:
            self.close()
            raise
        titles = {aid: a.get("title", "") for aid, a in self.articles.items()}
        known = previous.tables if previous is not None else {}
        self.tables: dict = {}
        self.rows: list[ChunkRow] = []
        self._origin: list[tuple] = []  # row -> (its segment's table, its place in that table)
        self.selected: dict[str, np.ndarray] = {}  # segment -> its table rows that are live
        self.dead: dict[str, int] = {}  # segment -> chunk rows that are not live
        # segment -> (sentence rows, of which not live), from the manifest's counts
        live_sentences: dict[str, int] = {}
        for aid, a in self.articles.items():
            live_sentences[self.live[aid]] = live_sentences.get(self.live[aid], 0) + a.get("sentences", 0)
        info = {s["id"]: s for s in self.manifest.get("segments") or []}
        self.sentence_rows = {
            seg: (info[seg]["sentences"], info[seg]["sentences"] - live_sentences.get(seg, 0)) if seg in info
            else (self.manifest.get("sentences", 0), 0) for seg in self.segments}
        for seg in self.segments:
            table = known.get(seg) or load_table(store.data_dir, seg, self.cols[seg][0], titles)
            self.tables[seg] = table
            keep = [i for i, r in enumerate(table.rows) if self.live.get(r.article_id) == seg]
            self.selected[seg] = np.asarray(keep, dtype=np.int64)
            self.dead[seg] = len(table.rows) - len(keep)
            self.rows.extend(table.rows[i] for i in keep)
            self._origin.extend((table, i) for i in keep)
        self.row_of = {r.id: i for i, r in enumerate(self.rows)}
        # article -> its live rows, to find the chunks of a sentence hit (a table of every
        # sentence id held 11 MB on 10,000 chunks; an article has a few rows to look through)
        self.rows_of_article: dict[str, list[int]] = {}
        for i, r in enumerate(self.rows):
            self.rows_of_article.setdefault(r.article_id, []).append(i)
        background = self.manifest.get("background") or self.segments[0]
        self.background_col = self.cols[background][2] if background in self.cols else self.cols[self.segments[0]][2]
        # the one-segment case, as before segments (bench/answer_latency.py queries it bare)
        self.chunks_col, self.sentences_col = self.cols[self.segments[0]][:2]
        self._vectors: dict[str, np.ndarray] = {}  # sentence vectors read so far (bounded)
        self._df: dict[str, int] | None = None  # chunks holding each folded word (idf), when first asked
        self._prefix_df: dict[str, int] | None = None  # the same by first five letters
        self._small: dict[tuple[str, int], tuple] = {}  # small segments' rows, searched in memory
        self._background: np.ndarray | None = None  # the background sentences' vectors, when first asked
        # the same per segment, kept from the previous view while a segment's live rows are the
        # same: after an add, only the new segment's words are counted (10,000 chunks take ~2 s)
        self._segment_df: dict[str, dict[str, int]] = {}
        if previous is not None:
            for seg in self.segments:
                if seg in previous._segment_df and np.array_equal(previous.selected.get(seg), self.selected[seg]):
                    self._segment_df[seg] = previous._segment_df[seg]

    def close(self) -> None:
        for seg in list(self.cols):
            self.store.release(seg)
        self.cols = {}

    def lexical_scores(self, text: str) -> np.ndarray:
        """BM25 of every live row. Each segment scores with its own statistics (a small new
        segment has its own idf) until a merge puts them together; the lexical term is a small
        weight on top of the dense score (LEXICAL_WEIGHT_*)."""
        parts = [self.tables[seg].scores(text)[self.selected[seg]] for seg in self.segments]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)

    def query(self, qvec: np.ndarray, kind: int, n: int, only: set[str] | None = None) -> dict[str, float]:
        """The n nearest chunks (kind 0) or sentences (kind 1) of the live rows, id -> cosine;
        `only`: of these articles alone."""
        return self.query_many([qvec], kind, n, only)[0]

    def query_many(self, qvecs: list[np.ndarray], kind: int, n: int,
                   only: set[str] | None = None) -> list[dict[str, float]]:
        """`query` for several vectors at once: one Chroma query per segment for all of them
        (a Chroma query costs about 2 ms on 10,000 chunks, most of it the same for 1 or 3)."""
        where = {"article_id": {"$in": sorted(only)}} if only else None
        outs: list[dict[str, float]] = [{} for _ in qvecs]
        if not qvecs:
            return outs
        for seg in self.segments:
            table = self.tables[seg]
            total, dead = (len(table.rows), self.dead[seg]) if kind == 0 else self.sentence_rows[seg]
            total = total or len(table.rows)
            want = min(total, n + max(dead, 0))
            if want <= 0 or len(self.selected[seg]) == 0:
                continue
            if total <= SMALL_SEGMENT:
                found = [self._query_in_memory(seg, kind, qvec, want, only) for qvec in qvecs]
            else:
                got = self.cols[seg][kind].query(query_embeddings=[q.tolist() for q in qvecs], n_results=want,
                                                 include=["distances"], where=where)
                found = [[(rid, 1.0 - d) for rid, d in zip(ids, dists)]
                         for ids, dists in zip(got["ids"], got["distances"])]
            for out, hits in zip(outs, found):
                for rid, cosine in hits:
                    aid = parse_sentence_id(rid)[0] if kind == 1 else None
                    if kind == 1 and self.live.get(aid) != seg:
                        continue
                    out[rid] = max(out.get(rid, -2.0), cosine)
        return [dict(sorted(out.items(), key=lambda kv: -kv[1])[:n]) for out in outs]

    def _query_in_memory(self, seg: str, kind: int, qvec: np.ndarray, want: int,
                         only: set[str] | None) -> list[tuple[str, float]]:
        """A small segment (a few adds' worth) searched exactly with NumPy: its vectors are read
        once per view, and a question then costs microseconds instead of two more Chroma queries
        (after 50 adds, the second segment added 2.5 ms a question)."""
        key = (seg, kind)
        rows = self._small.get(key)
        if rows is None:
            got = self.cols[seg][kind].get(include=["embeddings", "metadatas"])
            ids = list(got["ids"])
            vectors = np.asarray(got["embeddings"], dtype=np.float32).reshape(len(ids), -1)
            articles = [(m or {}).get("article_id") or (parse_sentence_id(i)[0] if kind == 1 else "")
                        for i, m in zip(ids, got["metadatas"] or [None] * len(ids))]
            rows = self._small[key] = (ids, vectors, articles)
        ids, vectors, articles = rows
        if not ids:
            return []
        cosines = vectors @ qvec.astype(np.float32)
        order = np.argsort(-cosines)
        found = []
        for i in order:
            if only and articles[i] not in only:
                continue
            found.append((ids[i], float(cosines[i])))
            if len(found) >= want:
                break
        return found

    def chunks_of_sentence(self, sid: str) -> list[int]:
        """The live rows (chunks) that hold a sentence, by its id."""
        aid, s, e = parse_sentence_id(sid)
        return [i for i in self.rows_of_article.get(aid, ()) if (s, e) in self.rows[i].sentences]

    def row_sentence_vectors(self, row: int) -> np.ndarray | None:
        """The vectors of a live row's sentences, in order, from the file saved with its segment's
        table, or None when the table has none."""
        table, i = self._origin[row]
        return table.sentence_vectors(i)

    def sentence_vectors(self, ids: list[str]) -> dict[str, np.ndarray]:
        """Sentence vectors by id; those read before come from memory (answers read the same
        few hundred sentences of a story again and again)."""
        cache = self._vectors
        by_segment: dict[str, list[str]] = {}
        for sid in ids:
            if sid in cache:
                continue
            seg = self.live.get(parse_sentence_id(sid)[0])
            if seg in self.cols:
                by_segment.setdefault(seg, []).append(sid)
        for seg, part in by_segment.items():
            got = self.cols[seg][1].get(ids=part, include=["embeddings"])
            if len(cache) + len(got["ids"]) > VECTOR_MEMORY:
                cache.clear()
            cache.update({i: np.asarray(v, dtype=np.float32) for i, v in zip(got["ids"], got["embeddings"])})
        return {i: cache[i] for i in ids if i in cache}

    def background_vectors(self) -> np.ndarray:
        """The background sentences' vectors, read once per view: a few hundred rows are searched
        exactly with NumPy in microseconds, where a Chroma query cost 1.5 ms a question."""
        if self._background is None:
            got = self.background_col.get(include=["embeddings"])
            self._background = np.asarray(got["embeddings"], dtype=np.float32).reshape(len(got["ids"]), -1)
        return self._background

    def idf(self, term: str) -> float:
        """Inverse document frequency of a folded word over the live chunks (rare words weigh
        more); 0 for a word no chunk holds."""
        df = self._df
        if df is None:
            for seg in self.segments:
                if seg not in self._segment_df:
                    counts: dict[str, int] = {}
                    rows = self.tables[seg].rows
                    for i in self.selected[seg]:
                        for w in set(lexical_tokens(rows[i].text)):
                            counts[w] = counts.get(w, 0) + 1
                    self._segment_df[seg] = counts
            if len(self.segments) == 1:
                df = self._segment_df[self.segments[0]]
            else:
                df = {}
                for seg in self.segments:
                    for w, n in self._segment_df[seg].items():
                        df[w] = df.get(w, 0) + n
            self._df = df
        n = df.get(term, 0)
        if not n and len(term) >= 5:  # "policías" where the articles say "policía": its first five letters
            if self._prefix_df is None:
                prefix: dict[str, int] = {}
                for w, k in df.items():
                    if len(w) >= 5:
                        prefix[w[:5]] = prefix.get(w[:5], 0) + k
                self._prefix_df = prefix
            n = min(self._prefix_df.get(term[:5], 0), len(self.rows))
        return float(np.log((len(self.rows) + 1) / (n + 0.5))) if n else 0.0


class Library:
    """The index as readers see it: always a complete, published generation."""

    def __init__(self, store: Store, embedder: Embedder, *, check_every: float = 1.0) -> None:
        self.store = store
        self.embedder = embedder
        self.check_every = check_every
        self._view: IndexView | None = None
        self._checked = 0.0
        self._lock = threading.RLock()

    def view(self, *, refresh: bool = False) -> IndexView:
        """The current generation; the pointer is checked at most every `check_every` seconds,
        or now with refresh=True (after a rebuild in this process)."""
        with self._lock:
            now = time.monotonic()
            if self._view is not None and not refresh and now - self._checked < self.check_every:
                return self._view
            try:
                current = self.store.current_id()
            except StoreUnavailable:
                raise
            except StoreError:
                if self._view is not None:
                    return self._view
                raise
            self._checked = now
            if current is None:
                if self._view is not None:
                    return self._view
                raise IndexMissing("there is no index yet: build it with `cita index rebuild`")
            if self._view is None or self._view.generation != current:
                manifest = self.store.manifest(current)
                self._check_model(manifest)
                view = IndexView(self.store, current, manifest, previous=self._view)
                old, self._view = self._view, view
                if old is not None and old.readers == 0:
                    old.close()  # else the last reader closes it
                log.info("serving generation %s (%d chunks)", current, len(view.rows))
            return self._view

    def check(self) -> dict:
        """The manifest of the generation questions would be answered from, without loading it
        (cheap): raises what `view` would (IndexMissing, ModelMismatch, StoreError)."""
        current = self.store.current_id()
        if current is None:
            raise IndexMissing("there is no index yet: build it with `cita index rebuild`")
        manifest = self.store.manifest(current)
        self._check_model(manifest)
        return manifest

    def _check_model(self, manifest: dict) -> None:
        model = manifest.get("embed_model")
        if model != self.embedder.name:
            raise ModelMismatch(f"the index was built with {model!r} but Cita is configured for "
                                f"{self.embedder.name!r}: rebuild it with `cita index rebuild`")

    @contextlib.contextmanager
    def reading(self):
        """The current generation (as `view`), kept open until the block ends even if another
        thread moves the library to a newer one meanwhile."""
        with self._lock:
            view = self.view()
            view.readers += 1
        try:
            yield view
        finally:
            with self._lock:
                view.readers -= 1
                if view.readers == 0 and view is not self._view:
                    view.close()


class ModelMismatch(StoreError):
    """The index was built with another embedding model."""


def query_vector(embedder: Embedder, question: str, context: list[str] | None = None) -> np.ndarray:
    """The question's vector; earlier turns of a conversation pull it towards their topic."""
    q = embedder.query(question)
    if context:
        prev = embedder.query(" ".join(context[-2:]))
        q = q + 0.5 * prev
        q = q / (np.linalg.norm(q) or 1.0)
    return q


def retrieve(view: IndexView, qvec: np.ndarray, question: str, *, k: int = 3,
             context: list[str] | None = None, only: set[str] | None = None,
             prefer: dict[str, float] | None = None) -> list[Passage]:
    """The best k passages for the question, at most one per near-duplicate group (and one
    article per wire-copy group). `only`: search just these articles (a dated question's).
    `prefer`: a bonus for the passages of some articles (of an outlet the question names)."""
    n = len(view.rows)
    if n == 0 or only is not None and not only:
        return []
    # the chunk and sentence searches run side by side: Chroma releases the GIL while it
    # searches, so on 2 cores the two ~1.7 ms queries take 2.3 ms instead of 4.2
    chunk_hits = _SEARCHES.submit(view.query, qvec, 0, DENSE_CHUNKS, only)
    sent_sim = view.query(qvec, 1, DENSE_SENTENCES, only)
    chunk_sim = {view.row_of[i]: sim for i, sim in chunk_hits.result().items() if i in view.row_of}
    floor_chunk = min(chunk_sim.values(), default=0.0)
    floor_sent = min(sent_sim.values(), default=0.0)
    best_sent: dict[int, float] = {}
    for sid, sim in sent_sim.items():
        for row in view.chunks_of_sentence(sid):
            best_sent[row] = max(best_sent.get(row, -1.0), sim)

    lex_text = question if not context else question + " " + " ".join(context[-2:])
    lex = view.lexical_scores(lex_text)
    top_lex = float(lex.max()) if len(lex) else 0.0
    lex_norm = lex / top_lex if top_lex > 0 else lex
    q_lang = guess_language(question)

    candidates = set(chunk_sim) | set(best_sent)
    if top_lex > 0:
        candidates |= set(np.argsort(-lex)[:10].tolist())
    if prefer:
        candidates |= {i for i, r in enumerate(view.rows) if r.article_id in prefer}
    if only:
        candidates = {row for row in candidates if view.rows[row].article_id in only}
    passages = []
    for row in candidates:
        chunk = view.rows[row]
        dense = chunk_sim.get(row, floor_chunk) + SENTENCE_WEIGHT * best_sent.get(row, floor_sent)
        weight = LEXICAL_WEIGHT_SAME if q_lang != "und" and q_lang == chunk.language else LEXICAL_WEIGHT_CROSS
        score = dense + weight * float(lex_norm[row]) + (prefer or {}).get(chunk.article_id, 0.0)
        passages.append(Passage(chunk, score, dense, float(lex_norm[row]),
                                best_sentence=best_sent.get(row, floor_sent)))
    passages.sort(key=lambda p: -p.score)
    chosen = diversify(passages, k, view.groups)

    # exact sentence scores (and vectors, for comparing quotes) for the chosen passages: from the
    # vectors saved with the segment's table, else from Chroma
    rest = []
    for p in chosen:
        block = view.row_sentence_vectors(view.row_of[p.chunk.id])
        if block is None or len(block) != len(p.chunk.sentences):
            rest.append(p)
            continue
        for span, vec in zip(p.chunk.sentences, block):
            p.sentence_vectors[span] = vec
            p.sentence_scores[span] = float(vec @ qvec)
    wanted = list(dict.fromkeys(sentence_id(p.chunk.article_id, s, e) for p in rest for s, e in p.chunk.sentences))
    vectors = view.sentence_vectors(wanted) if wanted else {}
    for p in rest:
        for s, e in p.chunk.sentences:
            vec = vectors.get(sentence_id(p.chunk.article_id, s, e))
            if vec is not None:
                p.sentence_vectors[(s, e)] = vec
                p.sentence_scores[(s, e)] = float(vec @ qvec)
    return chosen


def background_similarity(view: IndexView, qvec: np.ndarray) -> float:
    """How well the question matches everyday text the articles are not about (the null model
    for "not in the articles")."""
    vectors = view.background_vectors()
    return float((vectors @ qvec.astype(np.float32)).max()) if len(vectors) else 0.0


# a segment with at most this many rows (chunks, or sentences) is searched in memory, not by Chroma
SMALL_SEGMENT = 5000
_SEARCHES = concurrent.futures.ThreadPoolExecutor(max_workers=2, thread_name_prefix="cita-search")


@functools.lru_cache(maxsize=4096)  # a chunk's text is met again by every question it comes up for
def _shingles(text: str) -> frozenset[int]:
    """The text's word trigrams, as their hashes (ints hash at once; tuples of words would be
    hashed again at every lookup, and joining them cost more)."""
    ws = words(text)
    return frozenset(map(hash, zip(ws, ws[1:], ws[2:]))) if len(ws) >= 3 else frozenset([hash(tuple(ws))])


def diversify(passages: list[Passage], k: int, groups: dict[str, str] | None = None) -> list[Passage]:
    """Greedy: skip a passage that overlaps a chosen one of the same article or repeats one
    (a syndicated copy), so near-copies do not crowd out a second source. With `groups`
    (article id -> wire-copy group), a passage of another article of a chosen one's group is
    skipped too: copies of one wire text never take two places."""
    chosen: list[Passage] = []
    groups = groups or {}
    # what the chosen passages hold, indexed so that a candidate is checked in one pass over its
    # own trigrams instead of a set intersection with each chosen passage (20 in a pool)
    in_group: dict[str, set[str]] = {}  # wire-copy group -> its articles chosen
    spans: dict[str, list[tuple[int, int]]] = {}  # article -> its chosen chunks' spans
    holders: dict[int, list[int]] = {}  # trigram -> the chosen passages holding it
    sizes: list[int] = []  # each chosen passage's number of trigrams
    for p in passages:
        if len(chosen) >= k:
            break
        c = p.chunk
        group = groups.get(c.article_id, c.article_id)
        if in_group.get(group, set()) - {c.article_id}:
            continue
        if any(min(e, c.end) - max(s, c.start) > 0.5 * (c.end - c.start) for s, e in spans.get(c.article_id, ())):
            continue
        sh = _shingles(c.text)
        shared: dict[int, int] = {}
        for h in sh:
            for j in holders.get(h, ()):
                shared[j] = shared.get(j, 0) + 1
        if any(n > 0.7 * min(len(sh), sizes[j]) for j, n in shared.items()):
            continue
        for h in sh:
            holders.setdefault(h, []).append(len(chosen))
        chosen.append(p)
        sizes.append(len(sh))
        in_group.setdefault(group, set()).add(c.article_id)
        spans.setdefault(c.article_id, []).append((c.start, c.end))
    return chosen
