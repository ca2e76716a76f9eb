"""When two dated sentences are one event in a timeline (answer/timeline.py `_same_event`), with the
cosines e5 gave these sentences (README "News over time")."""

from __future__ import annotations

from answer.timeline import _same_event

FIRST_ES = "El primer tren de pruebas de la alta velocidad Madrid-Lisboa alcanza los 280 kilómetros por hora"
FIRST_EN = "A test train reached 280 kilometers per hour (174 mph) on Tuesday on a new stretch of track."
SECOND_ES = "El segundo tren de pruebas alcanzó este martes los 302 kilómetros por hora entre Évora y Elvas."
START_ES = "Unos 1.400 trabajadores portuarios iniciaron el miércoles una huelga indefinida."
END_EN = "Dockworkers agreed on Tuesday to end a six-day strike after the operator offered a 28 percent premium."
CLOSED_EN = "EU and Mercosur negotiators on Thursday closed the text of the agricultural safeguard annex."
CLOSED_ES = "La Unión Europea y el Mercosur cerraron este jueves en Brasilia el texto del anexo de salvaguardias."


def test_the_same_figure_in_two_languages_is_one_event():
    assert _same_event(FIRST_ES, FIRST_EN, 0.891, days=2)


def test_another_figure_is_another_event_however_alike():
    assert not _same_event(FIRST_ES, SECOND_ES, 0.96, days=7)


def test_two_events_of_one_story_a_week_apart_stay_apart():
    assert not _same_event(START_ES, END_EN, 0.88, days=6)


def test_reports_in_two_languages_a_day_apart_are_one_event():
    assert _same_event(CLOSED_EN, CLOSED_ES, 0.89, days=1)
    assert not _same_event(CLOSED_EN, CLOSED_ES, 0.85, days=1)
