"""Dates in article text, English and Spanish: publication dates and the dates an article mentions.

Everything returns ISO dates ("2026-01-16"). Used when loading articles (the publication date
of a page or plain text that carries no metadata: a dateline such as "MÉXICO, 15 ene (EFE).-",
a line "PUBLISHED ON January 16, 2026" or "15 de enero de 2026"), when building (the dates each
article mentions, so a question about 23 January also finds the article published on the 20th
that says what will happen on the 23rd), and by answer/dates.py for the dates in questions.
Plain regular expressions over a small table of month and weekday names: no parser library
(dateparser takes 0.3-0.7 s to import and reads "last week" as a single day).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import re

from .text import fold, stop_words

# month names and abbreviations, accent-folded, English and Spanish
MONTHS: dict[str, int] = {}
for _n, _names in enumerate((
        "january jan enero ene", "february feb febrero", "march mar marzo", "april apr abril abr",
        "may mayo", "june jun junio", "july jul julio", "august aug agosto ago",
        "september sep sept septiembre setiembre set", "october oct octubre",
        "november nov noviembre", "december dec diciembre dic"), 1):
    for _name in _names.split():
        MONTHS[_name] = _n
WEEKDAYS: dict[str, int] = {}
for _n, _names in enumerate(("monday mon lunes", "tuesday tue tues martes", "wednesday wed miercoles",
                             "thursday thu thurs jueves", "friday fri viernes", "saturday sat sabado",
                             "sunday sun domingo")):
    for _name in _names.split():
        WEEKDAYS[_name] = _n
MONTH_NAMES = {"en": ["January", "February", "March", "April", "May", "June", "July", "August",
                      "September", "October", "November", "December"],
               "es": ["enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto",
                      "septiembre", "octubre", "noviembre", "diciembre"]}

# On folded text (lowercase, no accents). Longest names first so "sept" wins over "sep".
_MONTH = "(?P<{g}>" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"
_YEAR = r"(?P<{g}>(?:19|20)\d\d)"
_DAY = r"(?P<{g}>[0-3]?\d)(?:st|nd|rd|th|º|°)?"
_WD = "(?:(?:" + "|".join(sorted(WEEKDAYS, key=len, reverse=True)) + r")\.?,?\s+)?"

# "16 de enero de 2026", "16 enero 2026", "16 January 2026", "16 jan. 2026", "15 ene"
DAY_MONTH = re.compile(
    r"\b" + _WD + _DAY.format(g="d") + r"(?:\s+de)?\s+" + _MONTH.format(g="m")
    + r"(?:,?\s+(?:de(?:l)?\s+)?" + _YEAR.format(g="y") + r")?(?![\w])")
# "January 16, 2026", "Jan. 16 2026", "January 16"
MONTH_DAY = re.compile(
    r"\b" + _WD + _MONTH.format(g="m") + r"\s+" + _DAY.format(g="d")
    + r"(?:,?\s+" + _YEAR.format(g="y") + r")?(?![\w])")
# "2026-01-16", "2026-01-16T08:00:00Z"
ISO = re.compile(r"\b(?P<y>(?:19|20)\d\d)-(?P<m>[01]\d)-(?P<d>[0-3]\d)(?![\d])")
# "16/01/2026", "16.01.2026" (day first, as Spanish and most wire services write it)
NUMERIC = re.compile(r"\b(?P<d>[0-3]?\d)[/.](?P<m>[01]?\d)[/.](?P<y>(?:19|20)\d\d)\b")
# "enero de 2026", "January 2026" (a month)
MONTH_YEAR = re.compile(r"\b" + _MONTH.format(g="m") + r",?\s+(?:de(?:l)?\s+)?" + _YEAR.format(g="y") + r"\b")

# a line that says when the article was published
_LABEL = re.compile(r"^\W*(?:published(?:\s+on)?|posted(?:\s+on)?|date|dated|publicado(?:\s+el)?|"
                    r"publicada(?:\s+el)?|fecha(?:\s+de\s+publicacion)?|actualizado|updated(?:\s+on)?)"
                    r"\b\s*[:\-–—]?\s*", re.I)
# a wire dateline: "MEXICO, 15 ene (EFE).-", "WASHINGTON, Jan 16 (Reuters) -", "Madrid, 15 de enero de 2026.-"
_DATELINE = re.compile(r"^[^\W\d][^\n,]{0,60},\s*(?=[^\n]{0,40}(?:\(|\.-|-|–|—))")


def _valid(y: int, m: int, d: int) -> dt.date | None:
    try:
        return dt.date(y, m, d)
    except ValueError:
        return None


def _match_date(m: re.Match, year: int | None) -> dt.date | None:
    month = m.group("m")
    month = int(month) if month.isdigit() else MONTHS.get(month.rstrip("."))
    y = m.group("y") if "y" in m.re.groupindex else None
    y = int(y) if y else year
    if month is None or y is None:
        return None
    return _valid(y, month, int(m.group("d")))


def parse_date(text: str, *, year: int | None = None) -> dt.date | None:
    """The first full date in text (a day of a month), or None. Without a year in the text,
    `year` is used; with neither, None."""
    folded = fold(text)
    found = []
    for pattern in (ISO, DAY_MONTH, MONTH_DAY, NUMERIC):
        for m in pattern.finditer(folded):
            d = _match_date(m, year)
            if d is not None:
                found.append((m.start(), d))
                break
    return min(found)[1] if found else None


def normalise_published(value: str | None) -> str:
    """An ISO date (YYYY-MM-DD) from what metadata says (ISO, RFC 2822 as feeds write it,
    "January 16, 2026", "16 de enero de 2026"), or "" when it says no date."""
    value = (value or "").strip()
    if not value:
        return ""
    m = ISO.search(value)
    if m:
        d = _valid(int(m["y"]), int(m["m"]), int(m["d"]))
        return d.isoformat() if d else ""
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        parsed = None
    if parsed is not None:
        return parsed.date().isoformat()
    d = parse_date(value)
    return d.isoformat() if d else ""


def _years(folded: str) -> list[int]:
    return [int(y) for y in re.findall(r"\b((?:19|20)\d\d)\b", folded)]


def publication_date(text: str, *, head_chars: int = 600, tail_chars: int = 300,
                     today: dt.date | None = None) -> str:
    """The publication date a plain-text article states, as an ISO date, or "".

    Looked for only where articles state it, not in the body (whose dates are those of events):
    a labelled line ("PUBLISHED ON January 16, 2026", "Publicado el 15 de enero de 2026",
    "Fecha: 2026-01-15") anywhere in the first lines or the last ones; a wire dateline opening
    a paragraph near the top ("MÉXICO, 15 ene (EFE).-", "WASHINGTON, Jan 16 (Reuters) -"); a
    line near the top that is only a date, or a short header line whose first or last field is
    one ("Outlet · Section · May 5, 2026", "Outlet | 15 de mayo de 2026", "Outlet — April 17,
    2026") or a place and a date ("Villa Quinchao, 10 de abril de 2026"): see header_date. A dateline without a year ("3 feb (Europa Press)")
    takes the year the text states elsewhere (the latest one), else the year that makes it the
    latest such day up to `today` (wire services leave out the current year).
    """
    head, tail = text[:head_chars], text[-tail_chars:] if len(text) > head_chars else ""
    lines = [ln.strip() for ln in head.splitlines() if ln.strip()]
    tail_lines = [ln.strip() for ln in tail.splitlines() if ln.strip()]
    years = _years(fold(text[:5000]))
    year = max(years) if years else None
    # 1. a labelled line, at the top or at the bottom
    for line in lines[:12] + tail_lines[-4:]:
        m = _LABEL.match(fold(line))
        if m:
            d = parse_date(line[m.end():], year=year)
            if d:
                return d.isoformat()
    # 2. a dateline opening one of the first paragraphs, or a line that is only a date
    for line in lines[:8]:
        folded = fold(line)
        m = _DATELINE.match(folded)
        if m:
            rest = folded[m.end():m.end() + 45]
            d = parse_date(rest, year=year or 2000)  # 2000: a leap year, for 29 February
            if d and _starts_with_date(rest):
                if year is None:
                    d = nearest_year(d.month, d.day, today or dt.date.today(), future_weight=1000)
                return d.isoformat() if d else ""
        if len(line) <= 60:
            d = parse_date(line, year=None)
            if d and _only_a_date(folded):
                return d.isoformat()
        d = header_date(line)
        if d:
            return d.isoformat()
    return ""


# the separators of a header line: "Outlet · Section · date", "Outlet | date", "Outlet — date"
_HEADER_SPLIT = re.compile(r"\s*[·•|]\s*|\s+[-–—]\s+|\s*[–—]\s*")
_EMPHASIS = re.compile(r"[*_`]+")
# the place of a dateline: capitalised words and the small words of place names
_PLACE_LINK = {"de", "del", "la", "las", "los", "el", "y", "da", "do", "dos", "das", "of", "the", "upon", "on", "sur",
               "al"}
_WORD_RE = re.compile(r"[^\W\d_][\w'’.-]*")


def header_date(line: str) -> dt.date | None:
    """The date of a short header line that carries one as a field of its own, or None:
    "Semanario Agro Sur | Campo | 15 de mayo de 2026", "**The Coastal Herald** · Region · April
    13, 2026", "Energy & Markets Weekly — April 17, 2026", "Fecha · 15/05/2026", or a dateline
    alone on its line, "Villa Quinchao, 10 de abril de 2026". The date (with its year) is the
    first or last field and the other fields are short names, so a sentence that mentions a date
    ("The talks resumed on April 17, 2026 in Geneva.") is not one."""
    line = _EMPHASIS.sub("", line).strip().strip("#>").strip()
    if not line or len(line) > 120 or len(line.split()) > 18:
        return None
    fields = [f.strip() for f in _HEADER_SPLIT.split(line) if f.strip()]
    if len(fields) >= 2:
        for date_field, others in ((fields[-1], fields[:-1]), (fields[0], fields[1:])):
            if all(len(f.split()) <= 6 and not f.endswith((".", "?", "!", ":", ";")) for f in others):
                d = _date_field(date_field)
                if d:
                    return d
        return None
    place, comma, rest = line.partition(",")
    rest = rest.strip().rstrip(" .-–—:")
    if comma and _is_place(place) and _starts_with_date(fold(rest)):
        return _date_field(rest)
    return _date_field(line) if len(line) <= 60 else None


def _date_field(field: str) -> dt.date | None:
    folded = fold(field).strip(" .,")
    if not folded or not _only_a_date(folded):
        return None
    return parse_date(field)


def _is_place(text: str) -> bool:
    """A place name ("Villa Quinchao", "PUERTO SALINAS", "Río de la Plata"): 1-5 words, each
    capitalised or one of the small words of place names, no digits."""
    words = text.split()
    if not 1 <= len(words) <= 5 or any(ch.isdigit() for ch in text) or not _WORD_RE.fullmatch(words[0]):
        return False
    first = fold(words[0]).lower()
    if first in WEEKDAYS or (first in stop_words() and first not in _PLACE_LINK):
        return False  # "Lunes, 10 de abril de 2026" is a date line; "Pero, el 10 de abril..." a sentence
    return words[0][0].isupper() and all(
        w[0].isupper() or fold(w) in _PLACE_LINK for w in words if _WORD_RE.fullmatch(w)) and all(
        _WORD_RE.fullmatch(w) for w in words)


def _starts_with_date(folded: str) -> bool:
    return any(p.match(folded) for p in (DAY_MONTH, MONTH_DAY, ISO, NUMERIC))


_LEFTOVER = re.compile(r"[\w]+")


def _only_a_date(folded: str) -> bool:
    """The line holds a date and at most a weekday, a time or a few filler words."""
    for pattern in (DAY_MONTH, MONTH_DAY, ISO, NUMERIC):
        m = pattern.search(folded)
        if m and m.group("y"):
            rest = folded[:m.start()] + " " + folded[m.end():]
            words = [w for w in _LEFTOVER.findall(rest) if not w.isdigit()
                     and w not in WEEKDAYS and w not in {"de", "el", "on", "the", "h", "am", "pm", "gmt", "utc",
                                                         "cet", "cst", "et", "a", "las", "hrs"}]
            return len(words) == 0
    return False


# -- dates an article mentions -----------------------------------------------------------------

def mentioned_dates(text: str, *, published: str = "", limit: int = 60) -> list[tuple[str, str]]:
    """The days and months the text mentions, as (first day, last day) ISO pairs, in order and
    without repeats: "23 de enero" is ("2026-01-23", "2026-01-23") in an article of 2026, "en
    febrero de 2026" the whole month. A day or month without a year takes the year that puts it
    nearest to the publication date (a January article's "December" is last December); without a
    publication date it takes the year the text states, or is left out. With a publication date,
    the weekdays a report names ("este miércoles", "on Wednesday") are the latest such days up to
    it, and "ayer"/"yesterday" the day before."""
    folded = fold(text)
    ref = dt.date.fromisoformat(published) if published else None
    years = _years(folded[:5000])
    fallback_year = max(years) if years else None
    out: dict[tuple[str, str], None] = {}
    taken: list[tuple[int, int]] = []
    for pattern in (ISO, DAY_MONTH, MONTH_DAY, NUMERIC):
        for m in pattern.finditer(folded):
            if any(a < m.end() and m.start() < b for a, b in taken):
                continue
            d = _match_date(m, year=None if m.group("y") else 2000)  # 2000: a leap year
            if d is None:
                continue
            if not m.group("y"):
                d = nearest_year(d.month, d.day, ref) if ref else (
                    _valid(fallback_year, d.month, d.day) if fallback_year else None)
                if d is None:
                    continue
            taken.append((m.start(), m.end()))
            out[(d.isoformat(), d.isoformat())] = None
    if ref is not None:
        # "este miércoles", "on Wednesday", "el lunes": news names the days of its own week
        # (the latest such day up to the publication date)
        for m in _WEEKDAY_MENTION.finditer(folded):
            back = (ref.weekday() - WEEKDAYS[m.group("wd")]) % 7
            d = ref - dt.timedelta(days=back)
            out[(d.isoformat(), d.isoformat())] = None
        for m in _DAY_WORD.finditer(folded):
            d = ref + dt.timedelta(days=_DAY_WORDS[m.group(1)])
            out[(d.isoformat(), d.isoformat())] = None
    for m in MONTH_YEAR.finditer(folded):
        if any(a < m.end() and m.start() < b for a, b in taken):
            continue
        first, last = month_range(int(m["y"]), MONTHS[m["m"].rstrip(".")])
        out[(first.isoformat(), last.isoformat())] = None
    return list(out)[:limit]


_WEEKDAY_MENTION = re.compile(r"\b(?:on|this|last|este|el|pasado)\s+(?P<wd>" + "|".join(
    w for w in WEEKDAYS if len(w) > 3) + r")\b(?!\s+(?:\d|de\s|next|que\s+viene|proximo))")
_DAY_WORDS = {"yesterday": -1, "ayer": -1, "today": 0, "hoy": 0}
_DAY_WORD = re.compile(r"\b(" + "|".join(_DAY_WORDS) + r")\b")


def nearest_year(month: int, day: int, ref: dt.date, *, future_weight: float = 2.0) -> dt.date | None:
    """month/day in the year that puts it nearest to ref, a date after ref counting
    `future_weight` times as far (news mostly looks back)."""
    best, best_cost = None, None
    for y in (ref.year - 1, ref.year, ref.year + 1):
        d = _valid(y, month, day)
        if d is None:
            continue
        delta = (d - ref).days
        cost = delta * future_weight if delta > 0 else -delta
        if best_cost is None or cost < best_cost:
            best, best_cost = d, cost
    return best


def month_range(year: int, month: int) -> tuple[dt.date, dt.date]:
    first = dt.date(year, month, 1)
    nxt = dt.date(year + (month == 12), month % 12 + 1, 1)
    return first, nxt - dt.timedelta(days=1)


def format_day(d: dt.date, lang: str = "en", *, year: bool = True) -> str:
    """"16 January 2026" / "16 de enero de 2026"."""
    month = MONTH_NAMES["es" if lang == "es" else "en"][d.month - 1]
    if lang == "es":
        return f"{d.day} de {month}" + (f" de {d.year}" if year else "")
    return f"{d.day} {month}" + (f" {d.year}" if year else "")


def format_range(first: dt.date, last: dt.date, lang: str = "en") -> str:
    """"2–8 March 2026", "28 February – 6 March 2026", "January 2026", "2–8 de marzo de 2026"."""
    es = lang == "es"
    if first == last:
        return format_day(first, lang)
    if first.day == 1 and month_range(first.year, first.month)[1] == last:
        name = MONTH_NAMES["es" if es else "en"][first.month - 1]
        return f"{name} de {first.year}" if es else f"{name} {first.year}"
    if first.year == last.year and first.month == last.month:
        return f"{first.day}–{format_day(last, lang)}"
    if first.year == last.year:
        return f"{format_day(first, lang, year=False)} – {format_day(last, lang)}"
    return f"{format_day(first, lang)} – {format_day(last, lang)}"
