"""Publication dates and mentioned dates in article text (index/dates.py), and the fixture's
articles as the loader dates them."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from index.articles import load_paths, make_article, parse_jsonl
from index.dates import header_date, mentioned_dates, normalise_published, publication_date

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "news" / "articles"
BODY = ("El gobierno anunció nuevas medidas para el sector portuario tras una reunión con los "
        "sindicatos, que se prolongó durante toda la tarde.")


@pytest.mark.parametrize("text,expected", [
    ("MÉXICO, 15 ene 2026 (EFE).- " + BODY, "2026-01-15"),
    ("Titular\n\nMÉXICO, 15 ene (EFE).- " + BODY + " Desde 2026 rige la ley.", "2026-01-15"),
    ("Headline\n\nPUBLISHED ON January 16, 2026\n\n" + BODY, "2026-01-16"),
    ("Titular\n\nDiario del Sur · Economía\n15 de enero de 2026\n\n" + BODY, "2026-01-15"),
    ("Titular\n\nPublicado el jueves, 15 de enero de 2026, 13:05\n\n" + BODY, "2026-01-15"),
    ("Titular\n\nFecha: 2026-01-15\n\n" + BODY, "2026-01-15"),
    ("WASHINGTON, Jan 16, 2026 (Reuters) - " + BODY, "2026-01-16"),
    ("Madrid, 15 de enero de 2026.- " + BODY, "2026-01-15"),
    ("Headline\nThursday, January 15, 2026\n" + BODY, "2026-01-15"),
    ("Titular\n\n" + BODY + "\n\nPublicado: 15/01/2026", "2026-01-15"),
    # dates of events in the body are not publication dates
    ("Titular\n\nLa reunión será el 23 de enero de 2026 en Washington. " + BODY, ""),
    ("Titular\n\n" + BODY, ""),
])
def test_publication_date_from_plain_text(text, expected):
    assert publication_date(text) == expected


@pytest.mark.parametrize("line,expected", [
    # a date on its own line, English month first
    ("March 3, 2026", "2026-03-03"),
    ("*Sept. 9, 2025*", "2025-09-09"),
    # an outlet (and section) header whose last or first field is the date
    ("Harbour Business Review — March 3, 2026", "2026-03-03"),
    ("The Lakeside Post - 3 March 2026", "2026-03-03"),
    ("**The Lakeside Post** · Business · March 3, 2026", "2026-03-03"),
    ("Gaceta del Valle | Economía | 3 de marzo de 2026", "2026-03-03"),
    ("Gaceta del Valle · 03/03/2026", "2026-03-03"),
    ("2026-03-03 | Lakeside Post", "2026-03-03"),
    ("3 de marzo de 2026 — Gaceta del Valle", "2026-03-03"),
    # a dateline alone on its line: place, comma, date
    ("San Pedro del Monte, 3 de marzo de 2026", "2026-03-03"),
    ("LA PAZ, 3 de marzo de 2026.", "2026-03-03"),
    ("Port Arthur, March 3, 2026", "2026-03-03"),
    ("Martes, 3 de marzo de 2026", "2026-03-03"),
    # body sentences that mention a date are not headers
    ("The board will meet again on March 3, 2026 to vote on the plan.", ""),
    ("Pero, el 3 de marzo de 2026 todo cambió para los pescadores.", ""),
    ("However, on March 3, 2026 the port reopened.", ""),
    ("Sin embargo, el 3 de marzo de 2026", ""),
    ("Prices fell sharply — analysts said on March 3, 2026", ""),
    ("El plazo vence el 3 de marzo de 2026, según el decreto.", ""),
    ("Gaceta del Valle · Economía", ""),
    ("Harbour Business Review — March 2026", ""),  # a month, not a day
])
def test_header_and_dateline_lines_give_the_publication_date(line, expected):
    text = "Headline of the story\n\n" + line + "\nBy A. Writer\n\n" + BODY
    assert publication_date(text) == expected
    assert (header_date(line) or "") == (dt.date.fromisoformat(expected) if expected else "")


def test_a_header_date_deep_in_the_body_is_not_the_publication_date():
    lines = "\n\n".join([BODY] * 9)
    assert publication_date("Titular\n\n" + lines + "\n\nGaceta del Valle | 3 de marzo de 2026\n\n" + lines) == ""


def test_a_dateline_without_a_year_is_the_latest_such_day():
    text = "Titular\n\nMADRID, 3 feb (Europa Press).-\n\n" + BODY
    assert publication_date(text, today=dt.date(2026, 12, 2)) == "2026-02-03"
    assert publication_date(text, today=dt.date(2026, 1, 20)) == "2025-02-03"


@pytest.mark.parametrize("value,expected", [
    ("2026-01-15", "2026-01-15"), ("2026-01-15T22:30:00-03:00", "2026-01-15"),
    ("Thu, 15 Jan 2026 10:00:00 +0000", "2026-01-15"), ("January 16, 2026", "2026-01-16"),
    ("16 de enero de 2026", "2026-01-16"), ("", ""), ("soon", ""), ("2026-02-30", ""),
])
def test_metadata_dates_become_iso(value, expected):
    assert normalise_published(value) == expected


def test_mentioned_dates_take_the_year_nearest_the_publication():
    text = ("La reunión será el 23 de enero; el 11 de diciembre ya se habían visto. "
            "Habrá otra en febrero de 2026. On January 5 the talks began.")
    got = mentioned_dates(text, published="2026-01-15")
    assert ("2026-01-23", "2026-01-23") in got
    assert ("2025-12-11", "2025-12-11") in got
    assert ("2026-01-05", "2026-01-05") in got
    assert ("2026-02-01", "2026-02-28") in got


def test_a_report_names_the_days_of_its_own_week():
    text = "SANTIAGO (Reuters) - Chile declared a state of catastrophe on Wednesday. Ayer hubo lluvias."
    got = mentioned_dates(text, published="2026-02-05")  # a Thursday
    assert ("2026-02-04", "2026-02-04") in got  # Wednesday, and "ayer"
    assert mentioned_dates(text) == []  # undated: weekdays name nothing


def test_articles_get_iso_dates_from_every_format():
    articles, skipped = load_paths([FIXTURE], max_bytes=5_000_000)
    assert skipped == []
    dates = {Path(a.source).name if not a.source.startswith("http") else a.source.rsplit("/", 1)[-1]: a.published
             for a in articles}
    assert dates["diario-del-sur-huelga-portuaria.txt"] == "2026-01-14"  # a date line
    assert dates["paro-puerto-valparaiso"] == "2026-01-14"  # HTML metadata
    assert dates["huelga-puerto-valparaiso"] == "2026-01-15"  # .jsonl published
    assert dates["ledger-rail-trial-ap.txt"] == "2026-02-05"  # PUBLISHED ON
    assert dates["tren-madrid-lisboa-primera-prueba.txt"].endswith("-02-03")  # a dateline without a year
    assert dates["madrid-lisbon-high-speed-link"] == ""  # no date anywhere


def test_jsonl_published_in_any_common_format_is_stored_as_iso():
    line = json.dumps({"title": "T", "text": BODY, "published": "Thu, 15 Jan 2026 10:00:00 +0000"})
    [article], _ = parse_jsonl(line, source="feed.jsonl")
    assert article.published == "2026-01-15"
    assert make_article(key="k", title="T", text=BODY, source="s", published="nonsense").published == ""
