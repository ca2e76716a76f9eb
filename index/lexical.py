"""A segment's chunk rows and their BM25 index, as readers need them.

Reading every chunk back from Chroma and tokenising it takes seconds on a 10,000-chunk index
(about 1.8 s for the rows and 2 s for BM25 on 2 cores), so each segment's table is saved once,
in the local data dir (`data_dir/lexical/<segment>/`), by the build that writes the
segment or by the first reader that needs it (a Chroma server's segment, an older index);
later processes load it in milliseconds. A missing or damaged table is rebuilt from Chroma, which
stays the source of truth: the table is a cache, written to a temporary folder and renamed.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .text import stop_words, words

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

    def __init__(self, rows: list[ChunkRow], bm25) -> None:
        self.rows = rows
        self.bm25 = bm25

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
        return cls(rows, bm25)


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
