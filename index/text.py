"""Plain-text basics shared by indexing and answering: sentence spans, words, accent folding,
stop words, language guessing and sentence ids. Every package uses these instead of its own copy.

Sentences are returned as (start, end) character offsets into the text they came from, so a
quote is always an exact slice of the article.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections import Counter

WORD = re.compile(r"\w+", re.UNICODE)  # a word, for every purpose but chunk sizes (chunking counts punctuation too)

# A sentence ends at . ! ? … (optionally followed by closing quotes/brackets) and whitespace,
# or at a blank line. Abbreviations and initials ("EE. UU.", "Sr.", "U.S.") are not ends.
_END = re.compile(r"""[.!?…]+["'”’»)\]]*(?=\s)|\n\s*\n""")
_ABBREV = {
    "sr", "sra", "srta", "dr", "dra", "lic", "ing", "mr", "mrs", "ms", "prof", "gen", "gob",
    "ee", "uu", "e.u", "u.s", "st", "jr", "no", "núm", "art", "etc", "vs", "p.ej", "e.g", "i.e",
    "jan", "feb", "mar", "apr", "aug", "sep", "sept", "oct", "nov", "dec", "ene", "abr", "ago",
    "dic", "inc", "ltd", "co", "corp", "av", "ud", "uds", "pág", "cap",
}


def _is_abbreviation(text: str, dot: int) -> bool:
    if text[dot] != ".":
        return False
    start = dot
    while start > 0 and (text[start - 1].isalpha() or text[start - 1] == "."):
        start -= 1
    word = text[start:dot].lower()
    if not word:
        return False
    # Known abbreviations, and single initials ("J. R. Tolkien", "U.S.").
    return word in _ABBREV or len(word.replace(".", "")) == 1


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """(start, end) offsets of the sentences of text[start:end], whitespace trimmed."""
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    cursor = start
    for m in _END.finditer(text, start, end):
        if m.group().startswith(".") and len(m.group()) == 1 and _is_abbreviation(text, m.start()):
            continue
        # the next non-space character must not be lowercase (e.g. "3.5 millones", "etc. y")
        nxt = m.end()
        while nxt < end and text[nxt].isspace():
            nxt += 1
        if nxt < end and text[nxt].islower() and "\n" not in text[m.end():nxt]:
            continue
        _append(text, spans, cursor, m.end())
        cursor = m.end()
    _append(text, spans, cursor, end)
    return _merge_fragments(text, spans)


def _merge_fragments(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Join fragments that are not sentences of their own to the sentence before them: an
    attribution line ("— Bureau of ... January 16, 2026") or a few words (< 4)."""
    out: list[tuple[int, int]] = []
    for a, b in spans:
        piece = text[a:b]
        fragment = piece[0] in "—–-" or len(piece.split()) < 4
        if out and fragment and "\n\n" not in text[out[-1][1]:a]:
            out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out


def _append(text: str, spans: list[tuple[int, int]], a: int, b: int) -> None:
    while a < b and text[a].isspace():
        a += 1
    while b > a and text[b - 1].isspace():
        b -= 1
    if b > a and any(ch.isalnum() for ch in text[a:b]):
        spans.append((a, b))


# The commonest words of each language, counted to tell the languages apart (guess_language).
# They are not a list to filter words with: that is stop_words() below.
_MARKERS = {
    "es": {"el", "la", "los", "las", "de", "del", "que", "y", "en", "un", "una", "por", "con",
           "para", "se", "su", "al", "es", "lo", "como", "más", "pero", "sus", "le", "ya", "o",
           "fue", "este", "ha", "sí", "porque", "esta", "son", "entre", "cuando", "muy", "sin",
           "sobre", "también", "me", "hasta", "hay", "donde", "quien", "desde", "todo", "nos",
           "qué", "cuál", "cuándo", "cómo", "dónde", "quién", "cuántos", "cuántas"},
    "en": {"the", "of", "and", "to", "in", "a", "is", "that", "for", "it", "as", "was", "with",
           "be", "by", "on", "not", "he", "this", "are", "or", "his", "from", "at", "which", "but",
           "have", "an", "had", "they", "you", "were", "their", "one", "all", "we", "can", "her",
           "has", "there", "been", "if", "more", "when", "will", "would", "who", "so", "no",
           "what", "did", "does", "do", "how", "where", "why"},
    "pt": {"o", "os", "as", "do", "da", "dos", "das", "não", "em", "um", "uma", "com", "para",
           "que", "é", "foi", "ao", "mais", "pelo", "pela", "também", "você"},
    "fr": {"le", "les", "des", "du", "et", "est", "une", "un", "dans", "pour", "que", "qui",
           "pas", "sur", "avec", "il", "elle", "au", "aux", "ce", "cette"},
    "de": {"der", "die", "das", "und", "ist", "nicht", "ein", "eine", "zu", "mit", "den", "dem",
           "von", "auf", "für", "sich", "auch", "wie", "wurde"},
}


def guess_language(text: str) -> str:
    """A two-letter language code from stop-word counts ("und" when unsure)."""
    words = [w.lower() for w in WORD.findall(text[:20000])]
    if not words:
        return "und"
    counts = Counter(words)
    scores = {lang: sum(counts[m] for m in markers) for lang, markers in _MARKERS.items()}
    lang, best = max(scores.items(), key=lambda kv: kv[1])
    if best == 0 or best < 0.05 * len(words) and len(words) > 8:
        return "und"
    return lang


_NON_ASCII = re.compile(r"[^\x00-\x7f]+")


def _drop_combining(match: re.Match) -> str:
    return "".join(ch for ch in match.group() if not unicodedata.combining(ch))


def fold(text: str) -> str:
    """Lowercase without accents, for lexical matching across spelling variants."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    # combining marks are never ASCII: only the non-ASCII runs are looked at character by
    # character (the same result in much less time; the lexical index folds every chunk)
    return _NON_ASCII.sub(_drop_combining, decomposed)


def words(text: str) -> list[str]:
    """The accent-folded, lowercase words of text."""
    return WORD.findall(fold(text))


# bm25s's stop-word lists of the languages Cita filters (English also has a longer list).
_STOP_LISTS = {"en": "STOPWORDS_EN", "es": "STOPWORDS_SPANISH", "pt": "STOPWORDS_PORTUGUESE",
               "fr": "STOPWORDS_FRENCH", "de": "STOPWORDS_GERMAN", "it": "STOPWORDS_ITALIAN"}


@functools.cache
def stop_words(language: str | None = None, *, long_english: bool = False) -> frozenset[str]:
    """Accent-folded stop words of one language (a code of _STOP_LISTS), or of all of them when
    language is None; long_english adds bm25s's longer English list. Lexical search drops the
    short lists' words; the LLM checks drop the long ones' too, as content words go."""
    from bm25s import stopwords as lists

    names = [_STOP_LISTS[language]] if language else list(_STOP_LISTS.values())
    if long_english and language in (None, "en"):
        names.append("STOPWORDS_EN_PLUS")
    return frozenset(fold(w) for name in names for w in getattr(lists, name, ()))


def sentence_id(article_id: str, start: int, end: int) -> str:
    """The id of a sentence row in the index: `article:start:end` (character offsets into the
    article's text). Article ids may contain colons; the offsets never do."""
    return f"{article_id}:{start}:{end}"


def parse_sentence_id(sid: str) -> tuple[str, int, int]:
    """(article id, start, end) of a sentence_id()."""
    article_id, start, end = sid.rsplit(":", 2)
    return article_id, int(start), int(end)
