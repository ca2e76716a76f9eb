"""Wire copies: articles whose text is essentially the same (one agency story republished by
several outlets, the same page under two URLs) form one group.

Each article gets a MinHash signature of its body when it is indexed (128 permutations of
word 3-grams, datasketch), stored with it in the manifest; groups are the connected
components of the pairs whose estimated Jaccard similarity is at least THRESHOLD, found with
MinHash-LSH. Signatures are computed once per article, so a build computes them only for the
articles it adds and regroups from the stored ones (an LSH over a few thousand signatures takes
a few hundredths of a second). Re-worded coverage of the same event is *not* a copy: that needs
meaning, not shared word runs, and is left to ranking.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable

import numpy as np

from .text import fold

NUM_PERM = 128
# Word 3-grams, and a threshold well below the 0.8 usual for exact near-duplicates: copies of a
# wire text are edited by each outlet (a clause dropped, "este miércoles" -> "el miércoles", a
# sentence cut). On the fixture's three copies of one EFE text the Jaccard similarity of 5-word
# shingles is 0.61-0.77 but of 3-word shingles 0.70-0.80; independently written reports of
# one event share only names and set phrases (3-gram Jaccard well under 0.2).
THRESHOLD = 0.5
SHINGLE_WORDS = 3
SCHEME = "affine32"  # datasketch 2's hashing, named so stored signatures stay comparable
BODY_MIN_WORDS = 12  # paragraphs shorter than this (headline, byline, date line, caption) are left out
_WORD = re.compile(r"\w+", re.UNICODE)


def _body_words(text: str) -> list[str]:
    """The words of the paragraphs that carry the story: headlines, bylines, date lines and
    captions differ from one outlet's copy to the next, so they are left out (all the text when
    nothing is left)."""
    paragraphs = [p for p in re.split(r"\n\s*\n|\n", text) if p.strip()]
    words: list[str] = []
    for p in paragraphs:
        w = _WORD.findall(fold(p))
        if len(w) >= BODY_MIN_WORDS:
            words += w
    return words or _WORD.findall(fold(text))


def signature(text: str) -> str:
    """The MinHash signature of an article's body, as base64 (stored in the manifest)."""
    from datasketch import MinHash

    words = _body_words(text)
    n = SHINGLE_WORDS if len(words) >= 3 * SHINGLE_WORDS else 2
    shingles = {" ".join(words[i:i + n]).encode() for i in range(max(1, len(words) - n + 1))}
    m = MinHash(num_perm=NUM_PERM, seed=1, scheme=SCHEME)
    m.update_batch(list(shingles))
    return base64.b64encode(m.hashvalues.astype("<u4").tobytes()).decode("ascii")


def _values(sig: str) -> np.ndarray | None:
    try:
        values = np.frombuffer(base64.b64decode(sig, validate=True), dtype="<u4").astype(np.uint32)
    except (ValueError, TypeError):
        return None
    return values if len(values) == NUM_PERM else None


def similarity(a: str, b: str) -> float:
    """Estimated Jaccard similarity of two articles' shingles, from their signatures."""
    va, vb = _values(a), _values(b)
    if va is None or vb is None:
        return 0.0
    return float(np.mean(va == vb))


def group_articles(articles: Iterable[dict]) -> dict[str, str]:
    """article id -> group id, for manifest entries carrying "id" and "minhash" (entries without
    a signature are groups of their own). A group's id is its first member by publication date
    (undated last), then id: the original, as far as the dates tell."""
    from datasketch import LeanMinHash, MinHashLSH

    entries = list(articles)
    parent = {a["id"]: a["id"] for a in entries}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    lsh = MinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM)
    values: dict[str, np.ndarray] = {}
    for a in entries:
        v = _values(a.get("minhash") or "")
        if v is None:
            continue
        m = LeanMinHash(seed=1, hashvalues=v, scheme=SCHEME)
        for other in lsh.query(m):
            ra, rb = find(a["id"]), find(other)
            if ra != rb and float(np.mean(values[other] == v)) >= THRESHOLD:
                parent[ra] = rb
        lsh.insert(a["id"], m)
        values[a["id"]] = v
    members: dict[str, list[dict]] = {}
    for a in entries:
        members.setdefault(find(a["id"]), []).append(a)
    out: dict[str, str] = {}
    for group in members.values():
        first = min(group, key=lambda a: (a.get("published") or "9999", a["id"]))["id"]
        for a in group:
            out[a["id"]] = first
    return out
