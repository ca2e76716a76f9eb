"""Dates in questions, English and Spanish, as windows of days.

`read_question(question, today)` finds the period a question asks about ("on January 23", "el 11
de diciembre", "en enero de 2026", "yesterday", "el jueves pasado", "last week", "este mes",
"between 2 and 8 March"...) and resolves it against the day the question is asked, or against a
date the question states ("Hoy es 18 de enero de 2026, ¿qué pasó ayer?"). It also tells whether
the question asks for the latest news ("what is the latest...", "lo más reciente", "¿cómo va...?").

Periods are windows (first day, last day), not single days: "last week" is the previous Monday
to Sunday, "this month" the whole calendar month, "in January" the month. The rules are a small
table of our own (dateparser reads "last week" as one day, scrapinghub/dateparser #388, and takes
0.3-0.7 s to import). A day or month without a year takes the year that puts it nearest to
today, a future one counting double (questions about news mostly look back).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass

from index.dates import MONTHS, WEEKDAYS, format_range, month_range, nearest_year
from index.text import fold

Date = dt.date
D1 = dt.timedelta(days=1)


@dataclass(frozen=True)
class Window:
    first: Date
    last: Date
    phrase: str = ""  # the words of the question it comes from
    yearless: bool = False  # a day or month named without a year (its year was guessed)

    def shifted(self, years: int) -> Window | None:
        """The same days in another year (None for 29 February in a common year)."""
        try:
            return Window(self.first.replace(year=self.first.year + years),
                          self.last.replace(year=self.last.year + years), self.phrase, self.yearless)
        except ValueError:
            return None

    def contains(self, iso: str) -> bool:
        return bool(iso) and self.first.isoformat() <= iso[:10] <= self.last.isoformat()

    def overlaps(self, first: str, last: str) -> bool:
        return bool(first) and first[:10] <= self.last.isoformat() and last[:10] >= self.first.isoformat()

    def describe(self, lang: str = "en") -> str:
        return format_range(self.first, self.last, lang)

    def as_dict(self) -> dict:
        return {"first": self.first.isoformat(), "last": self.last.isoformat(), "phrase": self.phrase}


@dataclass(frozen=True)
class QuestionTime:
    today: Date
    window: Window | None = None
    latest: bool = False
    stated_today: bool = False  # the question said what day it is


# -- small vocabularies (folded: lowercase, no accents) -------------------------------------------

NUMBERS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
           "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fourteen": 14, "fifteen": 15,
           "twenty": 20, "thirty": 30, "un": 1, "una": 1, "uno": 1, "dos": 2, "tres": 3, "cuatro": 4,
           "cinco": 5, "seis": 6, "siete": 7, "ocho": 8, "nueve": 9, "diez": 10, "once": 11, "doce": 12,
           "catorce": 14, "quince": 15, "veinte": 20, "treinta": 30, "a couple of": 2, "a few": 3,
           "unos": 3, "unas": 3, "several": 3, "varios": 3, "varias": 3}
_NUM = r"(?P<n>\d{1,3}|" + "|".join(sorted((re.escape(k) for k in NUMBERS), key=len, reverse=True)) + ")"
# full month names only (an abbreviation such as "mar" or "may" is too often a word in a question)
_FULL_MONTHS = [m for m in MONTHS if len(m) > 4 or m in {"june", "july", "junio", "julio", "mayo", "enero", "marzo", "abril", "may"}]
_M = "(?P<{g}>" + "|".join(sorted(_FULL_MONTHS, key=len, reverse=True)) + ")"
_WEEKDAY = "(?P<wd>" + "|".join(sorted((w for w in WEEKDAYS if len(w) > 3), key=len, reverse=True)) + ")"
_Y = r"(?P<{g}>(?:19|20)\d\d)"
_D = r"(?P<{g}>[0-3]?\d)(?:st|nd|rd|th|º|°)?"

# a date: "23 de enero de 2026", "23 January 2026", "January 23, 2026", "January 23rd", "2026-01-23", "23/01/2026"
def _date(i: str) -> str:
    return (r"(?:" + _D.format(g=f"d{i}") + r"(?:\s+de)?\s+" + _M.format(g=f"m{i}")
            + r"(?:,?\s+(?:de(?:l)?\s+)?" + _Y.format(g=f"y{i}") + r")?"
            + r"|" + _M.format(g=f"n{i}") + r"\s+" + _D.format(g=f"e{i}") + r"(?:,?\s+" + _Y.format(g=f"z{i}") + r")?"
            + r"|(?P<iso{i}>(?:19|20)\d\d-[01]\d-[0-3]\d)"
            + r"|(?P<num{i}>[0-3]?\d/[01]?\d/(?:19|20)\d\d))").replace("{i}", i)


def _day_of(m: re.Match, i: str, today: Date, *, month: int | None = None, year: int | None = None,
            future_weight: float = 2.0) -> Date | None:
    """The date of group set i of a match; a day alone takes `month`/`year` (from the other end
    of a range), and a missing year the nearest one."""
    g = m.groupdict()
    if g.get(f"iso{i}"):
        return _valid(*map(int, g[f"iso{i}"].split("-")))
    if g.get(f"num{i}"):
        d, mo, y = map(int, g[f"num{i}"].split("/"))
        return _valid(y, mo, d)
    day = g.get(f"d{i}") or g.get(f"e{i}")
    name = g.get(f"m{i}") or g.get(f"n{i}")
    y = g.get(f"y{i}") or g.get(f"z{i}")
    if day is None:
        return None
    mo = MONTHS[name] if name else month
    if mo is None:
        return None
    if y:
        return _valid(int(y), mo, int(day))
    if year is not None:
        return _valid(year, mo, int(day))
    return nearest_year(mo, int(day), today, future_weight=future_weight)


def _valid(y: int, m: int, d: int) -> Date | None:
    try:
        return Date(y, m, d)
    except ValueError:
        return None


def _n(m: re.Match) -> int:
    raw = m.group("n")
    return int(raw) if raw.isdigit() else NUMBERS[raw]


def _week(d: Date) -> tuple[Date, Date]:
    monday = d - dt.timedelta(days=d.weekday())
    return monday, monday + dt.timedelta(days=6)


def _month_of(year: int, month: int) -> tuple[Date, Date]:
    return month_range(year, month)


def _add_months(d: Date, months: int) -> tuple[int, int]:
    total = d.year * 12 + d.month - 1 + months
    return total // 12, total % 12 + 1


def _nearest_month(month: int, today: Date) -> tuple[Date, Date]:
    """The month in the year that puts it nearest to today (a future one counting double)."""
    best, cost = None, None
    for y in (today.year - 1, today.year, today.year + 1):
        first, last = month_range(y, month)
        if first <= today <= last:
            return first, last
        c = (first - today).days * 2 if first > today else (today - last).days
        if cost is None or c < cost:
            best, cost = (first, last), c
    return best


def _past_weekday(wd: int, today: Date, *, strictly: bool) -> Date:
    back = (today.weekday() - wd) % 7
    if back == 0 and strictly:
        back = 7
    return today - dt.timedelta(days=back)


# -- the table: (pattern on the folded question, window) --------------------------------------------
# Ordered: ranges and explicit dates before the relative words they contain.

Rule = tuple[tuple[re.Pattern, ...], Callable[[re.Match, Date], "tuple[Date, Date] | None"]]


def _range(m: re.Match, today: Date):
    last = _day_of(m, "2", today)
    if last is None:
        return None
    first = _day_of(m, "1", today, month=last.month, year=last.year) if (m.group("d1") or m.group("e1") or
                                                                         m.group("iso1") or m.group("num1")) else None
    if first is None:
        day = m.groupdict().get("only1")
        first = _valid(last.year, last.month, int(day)) if day else None
    if first is None:
        return None
    if first > last:  # "from 28 December to 3 January": the first day is in the year before
        first = _valid(first.year - 1, first.month, first.day) or first
    return first, last


def _since(m, today):
    first = _day_of(m, "1", today)
    return (first, today) if first and first <= today else None


def _single(m, today):
    d = _day_of(m, "1", today)
    return (d, d) if d else None


def _month(m, today):
    month = MONTHS[m.group("m1")]
    if m.group("y1"):
        return _month_of(int(m.group("y1")), month)
    return _nearest_month(month, today)


def _day_alone(m, today):
    """"on the 23rd", "el día 23": that day of this month, or of last month when still ahead."""
    day = int(m.group("d1"))
    d = _valid(today.year, today.month, day)
    if d is None or d > today:
        y, mo = _add_months(today, -1)
        d = _valid(y, mo, day)
    return (d, d) if d else None


def _ago(unit: str):
    def window(m, today):
        n = _n(m)
        if unit == "day":
            d = today - dt.timedelta(days=n)
            return d, d
        if unit == "week":
            return _week(today - dt.timedelta(days=7 * n))
        if unit == "month":
            return _month_of(*_add_months(today, -n))
        return Date(today.year - n, 1, 1), Date(today.year - n, 12, 31)
    return window


def _last_n(unit: str):
    def window(m, today):
        n = _n(m) if m.groupdict().get("n") else 7
        days = {"day": 1, "week": 7, "month": 30}[unit] * n
        return today - dt.timedelta(days=days), today
    return window


def _weekday(kind: str):
    def window(m, today):
        wd = WEEKDAYS[m.group("wd")]
        if kind == "last":
            d = _past_weekday(wd, today, strictly=True)
        elif kind == "this":
            d = _week(today)[0] + dt.timedelta(days=wd)
        elif kind == "next":
            d = today + dt.timedelta(days=(wd - today.weekday() - 1) % 7 + 1)
        else:  # "on Thursday": the latest one, today included
            d = _past_weekday(wd, today, strictly=False)
        return d, d
    return window


def _fixed(fn: Callable[[Date], tuple[Date, Date]]):
    return lambda m, today: fn(today)


def _days(n: int):
    return _fixed(lambda t: (t + dt.timedelta(days=n),) * 2)


def _this_week(t):
    return _week(t)


def _weeks(k: int):
    return _fixed(lambda t: _week(t + dt.timedelta(days=7 * k)))


def _weekend(k: int):
    def fn(t):
        monday = _week(t)[0] + dt.timedelta(days=7 * k)
        return monday + dt.timedelta(days=5), monday + dt.timedelta(days=6)
    return _fixed(fn)


def _months(k: int):
    return _fixed(lambda t: _month_of(*_add_months(t, k)))


def _years(k: int):
    return _fixed(lambda t: (Date(t.year + k, 1, 1), Date(t.year + k, 12, 31)))


def _year(m, today):
    y = int(m.group("y1"))
    return Date(y, 1, 1), Date(y, 12, 31)


def _r(*alternatives: str) -> tuple[re.Pattern, ...]:
    """One pattern per alternative (alternatives may name the same groups), matched as whole words."""
    return tuple(re.compile(r"(?<![\w-])(?:" + p + r")(?![\w-])") for p in alternatives)


_RANGE_HEAD = r"(?:between|from|entre(?:\s+el)?|del|desde(?:\s+el)?)\s+(?:the\s+)?"
_RANGE_JOIN = r"\s*(?:and|to|until|through|till|y(?:\s+el)?|al|hasta(?:\s+el)?|-|–)\s*(?:the\s+)?"
_PAST = r"(?:last|past|previous|pasad[oa]|anterior)"
RULES: list[Rule] = [
    # ranges: "between 2 and 8 March", "del 2 al 8 de marzo", "from January 10 to January 14"
    (_r(_RANGE_HEAD + r"(?:" + _date("1") + r"|(?P<only1>[0-3]?\d)(?:st|nd|rd|th)?)" + _RANGE_JOIN + _date("2")), _range),
    (_r(r"(?:since|desde(?:\s+el)?)\s+(?:the\s+)?" + _date("1")), _since),
    # one day
    (_r(_date("1")), _single),
    # months and years: "in January", "en enero de 2026", "January 2026"
    # ("de febrero" / "of February" alone is left out: "la reunión de febrero" names a meeting, not the
    # period the question asks about)
    (_r(r"(?:in|during|for|since|throughout|en|durante|desde|a\s+(?:principios|finales|mediados)\s+de"
        r"|early|late|mid)\s+(?:el\s+mes\s+de\s+)?" + _M.format(g="m1") + r"(?:,?\s+(?:de(?:l)?\s+)?" + _Y.format(g="y1") + r")?"), _month),
    (_r(_M.format(g="m1") + r",?\s+(?:de(?:l)?\s+)?" + _Y.format(g="y1")), _month),
    (_r(r"(?:on\s+)?the\s+(?P<d1>[0-3]?\d)(?:st|nd|rd|th)"), _day_alone),
    (_r(r"el\s+dia\s+(?P<d1>[0-3]?\d)"), _day_alone),
    # relative days
    (_r(r"the\s+day\s+before\s+yesterday|anteayer|antier|antes\s+de\s+ayer"), _days(-2)),
    (_r(r"pasado\s+manana|the\s+day\s+after\s+tomorrow"), _days(2)),
    (_r(r"yesterday|ayer|last\s+night|anoche"), _days(-1)),
    (_r(r"tomorrow"), _days(1)),
    (_r(r"today|tonight|this\s+(?:morning|afternoon|evening)|hoy|esta\s+(?:manana|tarde|noche)"), _days(0)),
    (_r(r"(?<!esta\s)(?<!la\s)(?<!por\s)(?<!de\s)manana(?!\s+(?:de|por))"), _days(1)),
    (_r(_NUM + r"\s+days?\s+ago", r"hace\s+" + _NUM + r"\s+dias?"), _ago("day")),
    (_r(_NUM + r"\s+weeks?\s+ago", r"hace\s+" + _NUM + r"\s+semanas?"), _ago("week")),
    (_r(_NUM + r"\s+months?\s+ago", r"hace\s+" + _NUM + r"\s+mes(?:es)?"), _ago("month")),
    (_r(_NUM + r"\s+years?\s+ago", r"hace\s+" + _NUM + r"\s+anos?"), _ago("year")),
    # "in the last 3 days", "en los últimos 10 días", "the past two weeks", "past week"
    (_r(r"(?:in\s+)?(?:the\s+)?(?:last|past)\s+" + _NUM + r"\s+days", r"(?:en\s+)?(?:los\s+)?ultimos\s+" + _NUM + r"\s+dias"), _last_n("day")),
    (_r(r"(?:in\s+)?(?:the\s+)?(?:last|past)\s+" + _NUM + r"\s+weeks", r"(?:en\s+)?(?:las\s+)?ultimas\s+" + _NUM + r"\s+semanas"), _last_n("week")),
    (_r(r"(?:in\s+)?(?:the\s+)?(?:last|past)\s+" + _NUM + r"\s+months", r"(?:en\s+)?(?:los\s+)?ultimos\s+" + _NUM + r"\s+meses"), _last_n("month")),
    (_r(r"(?:in\s+)?(?:the\s+)?past\s+(?:seven\s+days|week)|(?:en\s+)?(?:los\s+)?ultimos\s+(?:siete\s+)?dias|"
        r"in\s+recent\s+days|these\s+days|recently|lately|recientemente|(?:en\s+)?(?:los\s+)?dias\s+recientes"), _last_n("day")),
    # weekends before weeks ("last weekend" is not "last week")
    (_r(r"(?:this|este)\s+(?:weekend|fin\s+de\s+semana)"), _weekend(0)),
    (_r(r"(?:last|past|previous)\s+weekend|(?:el\s+)?fin\s+de\s+semana\s+" + _PAST + r"|(?:el\s+)?pasado\s+fin\s+de\s+semana"), _weekend(-1)),
    (_r(r"next\s+weekend|(?:el\s+)?(?:proximo\s+fin\s+de\s+semana|fin\s+de\s+semana\s+(?:que\s+viene|proximo))"), _weekend(1)),
    # weekdays: "last Thursday", "el jueves pasado", "el pasado jueves", "this Thursday", "on Thursday"
    (_r(r"(?:last|past|previous)\s+" + _WEEKDAY), _weekday("last")),
    (_r(r"(?:el\s+)?" + _WEEKDAY + r"\s+" + _PAST), _weekday("last")),
    (_r(r"(?:el\s+)?pasado\s+" + _WEEKDAY), _weekday("last")),
    (_r(r"next\s+" + _WEEKDAY), _weekday("next")),
    (_r(r"(?:el\s+)?proximo\s+" + _WEEKDAY), _weekday("next")),
    (_r(r"(?:el\s+)?" + _WEEKDAY + r"\s+(?:que\s+viene|proximo)"), _weekday("next")),
    (_r(r"(?:this|este)\s+" + _WEEKDAY), _weekday("this")),
    (_r(r"(?:on\s+|el\s+)" + _WEEKDAY), _weekday("on")),
    # weeks, months, years
    (_r(r"earlier\s+this\s+week|(?:a\s+)?principios\s+de\s+(?:esta|la)\s+semana|en\s+lo\s+que\s+va\s+de\s+(?:la\s+)?semana"),
     _fixed(lambda t: (_week(t)[0], t))),
    (_r(r"this\s+week|esta\s+semana"), _fixed(_this_week)),
    (_r(r"(?:last|previous)\s+week|the\s+week\s+before|(?:la\s+)?semana\s+" + _PAST + r"|(?:la\s+)?pasada\s+semana"), _weeks(-1)),
    (_r(r"next\s+week|(?:la\s+)?(?:proxima\s+semana|semana\s+(?:que\s+viene|proxima|entrante))"), _weeks(1)),
    (_r(r"this\s+month|este\s+mes|en\s+lo\s+que\s+va\s+del\s+mes"), _months(0)),
    (_r(r"(?:last|previous|past)\s+month|(?:el\s+)?mes\s+" + _PAST + r"|(?:el\s+)?pasado\s+mes"), _months(-1)),
    (_r(r"next\s+month|(?:el\s+)?(?:proximo\s+mes|mes\s+(?:que\s+viene|proximo|entrante))"), _months(1)),
    (_r(r"this\s+year|este\s+ano|en\s+lo\s+que\s+va\s+del\s+ano"), _years(0)),
    (_r(r"(?:last|previous|past)\s+year|(?:el\s+)?ano\s+" + _PAST + r"|(?:el\s+)?pasado\s+ano"), _years(-1)),
    (_r(r"(?:in|during|since|en|durante|desde)\s+(?:el\s+(?:ano\s+)?)?" + _Y.format(g="y1")), _year),
]


_NAMED = {_range, _since, _single, _month}  # rules for days and months named by their names


# "Hoy es 18 de enero de 2026", "today is January 18, 2026", "estamos a 18 de enero", "as of 2026-01-18"
_TODAY_IS = _r(r"(?:today\s+is|it\s+is\s+now|as\s+of|hoy\s+es|estamos\s+a|a\s+fecha\s+de|fecha\s+de\s+hoy:?)\s+"
               r"(?:(?:el\s+)?(?:" + "|".join(w for w in WEEKDAYS if len(w) > 3) + r")\s*,?\s+)?" + _date("1"))

# "what is the latest", "most recent", "lo más reciente", "¿cómo va...?"
_LATEST = _r(r"latest|most\s+recent|newest|recent\s+news|what'?s\s+new|whats\s+new|any\s+news|news\s+on|"
             r"update\s+on|updates\s+on|current\s+(?:status|state)|where\s+(?:do|does)\s+.{1,60}\s+stand|"
             r"how\s+(?:is|are)\s+.{1,60}\s+going|so\s+far|as\s+of\s+now|right\s+now|currently|at\s+the\s+moment|"
             r"the\s+last\s+(?!(?:\d|few|couple|time|one|two|three|days?|weeks?|months?|years?|night|weekend)\b)\w+|"
             r"lo\s+mas\s+reciente|mas\s+recientes?|lo\s+ultimo|ultimas?\s+noticias?|ultima\s+hora|novedades|"
             r"(?:la|el|las|los)\s+ultim[oa]s?|como\s+(?:va|van|sigue|siguen|esta|estan)|en\s+que\s+(?:va|van|quedo|quedaron|esta|estan)|"
             r"que\s+se\s+sabe|actualmente|hasta\s+ahora|a\s+la\s+fecha|por\s+ahora|ahora\s+mismo")


def resolve(expression: str, today: Date) -> Window | None:
    """The window of the first date expression in `expression`, against `today`."""
    folded = fold(expression)
    found = None
    for patterns, fn in RULES:
        for pattern in patterns:
            for m in pattern.finditer(folded):
                got = fn(m, today)
                if got is not None and got[0] is not None and got[1] is not None:
                    phrase = m.group().strip()
                    yearless = fn in _NAMED and not re.search(r"(?:19|20)\d\d", phrase)
                    return Window(got[0], got[1], phrase=phrase, yearless=yearless)
    return found


# "Mercados Hoy", "USA Today": a capitalised day word after another capitalised word is part of a
# name (an outlet), not the day the question asks about
_NAMED_DAY = re.compile(r"(\b[A-ZÁÉÍÓÚÑ][\w'’.]+ )(?:Hoy|Today|Ayer|Yesterday|Mañana|Tomorrow)\b")


def read_question(question: str, today: Date | None = None) -> QuestionTime:
    """The day the question is asked (stated in it, or `today`, or the real date), the window it
    asks about (None when it names no date) and whether it asks for the latest news."""
    today = today or Date.today()
    folded = fold(_NAMED_DAY.sub(r"\1", question))
    stated = False
    m = _TODAY_IS[0].search(folded)
    if m:
        d = _day_of(m, "1", today, future_weight=1000)  # "today is 11 February": the last one
        if d is not None:
            today, stated = d, True
            folded = folded[:m.start()] + " " + folded[m.end():]
    window = resolve(folded, today)
    latest = bool(_LATEST[0].search(folded))
    return QuestionTime(today=today, window=window, latest=latest, stated_today=stated)


def parse_today(value: str | None) -> Date | None:
    """A --today / `today` value (YYYY-MM-DD), or None when empty; ValueError when malformed."""
    if not value:
        return None
    try:
        return Date.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"not a date (YYYY-MM-DD): {value!r}") from None
