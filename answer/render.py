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
    if answer.mode != "extractive":
        lines += textwrap.wrap(answer.answer, width) + [""]
    for c in answer.citations:
        lines += textwrap.wrap(f"[{c.n}] {quoted(c.quote)}", width, subsequent_indent="    ")
    if answer.note:
        lines += ["", f"({answer.note})"]
    lines += ["", "Sources:"]
    seen = set()
    for c in answer.citations:
        if c.n not in seen:
            seen.add(c.n)
            lines.append(f"  [{c.n}] {source_line(c.title, c.published, c.source)}")
    return "\n".join(lines)
