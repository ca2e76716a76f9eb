"""Who published an article and who wrote it: outlet, author (byline) and wire agency.

The outlet comes from the loader's metadata (the `.jsonl` `source`, the page's site name) or the
URL's site; the author from metadata or a byline line ("By Jane Doe", "Por Ana Ruiz"); the agency
from a dateline or credit in the text ("(EFE)", "(AP) —", "Europa Press", "Additional reporting
by Reuters"). The agencies are the world's wire services, a fixed list, not a list of outlets.
"""

from __future__ import annotations

import re
from urllib.parse import urlparse

from .text import fold

# Wire agencies as they are written in datelines and credits -> the name shown.
AGENCIES = {
    "efe": "EFE", "agencia efe": "EFE", "ap": "AP", "associated press": "AP", "the associated press": "AP",
    "afp": "AFP", "agence france-presse": "AFP", "agence france presse": "AFP", "reuters": "Reuters",
    "thomson reuters": "Reuters", "europa press": "Europa Press", "notimex": "Notimex", "dpa": "dpa",
    "ansa": "ANSA", "xinhua": "Xinhua", "bloomberg": "Bloomberg", "upi": "UPI", "kyodo": "Kyodo",
    "yonhap": "Yonhap", "télam": "Télam", "telam": "Télam", "prensa latina": "Prensa Latina",
    "anadolu": "Anadolu", "sputnik": "Sputnik", "tass": "TASS", "lusa": "Lusa", "apa": "APA",
    "servimedia": "Servimedia", "colpisa": "Colpisa", "ips": "IPS", "ansa latina": "ANSA",
    "agencia brasil": "Agência Brasil", "agência brasil": "Agência Brasil", "andina": "Andina",
}
_AGENCY_ALT = "|".join(sorted((re.escape(k) for k in AGENCIES), key=len, reverse=True))
# "(EFE)", "(AP) —", "14 ene (EFE).-", "(Europa Press)"
_IN_PARENS = re.compile(rf"\((?:[^()\n]{{0,30}}?[,/] ?)?({_AGENCY_ALT})\)", re.I)
# "Additional reporting by Reuters", "Con información de EFE", "By Tom Reyes, AP", "Redacción / EFE"
_CREDIT = re.compile(
    rf"(?:reporting by|additional reporting by|con información de|información de|fuente:|source:|"
    rf"redacción\s*/|staff\s*/|,|/|por|by)\s*(?:la agencia |the )?({_AGENCY_ALT})\b\.?\s*$", re.I)
_BYLINE = re.compile(r"^\s*(?:by|por|written by|escrito por|texto:|text:)\s+(.{3,80}?)\s*$", re.I)
_GENERIC_AUTHORS = {"redaccion", "redaccion web", "staff", "newsroom", "agencias", "agencies", "wire",
                    "editorial", "el universal", "la redaccion"}


def agency_name(text: str) -> str:
    """The agency's usual name for a spelling of it ("Agence France-Presse" -> "AFP"), or ""."""
    return AGENCIES.get(" ".join(fold(text).split()), "")


def agencies_in(text: str, head_chars: int = 1500) -> list[str]:
    """Wire agencies the article credits: in datelines "(EFE)" anywhere in its first paragraphs,
    and in credit/byline lines ("Additional reporting by Reuters", "By Tom Reyes, AP")."""
    found: list[str] = []
    for m in _IN_PARENS.finditer(text[:head_chars]):
        found.append(AGENCIES[" ".join(fold(m.group(1)).split())])
    for line in text.split("\n"):
        line = line.strip()
        if not line or len(line.split()) > 12:
            continue
        m = _CREDIT.search(line)
        if m and not re.search(r"\b(?:photo|foto|imagen|image|picture)\b", line, re.I):
            found.append(AGENCIES[" ".join(fold(m.group(1)).split())])
    return list(dict.fromkeys(found))


def byline_author(text: str) -> str:
    """The author named by a byline line near the top or bottom ("By Jane Doe", "Por Ana Ruiz")."""
    lines = [ln.strip() for ln in text.split("\n") if ln.strip()]
    for line in lines[:8] + lines[-4:]:
        m = _BYLINE.match(line)
        if not m or len(line.split()) > 10 or line.endswith((".", "?", "!")) and not line.endswith(" Jr."):
            continue
        name = re.split(r"\s*[,/|·]\s*|\s+(?:and|y|for|para)\s+(?=[A-Z])", m.group(1))[0].strip()
        if agency_name(name) or fold(name) in _GENERIC_AUTHORS or not name[:1].isupper():
            continue
        return name
    return ""


_CONNECTORS = {"de", "del", "la", "el", "los", "las", "the", "of", "y", "and", "en", "&"}


_FURNITURE = {"share", "comparte", "compartir", "facebook", "twitter", "whatsapp", "linkedin", "email",
              "subscribe", "suscribete", "home", "portada", "inicio", "menu", "newsletter", "privacy",
              "privacidad", "related", "publicidad", "advertisement", "foto", "photo", "by", "por"}


def masthead(text: str) -> str:
    """An outlet's name heading a navigation line of a scraped page ("Diario del Sur · Economía",
    "The Southern Ledger | Europe | Share"), near the top or the bottom of the text."""
    lines = [ln.strip() for ln in text.split("\n") if ln.strip()]
    for line in lines[:5] + lines[-3:]:
        parts = [p.strip() for p in re.split(r"\s[·|•]\s", line)]
        if len(parts) < 2 or not all(0 < len(p.split()) <= 5 for p in parts):
            continue
        words = parts[0].split()
        if any(ch in parts[0] for ch in ":@#©") or any(fold(w) in _FURNITURE for w in words):
            continue
        if 2 <= len(words) <= 5 and words[0][:1].isupper() and all(
                w[:1].isupper() or w.lower() in _CONNECTORS for w in words):
            return parts[0]
    return ""


def site_of(url: str) -> str:
    """The site of a URL without "www." ("https://www.reuters.com/x" -> "reuters.com"), or ""."""
    if not url.startswith(("http://", "https://")):
        return ""
    host = (urlparse(url).hostname or "").lower()
    return host[4:] if host.startswith("www.") else host


def describe(*, text: str, url: str = "", outlet: str = "", author: str = "") -> dict[str, str]:
    """outlet, author and agency of an article from what its loader knew and its text."""
    agencies = agencies_in(text)
    if author and agency_name(author):  # a feed's "author": "EFE"
        agencies = list(dict.fromkeys([agency_name(author)] + agencies))
        author = ""
    if not author:
        author = byline_author(text)
    outlet = " ".join((outlet or "").split())
    if outlet.startswith(("http://", "https://")):
        outlet = site_of(outlet)
    if not outlet:
        outlet = site_of(url) or masthead(text)
    return {"outlet": outlet[:120], "author": author[:120], "agency": ", ".join(agencies)[:120]}
