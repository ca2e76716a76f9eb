"""Page furniture found at load time (never quoted), and outlets, authors and agencies, on the
news fixture (tests/fixtures/news) and on small texts of every format."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.articles import load_paths
from index.boilerplate import boilerplate_spans, is_boilerplate_text, usable_span
from index.outlets import agencies_in, byline_author, describe, masthead

ROOT = Path(__file__).resolve().parents[2]
NEWS = ROOT / "tests" / "fixtures" / "news" / "articles"


@pytest.fixture(scope="module")
def news():
    articles, skipped = load_paths([NEWS], max_bytes=5_000_000)
    assert not skipped
    return {a.source.rsplit("/", 1)[-1]: a for a in articles}


def marked(article) -> list[str]:
    return [article.text[s:e] for s, e in article.boilerplate]


def test_furniture_of_every_format_is_marked_and_the_text_is_unchanged(news):
    txt = news["diario-del-sur-huelga-portuaria.txt"]
    assert txt.text == (NEWS / "diario-del-sur-huelga-portuaria.txt").read_text(encoding="utf-8")
    assert {"Diario del Sur · Economía", "14 de enero de 2026", "Foto: EFE",
            "Comparte esta noticia: Facebook · X · WhatsApp"} <= set(marked(txt))
    html = news["valparaiso-dockworkers-end-strike"]
    junk = " ".join(marked(html))
    for piece in ("By Jane Doe", "Published on January 20, 2026", "PHOTO: Reuters file",
                  "Additional reporting by Reuters.", "Share this article"):
        assert piece in junk
    rail = news["tren-madrid-lisboa-primera-prueba.txt"]
    assert "Publicado por Redacción Europa Press" in marked(rail)
    assert "Foto: Europa Press / IMG_0912.jpg" in marked(rail)
    assert "MADRID, 3 feb (Europa Press).-" in marked(rail)  # a dateline alone on its line
    # the repeated headline (a .txt's first line is its title)
    assert rail.title in marked(rail)


def test_article_prose_is_not_marked(news):
    for article in news.values():
        for s, e in article.boilerplate:
            piece = article.text[s:e]
            assert "trabajadores portuarios de Valparaíso iniciaron" not in piece
            assert "alcanzó una velocidad máxima de 280 kilómetros por hora" not in piece
            assert "60 additional crane operators" not in piece


@pytest.mark.parametrize("line", [
    "PHOTO: Reuters file", "Foto: EFE", "Foto: Europa Press / IMG_0912.jpg", "IMG_4417.jpg",
    "By Jane Doe", "Por Ana Ruiz", "Published on January 20, 2026", "Publicado el 14 de enero de 2026, 13:05",
    "PUBLISHED ON February 5, 2026", "Published by The Harbour Times", "14 de enero de 2026",
    "Share this article: Facebook | X | LinkedIn | Email", "Comparte: Facebook · X · WhatsApp",
    "Home | World | Ports", "Suscríbete a nuestro boletín", "Related: Chile's second-busiest port hit by strike",
    "Lee también: El puerto de San Antonio amplía su terminal", "LIMA, 12 mar (EFE).-",
])
def test_furniture_lines(line):
    assert is_boilerplate_text(line)


@pytest.mark.parametrize("line", [
    "By Tuesday, the strike had ended and the cranes were moving again at both terminals.",
    "Published figures show exports rose 12 % in January, the union said.",
    "Por primera vez, el sindicato aceptó una oferta de la empresa antes de la mediación.",
    "The minister said the photo opportunity was not the point of the visit.",
    "LIMA, March 12 (Reuters) - Peru's central bank lowered its benchmark rate to 3.75%.",
    "El gobierno difundió un video: en él se ve a los soldados entrar al almacén de madrugada.",
])
def test_prose_lines(line):
    assert not is_boilerplate_text(line)


@pytest.mark.parametrize("line,furniture", [
    # short fragments joined by separators: outlet, section, date, calls to action
    ("Gaceta del Valle de San Pedro · Regionales", True),
    ("La Tribuna del Litoral Norte | Sociedad | 3 de marzo de 2026", True),
    ("**The Lakeside Evening Post** · Business · March 3, 2026", True),
    ("Harbour Business Review — March 3, 2026", True),
    ("San Pedro del Monte, 3 de marzo de 2026", True),
    ("Sintoniza Radio Costa Norte en el 101.5 FM · Comparte esta noticia", True),
    ("Listen to Harbour Radio live on 88.1 FM | Share this story", True),
    ("Escucha Radio Costa Norte en el 101.5 FM", True),
    ("Share this story", True),
    ("Comparte esta noticia", True),
    ("Follow The Lakeside Post on Instagram", True),
    ("Síguenos en las redes sociales", True),
    ("Share · Subscribe to the Harbour Business Review · © 2026 Harbour Business Review", True),
    # related-content and app calls of news sites
    ("Te recomendamos: Las claves del acuerdo", True),
    ("Únete a nuestro canal de WhatsApp", True),
    ("Sigue leyendo", True),
    ("Our Standards: The Thomson Reuters Trust Principles.", True),
    ("This story has been corrected to fix the minister's name.", True),
    ("Recomendamos que la población evite la zona, dijo el alcalde.", False),
    # real sentences with a separator or a call-like start stay quotable
    ("Ventas de marzo · el mercado pesquero cayó un 4 % frente a febrero", False),
    ("El índice subió 3 % | los analistas esperaban un 2 % según la encuesta.", False),
    ("Exports | The ministry said shipments of fish rose by a fifth in March", False),
    ("Escucha lo que dijo el alcalde: no habrá más cortes de luz en marzo.", False),
    ("Listen to what the mayor said about the FM licence renewal.", False),
    ("He told reporters to follow the money, which ended up in Facebook ads.", False),
    ("The rate stayed at 3·5 per cent, the central bank said on Thursday.", False),
    ("PORT ARTHUR — The city council voted on Monday to extend the fishing ban by a month.", False),
    ("The board will meet again on March 3, 2026 to vote on the plan.", False),
])
def test_separator_fragments_and_calls_to_action(line, furniture):
    assert is_boilerplate_text(line) is furniture


def test_marked_furniture_leaves_text_and_offsets_exact():
    text = ("Fishing ban extended\n\nLa Tribuna del Litoral Norte | Sociedad | 3 de marzo de 2026\n\n"
            "The council extended the ban · the fishermen's union objected on Monday.\n\n"
            "Sintoniza Radio Costa Norte en el 101.5 FM · Comparte esta noticia\n")
    marks = [text[s:e] for s, e in boilerplate_spans(text, "Fishing ban extended")]
    assert marks == ["Fishing ban extended", "La Tribuna del Litoral Norte | Sociedad | 3 de marzo de 2026",
                     "Sintoniza Radio Costa Norte en el 101.5 FM · Comparte esta noticia"]


def test_a_related_links_block_is_marked_to_its_end():
    text = ("Strike ends at the port\n\nWorkers agreed to the deal on Tuesday, the union said.\n\n"
            "Related stories\nChile's second-busiest port hit by strike\nRecord cherry season strains ports\n\n"
            "The deal includes a 28 percent premium for night shifts.")
    spans = boilerplate_spans(text, "Strike ends at the port")
    junk = [text[s:e] for s, e in spans]
    assert "Record cherry season strains ports" in junk
    assert not any("28 percent" in j for j in junk)


def test_usable_span_trims_furniture_glued_to_a_sentence():
    text = "Foto: EFE\nLa huelga terminó el martes tras un acuerdo salarial."
    spans = boilerplate_spans(text)
    start, end = usable_span((0, len(text)), spans, text)
    assert text[start:end] == "La huelga terminó el martes tras un acuerdo salarial."
    assert usable_span((0, 9), spans, text) is None


def test_outlets_authors_and_agencies(news):
    got = {name: (a.outlet, a.author, a.agency) for name, a in news.items()}
    assert got["diario-del-sur-huelga-portuaria.txt"] == ("Diario del Sur", "", "EFE")
    assert got["huelga-puerto-valparaiso"] == ("Radio Cordillera", "", "EFE")  # jsonl source, author "EFE"
    assert got["valparaiso-dockworkers-end-strike"] == ("The Harbour Times", "Jane Doe", "Reuters")
    assert got["ledger-rail-trial-ap.txt"] == ("The Southern Ledger", "Tom Reyes", "AP")
    assert got["tren-madrid-lisboa-primera-prueba.txt"][2] == "Europa Press"
    assert got["tren-pruebas-supera-300"] == ("Crónica Atlántica", "Marta Quiroga", "")


def test_agency_credits_but_not_photo_credits():
    assert agencies_in("WASHINGTON (Reuters) - The talks ended.") == ["Reuters"]
    assert agencies_in("LIMA, 12 mar (EFE).- El banco redujo su tasa.") == ["EFE"]
    assert agencies_in("Texto.\n\nCon información de AFP") == ["AFP"]
    assert agencies_in("Cranes stand idle. PHOTO: Reuters file\n\nThe strike ended.") == []
    assert byline_author("Title\n\nBy Tom Reyes, AP\n\nText of the story.") == "Tom Reyes"
    assert byline_author("Title\n\nPor Redacción / EFE\n\nTexto.") == ""
    assert masthead("Title\nDiario del Sur · Economía\n\nTexto.") == "Diario del Sur"
    assert masthead("Texto.\nComparte: Facebook · X") == ""
    assert describe(text="Texto.", url="https://www.infobae.com/america/x") ["outlet"] == "infobae.com"
