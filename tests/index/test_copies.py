"""Wire copies (index/copies.py, index/annotate.py): the fixture's three copies of one EFE text
form one group, nothing else does, and groups follow stored signatures incrementally."""

from __future__ import annotations

import json
import time
from pathlib import Path

from index.annotate import annotate_news
from index.articles import load_paths
from index.copies import group_articles, signature, similarity

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "news" / "articles"
EFE = {"diario-del-sur-huelga-portuaria.txt", "paro-puerto-valparaiso", "huelga-puerto-valparaiso"}


def _name(a) -> str:
    return a.source.rsplit("/", 1)[-1]


def _entries():
    articles, _ = load_paths([FIXTURE], max_bytes=5_000_000)
    entries = [a.meta() for a in articles]
    annotate_news(entries, articles)
    return articles, entries


def test_the_three_copies_of_the_wire_text_are_one_group_and_nothing_else_is():
    articles, entries = _entries()
    by_name = {_name(a): e for a, e in zip(articles, entries)}
    groups = {e["group"] for name, e in by_name.items() if name in EFE}
    assert len(groups) == 1
    [group] = groups
    # the group is named after its first copy (14 January), and holds no other article
    assert by_name["diario-del-sur-huelga-portuaria.txt"]["published"] == "2026-01-14"
    assert group in {by_name["diario-del-sur-huelga-portuaria.txt"]["id"], by_name["paro-puerto-valparaiso"]["id"]}
    assert [name for name, e in by_name.items() if e["group"] == group and name not in EFE] == []
    others = [e["group"] for name, e in by_name.items() if name not in EFE]
    assert len(set(others)) == len(others)  # the rail reports in two languages are not copies


def test_copies_are_similar_and_other_reports_are_not():
    articles, _ = load_paths([FIXTURE], max_bytes=5_000_000)
    sig = {_name(a): signature(a.text) for a in articles}
    assert similarity(sig["diario-del-sur-huelga-portuaria.txt"], sig["huelga-puerto-valparaiso"]) >= 0.6
    # the same story by two other outlets, written independently
    assert similarity(sig["tren-madrid-lisboa-primera-prueba.txt"], sig["tren-pruebas-supera-300"]) < 0.3


def test_groups_are_recomputed_from_stored_signatures_only():
    """Adding an article computes its signature alone; removing one regroups the rest."""
    articles, entries = _entries()
    efe = [e for a, e in zip(articles, entries) if _name(a) in EFE]
    stored = {e["id"]: e["minhash"] for e in entries}
    first, rest = entries[:1], entries[1:]
    for e in rest:
        e.pop("group")
    # "add" the first article to an index of the rest: only its signature is computed
    kept = [dict(e) for e in rest]
    new = [a for a in articles if a.id == first[0]["id"]]
    annotate_news(kept + [first[0]], new)
    assert {e["id"]: e["minhash"] for e in kept} == {e["id"]: stored[e["id"]] for e in rest}
    # "remove" one copy: the other two stay a group
    remaining = [e for e in entries if e["id"] != efe[0]["id"]]
    groups = group_articles(remaining)
    assert groups[efe[1]["id"]] == groups[efe[2]["id"]]


def test_an_entry_without_a_signature_is_its_own_group():
    assert group_articles([{"id": "a"}, {"id": "b", "minhash": "not base64!"}]) == {"a": "a", "b": "b"}


def test_grouping_a_thousand_articles_takes_about_a_second_at_most():
    articles, entries = _entries()
    many = [dict(e, id=f"{e['id']}-{i}") for i in range(125) for e in entries]  # 1,000 entries, 125 copies each
    start = time.perf_counter()
    groups = group_articles(many)
    assert time.perf_counter() - start < 2.0  # 0.52 s measured on 2 busy cores
    assert len(set(groups.values())) == 6  # the three EFE copies and their 125 repeats are one group


def test_an_add_finds_the_groups_a_full_regroup_finds():
    """Adding articles to kept ones with known groups (no LSH over the index) gives the groups
    of regrouping everything."""
    articles, entries = _entries()
    for cut in range(1, len(entries)):
        kept = [dict(e) for e in entries[:cut]]
        for e, g in group_articles(kept).items():
            next(k for k in kept if k["id"] == e)["group"] = g
        added = [dict(e) for e in entries[cut:]]
        for e in added:
            e.pop("group", None)
        fresh_ids = {e["id"] for e in added}
        annotate_news(kept + added, [a for a in articles if a.id in fresh_ids])
        assert {e["id"]: e["group"] for e in kept + added} == group_articles(entries), cut


def test_the_same_text_under_two_links_is_indexed_once_with_both_links(tmp_path):
    from index.articles import parse_jsonl

    record = {"title": "Huelga", "text": "Unos 1.400 trabajadores portuarios iniciaron una huelga indefinida "
              "para exigir un recargo del 35 % en el pago de los turnos nocturnos.", "published": "2026-01-14"}
    lines = "\n".join(json.dumps({**record, "url": url}) for url in (
        "https://diario.example/huelga", "https://diario.example/amp/huelga"))
    (tmp_path / "feed.jsonl").write_text(lines, encoding="utf-8")
    articles, skipped = load_paths([tmp_path], max_bytes=5_000_000)
    assert [a.source for a in articles] == ["https://diario.example/huelga"]
    assert articles[0].also_at == (("https://diario.example/amp/huelga", "2026-01-14", articles[0].outlet),)
    assert [s.reason for s in skipped] == ["duplicate of an article already loaded"]

    from answer.news import copies_of

    entry = articles[0].meta()
    [link] = copies_of({entry["id"]: entry}, entry["id"])
    assert link["source"] == "https://diario.example/amp/huelga" and link["published"] == "2026-01-14"


def test_an_add_from_the_key_lists_finds_the_groups_a_full_regroup_finds():
    """groups_after_add (an add to an index with article lists: stored ids, groups, dates and
    signatures only, no entries) gives the groups of regrouping everything, also when an
    earlier copy arrives after later ones (the kept copies change group)."""
    import base64

    import numpy as np

    from index.annotate import groups_after_add

    _, entries = _entries()
    regrouped = 0
    for order in (entries, entries[::-1]):
        for cut in range(1, len(order)):
            kept = [dict(e) for e in order[:cut]]
            kept_groups = group_articles(kept)
            matrix = np.stack([np.frombuffer(base64.b64decode(e["minhash"]), dtype="<u4") for e in kept])
            added = [{k: v for k, v in e.items() if k != "group"} for e in order[cut:]]
            fresh, changed = groups_after_add([e["id"] for e in kept], [kept_groups[e["id"]] for e in kept],
                                              [e.get("published", "") for e in kept], matrix, added)
            after = {e["id"]: changed.get(e["id"], kept_groups[e["id"]]) for e in kept} | fresh
            assert after == group_articles(order), cut
            assert all(kept_groups[aid] != g for aid, g in changed.items())
            regrouped += len(changed)
    assert regrouped, "no add moved a kept copy to an earlier copy's group"
    # stored groups that are not what a regroup leaves (a group without its first member)
    assert groups_after_add(["a", "b"], ["x", "x"], ["", ""], np.zeros((2, 128), dtype="<u4"), []) is None
