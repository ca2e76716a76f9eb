"""Sentence spans (exact offsets, Spanish and English punctuation) and language guessing."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from index.text import fold, guess_language, parse_sentence_id, sentence_id, sentence_spans, stop_words, words


def sentences(text: str) -> list[str]:
    return [text[a:b] for a, b in sentence_spans(text)]


@pytest.mark.parametrize("text, expected", [
    # "EE. UU." is one abbreviation, not two sentence ends
    ("EE. UU. pidió a México resultados. El Gobierno respondió el martes.",
     ["EE. UU. pidió a México resultados.", "El Gobierno respondió el martes."]),
    ("Washington (EE. UU.) pidió resultados concretos a México. El Gobierno respondió el martes.",
     ["Washington (EE. UU.) pidió resultados concretos a México.", "El Gobierno respondió el martes."]),
    # decimal numbers and thousands separators
    ("La economía creció un 3.5 por ciento en 2025. El desempleo bajó al 2,8 % en diciembre.",
     ["La economía creció un 3.5 por ciento en 2025.", "El desempleo bajó al 2,8 % en diciembre."]),
    ("Cuesta 1.500 millones de dólares. ¡Es demasiado dinero para un solo proyecto!",
     ["Cuesta 1.500 millones de dólares.", "¡Es demasiado dinero para un solo proyecto!"]),
    # «» quotes: the closing quote belongs to the sentence it ends
    ("Dijo: «No aceptaremos progresos graduales». Después colgó el teléfono sin despedirse.",
     ["Dijo: «No aceptaremos progresos graduales».", "Después colgó el teléfono sin despedirse."]),
    ("«No aceptaremos progresos graduales.» Después colgó el teléfono sin despedirse.",
     ["«No aceptaremos progresos graduales.»", "Después colgó el teléfono sin despedirse."]),
    ("“Los compromisos requerirán resultados”, escribió la Oficina en la red social X.",
     ["“Los compromisos requerirán resultados”, escribió la Oficina en la red social X."]),
    # ellipsis (one character or three dots) ends a sentence before a capital, not before lowercase
    ("El Sr. López llegó tarde… Nadie lo esperaba en la sala de prensa.",
     ["El Sr. López llegó tarde…", "Nadie lo esperaba en la sala de prensa."]),
    ("Los resultados fueron buenos... Pero no suficientes para la Casa Blanca y el Congreso.",
     ["Los resultados fueron buenos...", "Pero no suficientes para la Casa Blanca y el Congreso."]),
    ("Y luego… nada más que silencio en la sala durante horas.",
     ["Y luego… nada más que silencio en la sala durante horas."]),
    # inverted question and exclamation marks start a sentence
    ("¿Qué pidió Estados Unidos? Pidió resultados concretos y verificables en seguridad.",
     ["¿Qué pidió Estados Unidos?", "Pidió resultados concretos y verificables en seguridad."]),
    # titles and initials
    ("Lo dijo el Dr. Juan Pérez. Y añadió que no habría prórroga para el acuerdo comercial.",
     ["Lo dijo el Dr. Juan Pérez.", "Y añadió que no habría prórroga para el acuerdo comercial."]),
    ("The U.S. demanded results. Mexico said it would comply with the request soon.",
     ["The U.S. demanded results.", "Mexico said it would comply with the request soon."]),
    ("J. R. R. Tolkien wrote many books. They sold millions of copies in every country.",
     ["J. R. R. Tolkien wrote many books.", "They sold millions of copies in every country."]),
    # a blank line ends a sentence even without punctuation (headlines)
    ("EU pide a México resultados concretos\n\nEstados Unidos pidió a México resultados concretos.",
     ["EU pide a México resultados concretos", "Estados Unidos pidió a México resultados concretos."]),
])
def test_sentences_of_spanish_and_english_text(text, expected):
    assert sentences(text) == expected


def test_attribution_line_stays_with_the_quote_it_attributes():
    text = ("Upcoming bilateral engagements with Mexico will require concrete, verifiable outcomes to "
            "dismantle narcoterrorist networks and deliver a real reduction in fentanyl… — Bureau of "
            "Western Hemisphere Affairs (@WHAAsstSecty) January 16, 2026")
    assert sentences(text) == [text]


def test_spans_inside_a_range_are_absolute_offsets():
    text = "Prefacio que no cuenta. Primera frase del rango aquí. Segunda frase del rango también. Fin."
    start = text.index("Primera")
    end = text.index(" Fin.")
    spans = sentence_spans(text, start, end)
    assert [text[a:b] for a, b in spans] == ["Primera frase del rango aquí.", "Segunda frase del rango también."]


def test_text_without_letters_has_no_sentences():
    assert sentence_spans("") == []
    assert sentence_spans("  \n\n — … ") == []


_words = st.sampled_from(["Estados", "Unidos", "pidió", "a", "México", "resultados", "EE.", "UU.", "3.5",
                          "«No»", "Sr.", "dijo", "the", "U.S.", "demanded", "¿Qué?", "¡Ya!", "fin.",
                          "así…", "—", "\n", "\n\n", "1.500", "etc.", "Dr.", "“cita”", "...", "x"])


@settings(max_examples=300, deadline=None)
@given(st.lists(_words, max_size=60).map(" ".join), st.data())
def test_spans_are_ordered_trimmed_slices_that_lose_no_word(text, data):
    start = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(start, len(text)))
    spans = sentence_spans(text, start, end)
    previous_end = start
    for a, b in spans:
        assert previous_end <= a < b <= end
        piece = text[a:b]
        assert piece == piece.strip()
        assert any(ch.isalnum() for ch in piece)
        previous_end = b
    covered = set()
    for a, b in spans:
        covered.update(range(a, b))
    assert all(i in covered for i in range(start, end) if text[i].isalnum())


@pytest.mark.parametrize("text, lang", [
    ("Estados Unidos pidió a México resultados concretos de la lucha contra el fentanilo.", "es"),
    ("The United States made clear that incremental progress is unacceptable for the border.", "en"),
    ("12345 67890", "und"),
    ("", "und"),
])
def test_guess_language(text, lang):
    assert guess_language(text) == lang


def test_fold_removes_case_and_accents():
    assert fold("Pidió MÉXICO Ñandú") == "pidio mexico nandu"


def test_words_are_folded_and_split_on_non_word_characters():
    assert words("¿Cuántos MÉXICO-EE.UU. acuerdos? 2026") == ["cuantos", "mexico", "ee", "uu", "acuerdos", "2026"]
    assert words("") == []


def test_stop_words_are_bm25s_lists_folded_one_per_language():
    from bm25s import stopwords as lists

    assert "que" in stop_words("es") and "mas" in stop_words("es")  # "más", folded
    assert "the" in stop_words("en") and "the" not in stop_words("es")
    # all languages: the union of the six lists (what lexical search drops)
    assert stop_words() == frozenset().union(*(stop_words(lang) for lang in ("en", "es", "pt", "fr", "de", "it")))
    # the long English list only when asked (the LLM checks)
    extra = {fold(w) for w in lists.STOPWORDS_EN_PLUS} - stop_words()
    assert extra and extra <= stop_words(long_english=True) and not extra & stop_words()


@pytest.mark.parametrize("article_id", ["seeds/000_story.txt", "https://example.org/a:b?x=1", "x"])
def test_sentence_ids_round_trip_even_with_colons_in_the_article_id(article_id):
    sid = sentence_id(article_id, 12, 345)
    assert sid == f"{article_id}:12:345"  # the format stored in existing indexes
    assert parse_sentence_id(sid) == (article_id, 12, 345)
