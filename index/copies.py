"""Wire copies: articles whose text is essentially the same (one agency story republished by
several outlets, the same page under two URLs) form one group.

Each article gets a MinHash signature of its body when it is indexed (128 hash functions over
its word 3-grams), stored with it in the manifest; groups are the connected components of the
pairs whose estimated Jaccard similarity is at least THRESHOLD, found by banded LSH (42 bands of
3 rows: a pair at Jaccard 0.5 shares a band with probability 0.996, at 0.2 with 0.29, and every
candidate is checked against its signature). Signatures are computed once per article, so a
build computes them only for the articles it adds and regroups from the stored ones.

MinHash and LSH are our own (numpy, ~40 lines) rather than datasketch's: importing datasketch
pulls in scipy.integrate (1.4 s cold, 0.5 s with scipy already loaded, measured here) and its LSH
computes its band layout by numerical integration on every construction (27 ms), which a small
`cita index add` would pay each time. Re-worded coverage of the same event is *not* a copy:
that needs meaning, not shared word runs, and is left to ranking.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable

import numpy as np

from .text import fold

NUM_PERM = 128
BANDS, ROWS = 42, 3  # LSH layout (126 of the 128 values)
# Members kept per bucket: a text republished hundreds of times fills its buckets with copies
# already joined; later ones still meet enough of them to join (and other texts other bands).
BUCKET_CAP = 16
# Word 3-grams, and a threshold well below the 0.8 usual for exact near-duplicates: copies of a
# wire text are edited by each outlet (a clause dropped, "este miércoles" -> "el miércoles", a
# sentence cut). On the fixture's three copies of one EFE text the Jaccard similarity of 5-word
# shingles is 0.61-0.77 but of 3-word shingles 0.70-0.80; independently written reports of
# one event share only names and set phrases (3-gram Jaccard well under 0.2).
THRESHOLD = 0.5
SHINGLE_WORDS = 3
BODY_MIN_WORDS = 12  # paragraphs shorter than this (headline, byline, date line, caption) are left out
_WORD = re.compile(r"\w+", re.UNICODE)
_PRIME = np.uint64((1 << 61) - 1)
_MASK = np.uint64(0xFFFFFFFF)
# the hash functions h_i(x) = ((a_i * x + b_i) mod p) & 0xFFFFFFFF, fixed by the seed so that
# signatures stored by one build compare with those of the next
_RNG = np.random.default_rng(20260115)
_A = _RNG.integers(1, 1 << 32, size=NUM_PERM, dtype=np.uint64)
_B = _RNG.integers(0, 1 << 32, size=NUM_PERM, dtype=np.uint64)


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


def _hash32(shingle: str) -> int:
    return int.from_bytes(hashlib.blake2b(shingle.encode(), digest_size=4).digest(), "little")


def signature(text: str) -> str:
    """The MinHash signature of an article's body, as base64 (stored in the manifest)."""
    words = _body_words(text)
    n = SHINGLE_WORDS if len(words) >= 3 * SHINGLE_WORDS else 2
    shingles = {" ".join(words[i:i + n]) for i in range(max(1, len(words) - n + 1))}
    x = np.fromiter((_hash32(sh) for sh in shingles), dtype=np.uint64, count=len(shingles))
    values = ((np.outer(x, _A) + _B) % _PRIME) & _MASK  # a * x < 2**64: no overflow
    return base64.b64encode(values.min(axis=0).astype("<u4").tobytes()).decode("ascii")


def _values(sig: str) -> np.ndarray | None:
    try:
        values = np.frombuffer(base64.b64decode(sig, validate=True), dtype="<u4")
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
    a valid signature are groups of their own). A group's id is its first member by publication
    date (undated last), then id: the original, as far as the dates tell."""
    entries = list(articles)
    parent = {a["id"]: a["id"] for a in entries}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    buckets: dict[bytes, list[str]] = {}
    values: dict[str, np.ndarray] = {}
    for a in entries:
        v = _values(a.get("minhash") or "")
        if v is None:
            continue
        values[a["id"]] = v
        raw = v.tobytes()
        for band in range(BANDS):
            key = bytes([band]) + raw[band * ROWS * 4:(band + 1) * ROWS * 4]
            members = buckets.setdefault(key, [])
            for other in members:
                ra, rb = find(a["id"]), find(other)
                if ra != rb and float(np.mean(values[other] == v)) >= THRESHOLD:
                    parent[ra] = rb
            if len(members) < BUCKET_CAP:
                members.append(a["id"])
    groups: dict[str, list[dict]] = {}
    for a in entries:
        groups.setdefault(find(a["id"]), []).append(a)
    out: dict[str, str] = {}
    for members in groups.values():
        first = min(members, key=lambda a: (a.get("published") or "9999", a["id"]))["id"]
        for a in members:
            out[a["id"]] = first
    return out
