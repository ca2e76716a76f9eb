"""What a question asks for (who, when, how many...) and whether a sentence has it: English and
Spanish, no model."""

from __future__ import annotations

import pytest

from answer.question import analyse, has_type, not_stated_reason


@pytest.mark.parametrize("question, kind", [
    ("When will they meet again?", "date"), ("¿Cuándo volverán a reunirse?", "date"),
    ("Who said it?", "person"), ("¿Quién lo dijo?", "person"), ("Which economist expects a cut?", "person"),
    ("How many containers were stranded?", "number"), ("¿Cuántas personas fueron evacuadas?", "number"),
    ("Where will the meeting take place?", "place"), ("¿Dónde será la reunión?", "place"),
    ("What did the US demand?", ""),
])
def test_question_types(question, kind):
    assert analyse(question).type == kind


def test_answer_type_detection():
    many = analyse("How many containers were stranded?")
    assert has_type("Unos 3.000 contenedores quedaron varados.", many, same_language=False)
    assert not has_type("La paralización afecta a los dos terminales de contenedores.", many)
    assert has_type("About 3,000 containers were stranded.", many)
    assert not has_type("The strike stranded containers at both terminals.", many)
    when = analyse("¿Cuándo volverán a reunirse?")
    assert has_type("Volverán a reunirse el 23 de enero.", when)
    assert not has_type("Volverán a reunirse con la mediación de la Dirección del Trabajo.", when)
    cost = analyse("¿Cuánto costará la línea?")
    assert has_type("La obra costará 4.500 millones de euros.", cost)
    assert not has_type("El tren alcanzó 302 kilómetros por hora.", cost)


def test_how_many_of_what():
    asked = analyse("How many tonnes of beef did Mercosur export?")
    assert asked.counted == ["tonnes"] and asked.of == ["beef"]
    assert not has_type("The fire burned on March 3 near the town.", analyse("How many hectares burned?"))


def test_reasons_in_the_question_language():
    assert not_stated_reason(analyse("How many containers were stranded?"), "en") == (
        "The articles discuss this but don't say how many containers.")
    assert not_stated_reason(analyse("¿Cuándo se reunirán?"), "es") == "Los artículos tratan el tema, pero no dicen cuándo."


def test_questions_naming_an_outlet_prefer_its_articles():
    from answer.answering import named_outlets

    articles = {"a": {"source": "https://www.jornada.com.mx/2026/01/16/politica/x", "outlet": "jornada.com.mx"},
                "b": {"source": "https://www.eluniversal.com.mx/nacion/x", "outlet": "El Universal"},
                "c": {"source": "https://www.infobae.com/mexico/x", "outlet": "infobae.com"},
                "d": {"source": "https://example.org/x", "outlet": "Diario del Sur", "agency": "Reuters"},
                "e": {"source": "articles/milenio-nota.txt", "outlet": ""}}
    assert named_outlets("Según La Jornada, ¿qué dijo Sheinbaum?", articles) == {"a": 1.0}
    assert named_outlets("According to El Universal, who spoke?", articles) == {"b": 1.0}
    assert named_outlets("¿Qué publicó Infobae sobre la llamada?", articles) == {"c": 1.0}
    assert named_outlets("According to Reuters, what did Rubio demand?", articles) == {"d": 0.5}
    assert named_outlets("¿Qué dice Milenio?", articles) == {"e": 1.0}
    assert named_outlets("What did the Mexican government say?", articles) == {}


@pytest.mark.parametrize("question, kind", [
    ("When did the last glacial start?", "date"), ("And when?", "date"),
    ("When many people are arrested, what is a common tactic?", ""),  # a clause of time, no question
    ("When large groups boycott a system it can be considered?", ""),
])
def test_when_asks_a_date_only_before_a_verb(question, kind):
    assert analyse(question).type == kind


@pytest.mark.parametrize("sentence", [
    "El movimiento comenzó a mediados del siglo XVIII dentro de la Iglesia.",
    "La extinción ocurrió hace 66 millones de años.",
    "El último glaciar corrió desde el ~74 000 (BP = Antes del Presente).",
    "The style spread in the 1990s.", "César murió en el 44 a. C.",
])
def test_eras_and_spans_are_dates(sentence):
    assert has_type(sentence, analyse("When did it happen?"))


def test_a_year_question_wants_a_year():
    asked = analyse("¿En qué año se construyó la represa?")
    assert not has_type("Este año el maíz se perdió por la sequía.", asked)
    assert has_type("La represa, construida en 1978, almacena agua.", asked)


def test_a_condition_answers_when_does():
    asked = analyse("When does immunodeficiency occur?")
    assert has_type("La inmunodeficiencia se produce cuando el sistema inmunitario está menos activo.", asked,
                    same_language=False)
    assert not has_type("La inmunodeficiencia es una enfermedad.", analyse("When did the outbreak start?"))


@pytest.mark.parametrize("sentence, has", [
    ("Un abogado puede solicitar cambios en la ley.", True),
    ("Los paleoclimatólogos miden la proporción de oxígeno.", True),
    ("The economists expect a cut.", True),
    ("La lista de la revista se publicó.", False),
    ("El agua hierve a cien grados.", False),
])
def test_people_named_by_what_they_do(sentence, has):
    assert has_type(sentence, analyse("Who may seek changes?")) is has


def test_what_is_counted_across_languages():
    arrested = analyse("How many people were arrested at the protest?")
    assert arrested.counted == ["arrested"]
    # the translation is known: a count of something else does not answer
    assert not has_type("Unos 1.500 agricultores marcharon hasta la plaza.", arrested, same_language=False)
    assert has_type("La policía informó de 12 detenidos.", arrested, same_language=False)
    assert analyse("How many people are affected by the cuts?").counted == []  # people: any count
    # a word with no known translation: any number, but not a percentage
    points = analyse("How many points did he score?")
    assert has_type("Anotó 20 puntos en la final.", points, same_language=False)
    assert not has_type("Las lluvias quedaron un 62 % por debajo de lo normal.", points, same_language=False)
    assert has_type("Polonia ganó la copa en dos ocasiones.", analyse("How many times has Polonia won the cup?"),
                    same_language=False)


def test_how_long_far_big_old_want_a_unit():
    river = analyse("How long is the Caraví river?")
    assert has_type("El río mide 612 kilómetros.", river, same_language=False)
    assert not has_type("Rainfall was 62 percent below average.", river)
    houses = analyse("How big are the emergency houses?")
    assert has_type("Cada vivienda tiene 36 metros cuadrados.", houses, same_language=False)
    assert not has_type("El ministerio entregó 50 viviendas.", houses)
    assert has_type("Es, con 39 años, el mariscal de campo más longevo.", analyse("How old was Manning?"))
    lasted = analyse("How long would this coalition last?")
    assert has_type("Duraría hasta el final del parlamento actual.", lasted, same_language=False)
    assert not has_type("Duraría hasta el final del parlamento actual.", river, same_language=False)
    assert analyse("At what times of day was the water cut?").type == "date"


def test_at_what_time_wants_a_time_of_day():
    asked = analyse("At what times of day was the water cut?")
    assert has_type("Los cortes se aplicarán entre las 20:00 y las 8:00.", asked, same_language=False)
    assert not has_type("El Gobierno anunció este lunes los cortes.", asked, same_language=False)
    assert not analyse("What time frame does the war cover?").clock


def test_how_much_of_is_answered_by_words_of_quantity():
    asked = analyse("How much of southern California has been left undeveloped?")
    assert has_type("El sur de California alberga además amplias zonas que no se han urbanizado.", asked,
                    same_language=False)
    assert not has_type("El sur de California alberga grandes ciudades.", analyse("How many cities are there?"),
                        same_language=False)


def test_outlet_lookups_are_made_once_per_articles_table():
    """A question names an outlet without a pass over every article: the table of names is made
    once per index view (3,000 articles took 24 ms a question before)."""
    from answer.answering import named_outlets
    from answer.ranking import per_articles

    articles = {f"a{i}": {"source": f"https://www.site{i % 40}.example/n/{i}", "outlet": f"Diario {i % 40}"}
                for i in range(3000)}
    built = []
    first = named_outlets("Según Diario 7, ¿qué pasó?", articles)
    assert set(first) == {f"a{i}" for i in range(7, 3000, 40)}
    per_articles(articles, "outlets", lambda a: built.append(1))  # already made: not built again
    assert built == [] and named_outlets("Según Diario 7, ¿qué pasó?", articles) == first
    copy = dict(articles)  # another view's table is its own
    per_articles(copy, "outlets", lambda a: built.append(1) or ({}, {}, []))
    assert built == [1]


def test_spanish_cuando_without_accent_opening_a_clause_is_a_conjunction():
    assert analyse("Cuando se detiene a mucha gente, ¿cuál es una táctica común de negociación?").type == ""
    assert analyse("¿cuando llega el tren?").type == "date"
    assert analyse("¿Y cuando?").type == "date"


def test_the_counted_word_may_come_just_before_the_number():
    asked = analyse("¿Cuántos derribos se anotó Luke Kuechly?")
    assert has_type("Kuechly lideró al equipo en derribos (118).", asked)
    assert not has_type("Kuechly lideró al equipo en 2015.", asked)
