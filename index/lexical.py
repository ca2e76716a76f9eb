"""A segment's chunk rows and their BM25 index, as readers need them.

Reading every chunk back from Chroma and tokenising it takes seconds on a 10,000-chunk index
(about 1.8 s for the rows and 2 s for BM25 on 2 cores), so each segment's table is saved once,
in the local data dir (`data_dir/lexical/<segment>/`), by the build that writes the
segment or by the first reader that needs it (a Chroma server's segment, an older index);
later processes load it in milliseconds. A missing or damaged table is rebuilt from Chroma, which
stays the source of truth: the table is a cache, written to a temporary folder and renamed.

The build also saves the vectors of each row's sentences beside it (`sentence_vectors.npy`, row
i's in `sentence_offsets[i]:sentence_offsets[i + 1]`), which readers read from disk: a question
reads the vectors of every sentence of the 20 passages it ranks, and a Chroma `get` of those
~120 rows cost 5 ms (about 50 us a row), an eighth of an answer. A table without them (one a
reader rebuilt from Chroma: an older index, or a Chroma server's read on another machine) reads
them from Chroma as before.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import time
import weakref
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .text import sentence_id, stop_words, words

log = logging.getLogger(__name__)

ROWS_PAGE = 250  # chunk rows per Chroma get (one get of every row makes Chroma hold ~25 KB a row)


def lexical_tokens(text: str) -> list[str]:
    """Accent-folded words without the stop words of six languages."""
    stop = stop_words()
    return [w for w in words(text) if w not in stop]


@dataclass
class ChunkRow:
    id: str
    article_id: str
    start: int
    end: int
    text: str
    sentences: list[tuple[int, int]]
    language: str

    def sentence_text(self, s: int, e: int) -> str:
        return self.text[s - self.start:e - self.start]


class ChunkTable:
    """Every chunk row of one generation, in a fixed order, and a BM25 index over their titles
    and texts (row i of the table is document i of the index)."""

    def __init__(self, rows: list[ChunkRow], bm25, vectors: np.ndarray | SavedVectors | None = None,
                 offsets: np.ndarray | None = None) -> None:
        self.rows = rows
        self.bm25 = bm25
        self.vectors = vectors  # every row's sentence vectors, one after the other (or None)
        self.offsets = offsets  # row i's are vectors[offsets[i]:offsets[i + 1]]

    def sentence_vectors(self, i: int) -> np.ndarray | None:
        """The vectors of row i's sentences, in order, when the table has them."""
        if self.vectors is None:
            return None
        a, b = int(self.offsets[i]), int(self.offsets[i + 1])
        if isinstance(self.vectors, SavedVectors):
            return self.vectors.rows(a, b)
        return np.array(self.vectors[a:b], dtype=np.float32)

    def read_vectors(self, sentences_col) -> None:
        """Read every row's sentence vectors from the segment's sentences collection (the
        build, before saving the table); left without them if any is missing. Read back a page
        at a time rather than kept from the writing: Chroma stays the source of truth, a merge
        copies rows it never embedded, and memory stays bounded (the 10,000-chunk index: 3 s)."""
        offsets = np.zeros(len(self.rows) + 1, dtype=np.int64)
        for i, r in enumerate(self.rows):
            offsets[i + 1] = offsets[i] + len(r.sentences)
        vectors = None
        for start in range(0, len(self.rows), ROWS_PAGE):
            part = self.rows[start:start + ROWS_PAGE]
            ids = list(dict.fromkeys(sentence_id(r.article_id, s, e) for r in part for s, e in r.sentences))
            if not ids:
                continue
            got = sentences_col.get(ids=ids, include=["embeddings"])
            found = dict(zip(got["ids"], got["embeddings"]))
            if len(found) < len(ids):
                log.warning("%d sentence vectors missing; answers will read them from Chroma", len(ids) - len(found))
                return
            for j, r in enumerate(part, start):
                for k, (s, e) in enumerate(r.sentences):
                    vec = found[sentence_id(r.article_id, s, e)]
                    if vectors is None:
                        vectors = np.zeros((int(offsets[-1]), len(vec)), dtype=np.float32)
                    vectors[offsets[j] + k] = vec
        if vectors is not None:
            self.vectors, self.offsets = vectors, offsets

    @classmethod
    def from_collection(cls, chunks_col, titles: dict[str, str]) -> ChunkTable:
        rows: list[ChunkRow] = []
        total = chunks_col.count()
        for offset in range(0, total, ROWS_PAGE):
            got = chunks_col.get(include=["documents", "metadatas"], limit=ROWS_PAGE, offset=offset)
            for cid, doc, md in zip(got["ids"], got["documents"], got["metadatas"]):
                rows.append(ChunkRow(cid, md["article_id"], int(md["start"]), int(md["end"]), doc,
                                     [tuple(x) for x in json.loads(md["sentences"])], md.get("language", "und")))
        bm25 = None
        if rows:
            import bm25s

            bm25 = bm25s.BM25()
            bm25.index([lexical_tokens(titles.get(r.article_id, "") + "\n" + r.text) for r in rows],
                       show_progress=False)
        return cls(rows, bm25)

    def scores(self, text: str) -> np.ndarray:
        """BM25 score of every row for `text` (zeros when nothing matches)."""
        tokens = lexical_tokens(text)
        if self.bm25 is None or not tokens:
            return np.zeros(len(self.rows), dtype=np.float32)
        try:
            return np.asarray(self.bm25.get_scores(tokens), dtype=np.float32)
        except Exception:  # a query of unseen tokens only
            return np.zeros(len(self.rows), dtype=np.float32)

    def save(self, folder: Path) -> None:
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
        try:
            rows = [[r.id, r.article_id, r.start, r.end, r.text, r.sentences, r.language] for r in self.rows]
            (tmp / "rows.json").write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
            if self.bm25 is not None:
                self.bm25.save(str(tmp / "bm25"), show_progress=False)
            if isinstance(self.vectors, np.ndarray):  # read by the build (a loaded table's are on disk)
                np.save(tmp / "sentence_vectors.npy", np.asarray(self.vectors, dtype=np.float32))
                np.save(tmp / "sentence_offsets.npy", self.offsets)
            os.rename(tmp, folder)  # complete or absent; a folder already there (another process) wins
        except OSError:
            shutil.rmtree(tmp, ignore_errors=True)
            if not folder.exists():
                raise

    @classmethod
    def load(cls, folder: Path) -> ChunkTable | None:
        """The saved table, or None when there is none or it cannot be read."""
        try:
            raw = json.loads((folder / "rows.json").read_text(encoding="utf-8"))
            rows = [ChunkRow(i, a, s, e, t, [tuple(x) for x in sents], lang) for i, a, s, e, t, sents, lang in raw]
            bm25 = None
            if rows:
                import bm25s

                bm25 = bm25s.BM25.load(str(folder / "bm25"), mmap=True, show_progress=False)
        except FileNotFoundError:
            return None
        except Exception:
            log.warning("the saved chunk table in %s cannot be read; reading the chunks from Chroma", folder,
                        exc_info=True)
            return None
        return cls(rows, bm25, *_load_vectors(folder, len(rows)))


class SavedVectors:
    """The rows of a saved float32 matrix (.npy), read from the file as they are asked for.

    Not np.load(mmap_mode="r"): every page a memory map touches stays in the process's resident
    memory, with the pages the kernel maps around it (64 KB a fault), so a bot's memory grew by
    about 8 MB a question towards the whole file (84 MB on 10,000 chunks). os.pread reads just a
    row block's bytes (from the page cache, shared with no one's RSS), a few microseconds each."""

    def __init__(self, path: Path) -> None:
        with open(path, "rb") as f:
            version = np.lib.format.read_magic(f)
            read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            shape, fortran, dtype = read_header(f)
            self.start = f.tell()
        if dtype != np.dtype("<f4") or fortran or len(shape) != 2:
            raise ValueError(f"sentence vectors of shape {shape} and type {dtype}")
        if path.stat().st_size < self.start + shape[0] * shape[1] * 4:
            raise ValueError("the sentence vectors file is shorter than its header says")
        self.shape = shape
        self._row_bytes = shape[1] * 4
        self._fd = os.open(path, os.O_RDONLY)
        weakref.finalize(self, os.close, self._fd)

    def __len__(self) -> int:
        return self.shape[0]

    def rows(self, a: int, b: int) -> np.ndarray:
        data = os.pread(self._fd, (b - a) * self._row_bytes, self.start + a * self._row_bytes)
        return np.frombuffer(data, dtype="<f4").reshape(b - a, self.shape[1]).copy()


def _load_vectors(folder: Path, rows: int) -> tuple[SavedVectors | None, np.ndarray | None]:
    """The saved sentence vectors (read from disk as they are asked for) and their offsets, or
    (None, None) when there are none or they do not fit the rows."""
    if not (folder / "sentence_vectors.npy").exists():
        return None, None
    try:
        offsets = np.load(folder / "sentence_offsets.npy")
        vectors = SavedVectors(folder / "sentence_vectors.npy")
        if offsets.shape != (rows + 1,) or len(vectors) != int(offsets[-1]):
            raise ValueError(f"{len(vectors)} vectors and {len(offsets)} offsets for {rows} rows")
        return vectors, offsets
    except Exception:
        log.warning("the saved sentence vectors in %s cannot be read; reading them from Chroma", folder,
                    exc_info=True)
        return None, None


def table_dir(data_dir: Path, generation: str) -> Path:
    return Path(data_dir) / "lexical" / generation


def save_table(data_dir: Path, generation: str, table: ChunkTable) -> None:
    """Save a segment's table (best effort: the table is a cache). The tables of segments no
    generation reads any more are dropped with them by the store's cleanup."""
    folder = table_dir(data_dir, generation)
    try:
        if not folder.exists():
            table.save(folder)
        for p in folder.parent.glob(".*"):  # left by a process killed while saving
            if time.time() - p.stat().st_mtime > 3600:
                shutil.rmtree(p, ignore_errors=True)
    except OSError as e:
        log.warning("could not save the chunk table of generation %s (%s); it will be read from Chroma "
                    "again next time", generation, e)


def load_table(data_dir: Path, generation: str, chunks_col, titles: dict[str, str]) -> ChunkTable:
    """The table of a generation: saved, or read from its chunks collection (and then saved)."""
    folder = table_dir(data_dir, generation)
    table = ChunkTable.load(folder)
    if table is not None and len(table.rows) != chunks_col.count():
        log.warning("the saved chunk table in %s does not match the index; reading the chunks from Chroma", folder)
        table = None
    if table is None:
        shutil.rmtree(folder, ignore_errors=True)  # a damaged one
        table = ChunkTable.from_collection(chunks_col, titles)
        save_table(data_dir, generation, table)
    return table
