"""Scraped junk in article text that must never be quoted: photo captions and credits, bylines,
"Published on/by" lines, datelines standing alone on their line, a repeated
headline, share/subscribe/navigation lines, related-links blocks, image and file names.

Found when an article is loaded (every format), as character spans of the article text; the text
itself and every offset stay exactly as they are. Answering never quotes a sentence inside these
spans and trims them off a sentence that only starts or ends with one (a caption line glued to
the next sentence by a single line break).
The patterns are general English/Spanish news-page conventions, line by line.
"""

from __future__ import annotations

import re

from .dates import header_date
from .text import fold

_MAX_SHORT = 14  # words: a byline, credit or "published" line is short

_FILE = re.compile(r"\b[\w.-]+\.(?:jpe?g|png|gif|webp|svg|tiff?|bmp|heic|mp4|mov|mp3|pdf|docx?)\b", re.I)
_CREDIT = re.compile(
    r"(?:^|[\s(.|/·-])(?:photo|photos|foto|fotos|fotografía|fotografia|imagen|image|picture|credit|crédito|"
    r"credito|video|vídeo|ilustración|illustration|archivo)\s*(?::|/|\|)", re.I)
_CREDIT_TAIL = re.compile(r"\b(?:getty images|afp photo|ap photo|reuters/|efe/|shutterstock|"
                          r"cuartoscuro|archive photo|file photo|foto de archivo)\b", re.I)
# Lines that start like this are furniture when short; the unambiguous phrases even with a full stop.
_STRONG_LEADS = re.compile(
    r"^\s*(?:written by|escrito por|reporting by|additional reporting by|editing by|edited by|"
    r"with reporting by|compiled by|con información de|información de|published (?:on|by|in)|"
    r"publicado (?:el|por|en)|publicada (?:el|por|en)|last updated|última actualización|actualizado (?:el|a las)|"
    r"updated (?:on|at)|fecha de publicación|share this|comparte esta|compártelo|compartir en|share on|"
    r"listen to this|listen to the article|escucha esta noticia|escuchar esta noticia|escuchar la noticia|"
    r"subscribe to|suscríbete|suscribete|sign up for|regístrate|read more|read also|leer más|lee también|"
    r"lea también|te puede interesar|también te puede interesar|noticias relacionadas|más noticias|"
    r"related\s*:|relacionad[oa]s?\s*:|see also|ver también|más información|more information|"
    r"more on this|follow us|síguenos|copyright|©|all rights reserved|todos los derechos reservados|"
    r"click here|haz clic|skip to|ir al contenido|te recomendamos|sigue leyendo|continúa leyendo|"
    r"continue reading|keep reading|únete a nuestro|unete a nuestro|join our|get the latest|"
    r"our standards|sign up here|inscríbete|descarga la app|download the app|this story has been (?:corrected|updated)|"
    r"esta nota (?:fue|ha sido) actualizada)\b", re.I)
_WEAK_LEADS = re.compile(
    r"^\s*(?:by|por|published|publicado|publicada|updated|actualizado|actualizada|posted|modified|"
    r"source|fuente|tags|etiquetas|temas|topics|share|compartir|comparte|subscribe|newsletter|"
    r"advertisement|publicidad|anuncio|related|relacionad[oa]s?|recommended|ver más|see more|"
    r"menu|menú|portada|inicio)\b", re.I)
# calls to listen, follow or watch: "Escucha Radio Frontera en el 98.7 FM", "Follow The Herald on X",
# "Síguenos en Instagram", "Listen live on 101.3 FM"
_CALL = re.compile(
    r"^\s*(?:(?:escucha(?:nos)?|escúchanos|sintoniza(?:nos)?|sintonízanos|listen|tune in|mira|watch)\b.*"
    r"(?:\b\d{2,4}(?:[.,]\d)?\s*(?:fm|am)\b|\b(?:fm|podcast|en vivo|en directo|live|livestream|"
    r"streaming)\b)|(?:follow|sigue(?:nos)?|síguenos|siga(?:nos)?|sígannos)\b.{0,60}\b(?:on|en)\s+"
    r"(?:x|twitter|facebook|instagram|whatsapp|telegram|tiktok|youtube|linkedin|threads|bluesky|"
    r"google news|mastodon|las redes(?: sociales)?|social media|redes sociales)\b)", re.I)
# the small words inside names of outlets, stations and places
_NAME_LINK = {"de", "del", "la", "las", "los", "el", "en", "y", "e", "of", "the", "and", "&", "on", "da", "do",
              "al", "a", "for", "por", "at", "in"}
_RELATED_HEAD = re.compile(
    r"^\s*(?:related(?: stories| articles| news| content)?|te puede interesar|también te puede interesar|"
    r"lee también|lea también|read more|read also|more on this story|más noticias|noticias relacionadas|"
    r"recommended|recomendados?|contenido relacionado|you may also like|more stories|otras noticias)\s*:?\s*$", re.I)
_SOCIAL = re.compile(r"\b(?:facebook|twitter|whatsapp|linkedin|telegram|email|e-mail|correo|copiar enlace|"
                     r"copy link|print|imprimir|instagram|reddit|x)\b", re.I)
_MONTHS = ("january february march april may june july august september october november december "
           "jan feb mar apr jun jul aug sep sept oct nov dec enero febrero marzo abril mayo junio julio "
           "agosto septiembre setiembre octubre noviembre diciembre ene abr ago dic").split()
_DAYS = ("monday tuesday wednesday thursday friday saturday sunday lunes martes miercoles jueves "
         "viernes sabado domingo").split()
_DATE_FILLER = set(_MONTHS) | set(_DAYS) | {"de", "del", "of", "the", "am", "pm", "h", "hrs", "hs", "utc", "gmt",
                                            "cet", "est", "edt", "et", "a", "las", "at", "on", "el", "th",
                                            "st", "nd", "rd", "updated", "published", "publicado", "actualizado"}
# "MADRID, 3 feb (Europa Press).-" alone on its line
_DATELINE = re.compile(
    r"^[A-ZÁÉÍÓÚÑÜÇ][A-ZÁÉÍÓÚÑÜÇ'’. -]{2,40}(?:\s*\([^)\n]{1,40}\))?(?:,\s*[^\n.—–()]{1,40}?)?"
    r"(?:\s*\([^)\n]{1,40}\))?\s*(?:\.\s*[-—–]|[-—–]{1,2})\s*")
_WORD = re.compile(r"\w+", re.UNICODE)


def boilerplate_spans(text: str, title: str = "") -> list[tuple[int, int]]:
    """(start, end) spans of text that are page furniture, not article prose (sorted, disjoint)."""
    spans: list[tuple[int, int]] = []
    title_key = _key(title)
    seen_lines: set[str] = set()
    in_related = False
    pos = 0
    for raw in text.split("\n"):
        start, end = pos, pos + len(raw)
        pos = end + 1
        line = raw.strip()
        if not line:
            in_related = False
            continue
        a = start + (len(raw) - len(raw.lstrip()))
        b = a + len(line)
        key = _key(line)
        if _RELATED_HEAD.match(line):
            in_related = True
            spans.append((a, b))
            continue
        if in_related and not line.rstrip().endswith((".", "!", "?", "»", "”", '"')) and len(line.split()) <= 20:
            spans.append((a, b))  # a related-link headline under the header
            continue
        in_related = False
        if is_boilerplate_line(line) or (title_key and key == title_key) or key in seen_lines and len(line.split()) < 25:
            spans.append((a, b))
        else:
            # a dateline leading the first sentence ("LIMA, March 12 (Reuters) - ...") stays: it
            # says who reported it; only a dateline on a line of its own is furniture
            for f in _FILE.finditer(line):
                spans.append((a + f.start(), a + f.end()))
        seen_lines.add(key)
    return _merge(spans)


def is_boilerplate_line(line: str) -> bool:
    """Whether one line (a paragraph) is page furniture as a whole."""
    line = line.strip()
    words = _WORD.findall(line)
    n = len(words)
    if not words:
        return False
    if n > 40:  # a paragraph of prose: of the tests below only these two can hold on one this long
        m = _DATELINE.match(line)
        return bool(m and _dateline_ok(m.group()) and not _WORD.search(line[m.end():])) or \
            header_date(line) is not None
    if _FILE.search(line):
        return True
    m = _CREDIT.search(line)
    if m and n <= 40 and len(_WORD.findall(line[m.end():])) <= 6:
        return True  # "Foto: EFE", "... del recinto. PHOTO: Reuters file" (a credit ends the line)
    if _CREDIT_TAIL.search(line) and n <= 40:
        return True
    if _STRONG_LEADS.match(line) and n <= _MAX_SHORT:
        return True
    if _WEAK_LEADS.match(line) and n <= 9 and not line.endswith((".", "?", "!", ":")) or (
            _WEAK_LEADS.match(line) and n <= 3):
        return True
    if _only_date(words):
        return True
    m = _DATELINE.match(line)
    if m and _dateline_ok(m.group()) and not _WORD.search(line[m.end():]):
        return True  # a dateline on its own line
    if _CALL.match(line) and n <= _MAX_SHORT and not line.endswith((".", "?", "!")):
        return True  # "Escucha Radio Frontera en el 98.7 FM", "Follow The Herald on X"
    parts = [p.strip() for p in re.split(r"\s[·|•»>]\s|\s\|\s?|\s·\s?", line) if p.strip()]
    if len(parts) >= 2 and n <= 20 and not line.endswith((".", "?", "!", ":", ";")) and all(
            _is_fragment(p) for p in parts):
        return True  # "Home | World | Ports", "El Diario de Puerto Salinas · Ciudad", "... 98.7 FM · Comparte esta noticia"
    if header_date(line) is not None:
        return True  # "Energy & Markets Weekly — April 17, 2026", "Villa Quinchao, 10 de abril de 2026"
    if len(_SOCIAL.findall(line)) >= 2 and n <= 16:
        return True  # share buttons
    if line.startswith(("#", "@")) and n <= 6:
        return True
    return False


def _is_fragment(part: str) -> bool:
    """One field of a separator-joined furniture line: a few words ("Ports"), a name made of
    capitalised words, numbers and the small words of names ("El Diario de Puerto Salinas",
    "Escucha Radio Frontera en el 98.7 FM"), a date, or a call to share, follow or subscribe.
    A clause with ordinary lowercase words ("el mercado cayó un 4 %") is prose, not a fragment."""
    words = part.strip("*_ ").split()
    if len(words) <= 4:
        return True
    if _CALL.match(part) or _STRONG_LEADS.match(part) or _WEAK_LEADS.match(part) or _only_date(_WORD.findall(part)):
        return len(words) <= _MAX_SHORT
    if len(words) > 8:
        return False
    return all(w[0].isupper() or not w[0].isalpha() or fold(w).lower() in _NAME_LINK for w in words)


def is_boilerplate_text(text: str) -> bool:
    """Whether a quote holds any boilerplate line or an image/file name (the eval's check)."""
    if _FILE.search(text):
        return True
    return any(is_boilerplate_line(line) for line in text.split("\n") if line.strip())


def _only_date(words: list[str]) -> bool:
    """A line that is only a date/time ("14 de enero de 2026", "January 20, 2026 13:05 GMT")."""
    if len(words) > 12:
        return False
    has_date = False
    for w in words:
        f = fold(w)
        if f.isdigit():
            has_date = has_date or len(f) == 4 or f in _DATE_FILLER
            continue
        if f in _MONTHS:
            has_date = True
            continue
        if f not in _DATE_FILLER:
            return False
    return has_date


def _dateline_ok(prefix: str) -> bool:
    """The upper-case place of a dateline (at least one word of 3+ capitals), not a shouted sentence."""
    head = re.split(r"[(,]", prefix, maxsplit=1)[0]
    caps = [w for w in head.split() if len(w) >= 3 and w.isupper()]
    return bool(caps) and len(prefix.split()) <= 12


def _key(line: str) -> str:
    return " ".join(_WORD.findall(fold(line)))


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for s, e in sorted(spans):
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


def usable_span(span: tuple[int, int], excluded: list[tuple[int, int]], text: str = "",
                min_words: int = 4) -> tuple[int, int] | None:
    """The part of a sentence span outside the excluded spans (the longest piece), or None when
    too little is left. `text` (the sentence's own text, span[0]-based) trims whitespace."""
    s, e = span
    pieces = [(s, e)]
    for xs, xe in excluded:
        if xe <= s or xs >= e:
            continue
        nxt = []
        for a, b in pieces:
            if xe <= a or xs >= b:
                nxt.append((a, b))
                continue
            if xs > a:
                nxt.append((a, xs))
            if xe < b:
                nxt.append((xe, b))
        pieces = nxt
    if pieces == [(s, e)]:
        return span
    if not pieces:
        return None
    a, b = max(pieces, key=lambda p: p[1] - p[0])
    if text:
        while a < b and not text[a - s].isalnum() and text[a - s] not in "“\"«'‘¿¡(":
            a += 1
        while b > a and text[b - 1 - s].isspace():
            b -= 1
    words = len(_WORD.findall(text[a - s:b - s])) if text else 99
    return (a, b) if b > a and words >= min_words else None
