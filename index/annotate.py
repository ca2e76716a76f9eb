"""What a build adds to each article's manifest entry besides its metadata: the dates its text
mentions and its wire-copy group.

Kept incrementally: an article's signature and mentioned dates are computed once, when it is
written, and stored in its entry; groups are then recomputed over every entry from the stored
signatures (index/copies.py), which costs milliseconds, so any build (a rebuild, an add, a
remove, a segment merge) only has to hand over the entries and the articles it wrote.
"""

from __future__ import annotations

import time

from .articles import Article
from .copies import group_articles, signature
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
    groups = group_articles(entries)
    for entry in entries:
        entry["group"] = groups[entry["id"]]
    return time.perf_counter() - start
