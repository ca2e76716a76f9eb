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
    sign(entries, written)
    groups = _add_to_groups(entries, set(texts)) if texts else None
    if groups is None:
        groups = group_articles(entries)
    for entry in entries:
        entry["group"] = groups[entry["id"]]
    return time.perf_counter() - start


def sign(entries: list[dict], written: list[Article]) -> None:
    """Give the entries of the articles just written their signature and mentioned dates."""
    texts = {a.id: a for a in written}
    for entry in entries:
        article = texts.get(entry["id"])
        if article is not None:
            entry["minhash"] = signature(article.text)
            entry["mentions"] = mentioned_dates(article.text, published=article.published)


def groups_after_add(stored_ids: list[str], stored_groups: list[str], stored_published: list[str],
                     matrix, fresh: list[dict]) -> tuple[dict[str, str], dict[str, str]] | None:
    """The wire-copy groups after adding the `fresh` entries (with their signatures) to stored
    articles whose groups are known, from their key lists alone (index/build.py's add): the
    stored articles' ids, current groups, dates and signatures (`matrix`, one row of NUM_PERM
    uint32 each, zeros for none). Returns (fresh id -> group, stored id -> its new group, for
    those whose group changes), what a full regroup would find; None when the stored groups are
    not as a regroup leaves them (a group whose first member is not among them): then the
    caller regroups everything."""
    import numpy as np

    index = {aid: i for i, aid in enumerate(stored_ids)}
    for g in set(stored_groups):
        if g not in index or stored_groups[index[g]] != g:
            return None
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(a: str, b: str) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[ra] = rb

    valid = matrix.any(axis=1) if len(matrix) else np.zeros(0, dtype=bool)
    fresh_values = []
    for e in fresh:
        v = None
        with contextlib.suppress(binascii.Error, TypeError, ValueError):
            blob = binascii.a2b_base64(e.get("minhash") or "")
            if len(blob) == 4 * NUM_PERM:
                v = np.frombuffer(blob, dtype="<u4")
        fresh_values.append(v)
        find("f:" + e["id"])
        if v is None:
            continue
        if len(matrix):
            for j in np.flatnonzero(((matrix == v).mean(axis=1) >= THRESHOLD) & valid):
                union("f:" + e["id"], "g:" + stored_groups[j])
        for other, w in zip(fresh, fresh_values):
            if other is not e and w is not None and float((v == w).mean()) >= THRESHOLD:
                union("f:" + e["id"], "f:" + other["id"])
    components: dict[str, list[str]] = {}
    for node in list(parent):
        components.setdefault(find(node), []).append(node)
    fresh_by_id = {e["id"]: e for e in fresh}
    fresh_group: dict[str, str] = {}
    changed_groups: dict[str, str] = {}  # old group id -> new group id
    for nodes in components.values():
        keys = []
        for node in nodes:
            kind, aid = node[:1], node[2:]
            published = fresh_by_id[aid].get("published") if kind == "f" else stored_published[index[aid]]
            keys.append((published or "9999", aid))
        first = min(keys)[1]
        for node in nodes:
            if node[:1] == "f":
                fresh_group[node[2:]] = first
            elif node[2:] != first:
                changed_groups[node[2:]] = first
    changed = {aid: changed_groups[g] for aid, g in zip(stored_ids, stored_groups) if g in changed_groups}
    return fresh_group, changed


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
