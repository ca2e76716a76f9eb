"""Answers as text for a terminal."""

from __future__ import annotations

import textwrap

from .answering import Answer, quoted


def source_line(title: str, published: str, source: str) -> str:
    parts = [title or "(untitled)"]
    if published:
        parts.append(published)
    if source:
        parts.append(source)
    return " — ".join(parts)


def render_terminal(answer: Answer, width: int = 88) -> str:
    lines = []
    if answer.abstained:
        lines.append(answer.answer)
        return "\n".join(lines)
    if getattr(answer, "heading", ""):
        lines += textwrap.wrap(answer.heading, width) + [""]
    if answer.mode != "extractive":
        lines += textwrap.wrap(answer.answer, width) + [""]
    for c in answer.citations:
        lines += textwrap.wrap(f"[{c.n}] {quoted(c.quote)}", width, subsequent_indent="    ")
    for d in getattr(answer, "disagreements", []):
        lines += [""] + textwrap.wrap(d["summary"], width)
    if answer.note:
        lines += ["", f"({answer.note})"]
    lines += ["", "Sources:"]
    seen = set()
    for c in answer.citations:
        if c.n not in seen:
            seen.add(c.n)
            lines.append(f"  [{c.n}] {source_line(c.title, c.published, c.source)}")
            lines += also_lines(getattr(c, "also_reported_by", []))
    return "\n".join(lines)


def also_lines(copies: list[dict], indent: str = "       ") -> list[str]:
    """"also reported by: outlet, outlet" and each copy's date and link."""
    if not copies:
        return []
    names = ", ".join(dict.fromkeys(x["outlet"] for x in copies))
    return [f"{indent}also reported by: {names}"] + [
        f"{indent}  {x['outlet']}: {' — '.join(p for p in (x['published'], x['source']) if p)}" for x in copies]
