"""Answers as text for a terminal."""

from __future__ import annotations

import textwrap
from datetime import date

from index.text import guess_language

from .answering import Answer, Citation, quoted

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def short_date(published: str) -> str:
    """"2026-01-16..." -> "16 Jan 2026"; anything else as it is."""
    try:
        d = date.fromisoformat(published[:10])
    except (ValueError, TypeError):
        return published or ""
    return f"{d.day} {MONTHS[d.month - 1]} {d.year}"


def attribution(c: Citation) -> str:
    """Who says it: "Reuters, 16 Jan 2026", "La Gaceta Austral (EFE), 14 Jan 2026",
    "The Harbour Times, Jane Doe, 20 Jan 2026"; the agency stands in for an unknown outlet."""
    who = c.outlet or c.agency
    if c.outlet and c.agency and c.agency.lower() not in c.outlet.lower():
        who = f"{c.outlet} ({c.agency})"
    parts = [p for p in (who, c.author if c.author and c.author not in who else "", short_date(c.published)) if p]
    return ", ".join(parts)


def not_stated_line(answer: Answer) -> str:
    """The reason of a "not stated" answer: its text before the context quote."""
    if answer.citations:
        cut = answer.answer.find(quoted(answer.citations[0].quote))
        if cut > 0:
            return answer.answer[:cut].strip()
    return answer.answer


def source_line(title: str, published: str, source: str, who: str = "") -> str:
    parts = [title or "(untitled)"]
    if who:
        parts.append(who)
    elif published:
        parts.append(published)
    if source:
        parts.append(source)
    return " — ".join(parts)


def render_terminal(answer: Answer, width: int = 88) -> str:
    lines = []
    if answer.abstained and not answer.citations:
        lines.append(answer.answer)
        return "\n".join(lines)
    if answer.abstained:  # "not stated": the reason, then the closest quote as context
        closest = "Lo más cercano:" if guess_language(answer.question) == "es" else "Closest:"
        lines += textwrap.wrap(not_stated_line(answer), width) + ["", closest]
    if getattr(answer, "heading", ""):
        lines += textwrap.wrap(answer.heading, width) + [""]
    if answer.mode != "extractive" and not answer.abstained:
        lines += textwrap.wrap(answer.answer, width) + [""]
    for c in answer.citations:
        who = attribution(c)
        lines += textwrap.wrap(f"[{c.n}] {quoted(c.quote)}" + (f" — {who}" if who else ""), width,
                               subsequent_indent="    ")
    for d in getattr(answer, "disagreements", []):
        lines += [""] + textwrap.wrap(d["summary"], width)
    if answer.note and not answer.abstained:
        lines += ["", f"({answer.note})"]
    lines += ["", "Sources:"]
    seen = set()
    for c in answer.citations:
        if c.n not in seen:
            seen.add(c.n)
            lines.append(f"  [{c.n}] {source_line(c.title, c.published, c.source, attribution(c))}")
            lines += also_lines(getattr(c, "also_reported_by", []))
    return "\n".join(lines)


def also_lines(copies: list[dict], indent: str = "       ") -> list[str]:
    """"also reported by: outlet, outlet" and each copy's date and link."""
    if not copies:
        return []
    names = ", ".join(dict.fromkeys(x["outlet"] for x in copies))
    return [f"{indent}also reported by: {names}"] + [
        f"{indent}  {x['outlet']}: {' — '.join(p for p in (x['published'], x['source']) if p)}" for x in copies]
