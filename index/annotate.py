"""What a build adds to each article's manifest entry besides its metadata: the dates its text
mentions and its wire-copy group.

Kept incrementally: an article's signature and mentioned dates are computed once, when it is
written, and stored in its entry; groups are then recomputed over every entry from the stored
signatures (index/copies.py), which costs milliseconds, so any build (a rebuild, an add, a
remove, a segment merge) only has to hand over the entries and the articles it wrote.
"""

from __future__ import annotations

import binascii
import contextlib
import time

from .articles import Article
from .copies import NUM_PERM, THRESHOLD, group_articles, signature
from .dates import mentioned_dates


def annotate_news(entries: list[dict], written: list[Article]) -> float:
    """Give the manifest entries of the articles just written their signature and the dates
    they mention, and every entry its wire-copy group (from the stored signatures of the rest:
    nothing is recomputed for kept articles). Returns the seconds it took."""
    start = time.perf_counter()
    texts = {a.id: a for a in written}
    for entry in entries:
        article = texts.get(entry["id"])
        if article is not None:
            entry["minhash"] = signature(article.text)
            entry["mentions"] = mentioned_dates(article.text, published=article.published)
    groups = _add_to_groups(entries, set(texts)) if texts else None
    if groups is None:
        groups = group_articles(entries)
    for entry in entries:
        entry["group"] = groups[entry["id"]]
    return time.perf_counter() - start


def _add_to_groups(entries: list[dict], fresh: set[str]) -> dict[str, str] | None:
    """The groups after adding the `fresh` articles to kept ones whose groups are known, without
    regrouping the rest: each fresh signature is compared with every stored one at once (numpy,
    milliseconds for thousands), so an add does not pay an LSH over the whole index (about 1 s
    for 2,800 articles). The result is what a full regroup finds (groups only grow by an add),
    with every pair above THRESHOLD found, not only those LSH proposes. None when the kept
    groups are not known as they stand (a first build, a removal that took a group's first
    member): then everything is regrouped."""
    import numpy as np

    kept = [e for e in entries if e["id"] not in fresh]
    group_of = {e["id"]: e.get("group") for e in kept}
    if not kept or any(g is None or group_of.get(g) != g for g in group_of.values()):
        return None
    parent = {e["id"]: e["group"] if e["id"] not in fresh else e["id"] for e in entries}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    ids, blobs = [], []
    for e in entries:  # the stored signatures, decoded into one matrix in one pass
        with contextlib.suppress(binascii.Error, TypeError, ValueError):
            blob = binascii.a2b_base64(e.get("minhash") or "")
            if len(blob) == 4 * NUM_PERM:
                ids.append(e["id"])
                blobs.append(blob)
    if ids:
        matrix = np.frombuffer(b"".join(blobs), dtype="<u4").reshape(len(ids), NUM_PERM)
        for i, aid in enumerate(ids):
            if aid not in fresh:
                continue
            for j in np.flatnonzero((matrix == matrix[i]).mean(axis=1) >= THRESHOLD):
                other = ids[j]
                ra, rb = find(aid), find(other)
                if ra != rb:
                    parent[ra] = rb
    members: dict[str, list[dict]] = {}
    for e in entries:
        members.setdefault(find(e["id"]), []).append(e)
    out: dict[str, str] = {}
    for group in members.values():
        first = min(group, key=lambda a: (a.get("published") or "9999", a["id"]))["id"]
        for a in group:
            out[a["id"]] = first
    return out
