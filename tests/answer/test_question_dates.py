"""Dates in questions: a table of English and Spanish expressions and the windows they mean."""

from __future__ import annotations

import datetime as dt

import pytest

from answer.dates import parse_today, read_question, resolve

SUNDAY = dt.date(2026, 1, 18)  # a Sunday
WEDNESDAY = dt.date(2026, 2, 11)

# (expression, today, first day, last day)
TABLE = [
    # absolute days
    ("What happened on January 23?", SUNDAY, "2026-01-23", "2026-01-23"),
    ("on 23 January 2026", SUNDAY, "2026-01-23", "2026-01-23"),
    ("January 16th, 2026", SUNDAY, "2026-01-16", "2026-01-16"),
    ("¿Qué pasó el 11 de diciembre?", SUNDAY, "2025-12-11", "2025-12-11"),  # last December
    ("el 15 de enero de 2026", SUNDAY, "2026-01-15", "2026-01-15"),
    ("el pasado 12 de enero", SUNDAY, "2026-01-12", "2026-01-12"),
    ("the meeting on 2026-01-05", SUNDAY, "2026-01-05", "2026-01-05"),
    ("el 05/01/2026", SUNDAY, "2026-01-05", "2026-01-05"),
    ("what happened on the 12th?", SUNDAY, "2026-01-12", "2026-01-12"),
    ("¿qué pasó el día 20?", SUNDAY, "2025-12-20", "2025-12-20"),  # still ahead this month: last month's
    # months and years
    ("en enero de 2026", SUNDAY, "2026-01-01", "2026-01-31"),
    ("in January", SUNDAY, "2026-01-01", "2026-01-31"),
    ("in December", SUNDAY, "2025-12-01", "2025-12-31"),
    ("durante febrero", SUNDAY, "2026-02-01", "2026-02-28"),  # next month, not last year's
    ("March 2025", SUNDAY, "2025-03-01", "2025-03-31"),
    ("in 2025", SUNDAY, "2025-01-01", "2025-12-31"),
    ("en el año 2024", SUNDAY, "2024-01-01", "2024-12-31"),
    # ranges
    ("between 2 and 8 March", SUNDAY, "2026-03-02", "2026-03-08"),
    ("del 2 al 8 de marzo", SUNDAY, "2026-03-02", "2026-03-08"),
    ("from January 10 to January 14", SUNDAY, "2026-01-10", "2026-01-14"),
    ("entre el 28 de diciembre y el 3 de enero", SUNDAY, "2025-12-28", "2026-01-03"),
    ("since January 10", SUNDAY, "2026-01-10", "2026-01-18"),
    ("desde el 10 de enero", SUNDAY, "2026-01-10", "2026-01-18"),
    # relative days
    ("today", SUNDAY, "2026-01-18", "2026-01-18"),
    ("hoy", SUNDAY, "2026-01-18", "2026-01-18"),
    ("yesterday", SUNDAY, "2026-01-17", "2026-01-17"),
    ("ayer", WEDNESDAY, "2026-02-10", "2026-02-10"),
    ("anoche", SUNDAY, "2026-01-17", "2026-01-17"),
    ("the day before yesterday", SUNDAY, "2026-01-16", "2026-01-16"),
    ("anteayer", SUNDAY, "2026-01-16", "2026-01-16"),
    ("tomorrow", SUNDAY, "2026-01-19", "2026-01-19"),
    ("three days ago", SUNDAY, "2026-01-15", "2026-01-15"),
    ("hace tres días", SUNDAY, "2026-01-15", "2026-01-15"),
    ("hace 10 días", SUNDAY, "2026-01-08", "2026-01-08"),
    # weekdays
    ("last Thursday", SUNDAY, "2026-01-15", "2026-01-15"),
    ("el jueves pasado", SUNDAY, "2026-01-15", "2026-01-15"),
    ("el pasado jueves", SUNDAY, "2026-01-15", "2026-01-15"),
    ("last Tuesday", WEDNESDAY, "2026-02-10", "2026-02-10"),
    ("last Wednesday", WEDNESDAY, "2026-02-04", "2026-02-04"),  # not today
    ("on Monday", WEDNESDAY, "2026-02-09", "2026-02-09"),
    ("el lunes", WEDNESDAY, "2026-02-09", "2026-02-09"),
    ("this Friday", WEDNESDAY, "2026-02-13", "2026-02-13"),
    ("este viernes", WEDNESDAY, "2026-02-13", "2026-02-13"),
    ("next Monday", WEDNESDAY, "2026-02-16", "2026-02-16"),
    ("el próximo lunes", WEDNESDAY, "2026-02-16", "2026-02-16"),
    # weeks and weekends
    ("last week", SUNDAY, "2026-01-05", "2026-01-11"),  # the previous Monday to Sunday
    ("la semana pasada", WEDNESDAY, "2026-02-02", "2026-02-08"),
    ("la semana anterior", WEDNESDAY, "2026-02-02", "2026-02-08"),
    ("this week", WEDNESDAY, "2026-02-09", "2026-02-15"),
    ("esta semana", SUNDAY, "2026-01-12", "2026-01-18"),
    ("earlier this week", WEDNESDAY, "2026-02-09", "2026-02-11"),
    ("next week", WEDNESDAY, "2026-02-16", "2026-02-22"),
    ("la próxima semana", WEDNESDAY, "2026-02-16", "2026-02-22"),
    ("two weeks ago", WEDNESDAY, "2026-01-26", "2026-02-01"),
    ("hace dos semanas", WEDNESDAY, "2026-01-26", "2026-02-01"),
    ("the past week", WEDNESDAY, "2026-02-04", "2026-02-11"),
    ("in the last 3 days", WEDNESDAY, "2026-02-08", "2026-02-11"),
    ("en los últimos 5 días", WEDNESDAY, "2026-02-06", "2026-02-11"),
    ("recently", WEDNESDAY, "2026-02-04", "2026-02-11"),
    ("last weekend", WEDNESDAY, "2026-02-07", "2026-02-08"),
    ("el fin de semana pasado", WEDNESDAY, "2026-02-07", "2026-02-08"),
    ("este fin de semana", WEDNESDAY, "2026-02-14", "2026-02-15"),
    # months and years, relative
    ("this month", SUNDAY, "2026-01-01", "2026-01-31"),
    ("este mes", WEDNESDAY, "2026-02-01", "2026-02-28"),
    ("last month", SUNDAY, "2025-12-01", "2025-12-31"),
    ("el mes pasado", WEDNESDAY, "2026-01-01", "2026-01-31"),
    ("two months ago", SUNDAY, "2025-11-01", "2025-11-30"),
    ("this year", SUNDAY, "2026-01-01", "2026-12-31"),
    ("el año pasado", SUNDAY, "2025-01-01", "2025-12-31"),
]


@pytest.mark.parametrize("expression,today,first,last", TABLE, ids=[row[0] for row in TABLE])
def test_expression_resolves_to_its_window(expression, today, first, last):
    window = resolve(expression, today)
    assert window is not None, expression
    assert (window.first.isoformat(), window.last.isoformat()) == (first, last)


def test_the_table_is_big_enough_and_bilingual():
    spanish = [row for row in TABLE if any(w in row[0].lower() for w in (
        "de ", "el ", "la ", "hoy", "ayer", "anoche", "hace", "este", "esta", "durante", "desde", "entre",
        "anteayer", "en "))]
    assert len(TABLE) >= 40 and len(spanish) >= 20 and len(TABLE) - len(spanish) >= 20


@pytest.mark.parametrize("question", [
    "What did the US demand?", "¿Qué pidió Estados Unidos?", "How many workers went on strike?",
    "¿Cuántos kilómetros por hora alcanzó el tren?", "Who may attend the meeting?",
    "What does the March for Science want?",
    "¿Qué acciones pidió Estados Unidos antes de la reunión ministerial de febrero?",
])
def test_questions_without_dates_have_no_window(question):
    assert read_question(question, SUNDAY).window is None


@pytest.mark.parametrize("question,today,yesterday", [
    ("Hoy es 18 de enero de 2026. ¿Qué pasó ayer?", dt.date(2026, 12, 1), "2026-01-17"),
    ("Today is January 21, 2026: what happened yesterday?", dt.date(2026, 12, 1), "2026-01-20"),
    ("Hoy es miércoles 11 de febrero; ¿qué pasó ayer?", dt.date(2026, 12, 1), "2026-02-10"),
])
def test_a_date_stated_in_the_question_is_today(question, today, yesterday):
    got = read_question(question, today)
    assert got.stated_today
    assert got.window.first.isoformat() == got.window.last.isoformat() == yesterday


@pytest.mark.parametrize("question,latest", [
    ("What is the latest on the talks?", True),
    ("What are the most recent developments in the strike?", True),
    ("¿Qué es lo más reciente sobre la huelga?", True),
    ("¿Cómo va la negociación?", True),
    ("¿Cuáles son las últimas noticias del tren?", True),
    ("What was agreed at the last meeting?", True),
    ("What did the US demand?", False),
    ("What happened last week?", False),
    ("¿Qué pasó la semana pasada?", False),
])
def test_latest_questions_are_recognised(question, latest):
    assert read_question(question, SUNDAY).latest is latest


def test_describe_windows_in_both_languages():
    assert resolve("between 2 and 8 March", SUNDAY).describe("en") == "2–8 March 2026"
    assert resolve("en enero de 2026", SUNDAY).describe("es") == "enero de 2026"
    assert resolve("entre el 28 de diciembre y el 3 de enero", SUNDAY).describe("en") == \
        "28 December 2025 – 3 January 2026"


def test_parse_today():
    assert parse_today("2026-01-18") == SUNDAY
    assert parse_today("") is None
    with pytest.raises(ValueError):
        parse_today("18/01/2026")


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

WORDS = ["el", "de", "del", "al", "y", "and", "to", "between", "entre", "since", "desde", "last", "next", "this",
         "pasado", "hace", "ago", "the", "on", "in", "en", "31", "29", "0", "999", "2026", "1999", "febrero",
         "February", "enero", "March", "jueves", "Thursday", "días", "days", "weeks", "semanas", "meses", "años",
         "hoy es", "today is", "día", "12th", "latest", "últimas", "mañana", "ayer", "2026-02-30", "31/02/2026"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(WORDS), max_size=12), st.dates(min_value=dt.date(1990, 1, 1),
                                                               max_value=dt.date(2090, 12, 31)))
def test_any_mix_of_date_words_gives_a_window_or_none_never_an_error(words, today):
    got = read_question(" ".join(words), today)
    if got.window is not None:
        assert got.window.first <= got.window.last


@pytest.mark.parametrize("question", ["According to Mercados Hoy, which economist expects a cut?",
                                      "What did USA Today report about the strike?"])
def test_a_day_word_in_an_outlets_name_is_not_a_date(question):
    assert read_question(question, dt.date(2026, 3, 20)).window is None
    assert read_question("¿Qué dijo Mercados Hoy ayer?", dt.date(2026, 3, 20)).window.first == dt.date(2026, 3, 19)
