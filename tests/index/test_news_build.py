"""Dates and wire-copy groups through real builds (rebuild, add, remove) on the fixture corpus,
with the model-free HashEmbedder (fast lane): the manifest keeps them, adds compute only what
they add, removes regroup, and `cita index status` reports the range."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import ROOT, make_settings
from tests.helpers import run_cita

FIXTURE = ROOT / "tests" / "fixtures" / "news" / "articles"
EFE_TEXT = (FIXTURE / "diario-del-sur-huelga-portuaria.txt").read_text(encoding="utf-8")


@pytest.fixture
def built(tmp_path, hash_embedder):
    from cita.app import make_builder

    data_dir = tmp_path / "data"
    builder = make_builder(make_settings(data_dir, embed_model="hash-test"), hash_embedder)
    builder.rebuild([FIXTURE])
    yield builder, data_dir
    builder.close()


def _articles(builder) -> dict[str, dict]:
    _, manifest = builder.store.current()
    return {a["source"].rsplit("/", 1)[-1]: a for a in manifest["articles"]}


def test_a_rebuild_stores_dates_mentions_signatures_and_groups(built):
    builder, _ = built
    arts = _articles(builder)
    efe = [arts[n] for n in ("diario-del-sur-huelga-portuaria.txt", "paro-puerto-valparaiso",
                             "huelga-puerto-valparaiso")]
    assert len({a["group"] for a in efe}) == 1
    assert sum(a["group"] == efe[0]["group"] for a in arts.values()) == 3
    assert all(a["minhash"] and isinstance(a["mentions"], list) for a in arts.values())
    assert {a["published"] for a in efe} == {"2026-01-14", "2026-01-15"}


def test_an_add_joins_the_group_and_keeps_the_stored_signatures(built, tmp_path):
    builder, _ = built
    before = {aid: a["minhash"] for aid, a in ((a["id"], a) for a in _articles(builder).values())}
    group = _articles(builder)["diario-del-sur-huelga-portuaria.txt"]["group"]
    copy = tmp_path / "more" / "otro-diario-huelga.txt"
    copy.parent.mkdir()
    copy.write_text(EFE_TEXT.replace("Diario del Sur · Economía", "El Otro Diario").replace(
        "14 de enero de 2026", "16 de enero de 2026"), encoding="utf-8")
    summary = builder.add([str(copy)])
    assert summary.grouping_s > 0
    arts = _articles(builder)
    assert arts["otro-diario-huelga.txt"]["published"] == "2026-01-16"
    assert arts["otro-diario-huelga.txt"]["group"] == group
    assert {a["id"]: a["minhash"] for a in arts.values() if a["id"] in before} == before


def test_a_remove_regroups_the_rest(built):
    builder, _ = built
    first = _articles(builder)["diario-del-sur-huelga-portuaria.txt"]
    builder.remove([first["id"]])
    arts = _articles(builder)
    groups = {arts[n]["group"] for n in ("paro-puerto-valparaiso", "huelga-puerto-valparaiso")}
    assert len(groups) == 1 and first["id"] not in groups  # named after a copy still there


def test_status_reports_the_date_range_and_copies(built):
    _, data_dir = built
    out = run_cita("index", "status", "--json", "--articles", data_dir=data_dir, CITA_EMBED_MODEL="hash-test")
    assert out.returncode == 0, out.stderr
    status = json.loads(out.stdout)
    assert status["dates"] == {"first": "2026-01-14", "last": "2026-02-10", "undated": 1, "copy_groups": 1,
                               "copies": 3}
    assert all("minhash" not in a for a in status["article_list"])  # internal, not listed
    text = run_cita("index", "status", data_dir=data_dir, CITA_EMBED_MODEL="hash-test").stdout
    assert "dates: 2026-01-14 to 2026-02-10 (1 undated); wire-copy groups: 1 (3 articles)" in text


def test_ask_timeline_json_and_a_bad_today(built):
    _, data_dir = built
    out = run_cita("ask", "--timeline", "--json", "--today", "2026-01-28", "huelga portuaria Valparaíso",
                   data_dir=data_dir, CITA_EMBED_MODEL="hash-test")
    assert out.returncode == 0, out.stderr
    timeline = json.loads(out.stdout)
    assert timeline["today"] == "2026-01-28"
    dates = [e["date"] for e in timeline["events"]]
    assert dates == sorted(dates) and all(dates)
    bad = run_cita("ask", "--today", "28/01/2026", "¿Qué pasó ayer?", data_dir=data_dir, CITA_EMBED_MODEL="hash-test")
    assert bad.returncode == 2 and "--today" in bad.stderr and "Traceback" not in bad.stderr
