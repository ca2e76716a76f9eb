"""Answers as Discord messages, without Discord: plain dicts and strings within Discord's limits.

An answer becomes one or more `Reply` objects (message content and embed dicts in the shape
Discord's API takes). The quotes are shown verbatim as block quotes, each followed by its
citation number; the numbered sources (title, date, link or file) follow. Everything respects
Discord's limits: message content 2,000 characters, embed title 256, description 4,096, field
value 1,024, 25 fields and 6,000 characters per embed, 10 embeds and 6,000 characters per
message. Long answers are split between paragraphs, then between sentences, never inside a
quote or between a sentence and its citation marker; only a single quote longer than a whole
message is cut, at a clause or word boundary, and then every piece keeps the marker.
"""

from __future__ import annotations

import bisect
import math
import re
from dataclasses import dataclass, field
from urllib.parse import urlparse

from answer.answering import quoted
from index.text import guess_language

CONTENT_LIMIT = 2000
TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
FIELD_NAME_LIMIT = 256
FIELD_VALUE_LIMIT = 1024
FOOTER_LIMIT = 2048
FIELDS_PER_EMBED = 25
EMBED_TOTAL_LIMIT = 6000
EMBEDS_PER_MESSAGE = 10

ANSWER_COLOR = 0x2B6CB0
ABSTAIN_COLOR = 0x718096
INFO_COLOR = 0x4A5568
FEEDBACK_HINT = "React 👍 or 👎 to rate this answer."
SOURCES_PER_PAGE = 10
# the heading over a "not stated" answer's closest quotes, in the question's language
CLOSEST = {"en": "**The closest the articles come**", "es": "**Lo más cercano en los artículos**"}

# "[1]", "[1, 2]", "[1][2]": a citation marker; never separated from the text before it.
MARKER = re.compile(r"\[\d+(?:\s*,\s*\d+)*\]")
_QUOTED = re.compile(r"“[^”]*”|«[^»]*»|\"[^\"\n]*\"")
_SENTENCE_END = re.compile(r"[.!?…。](?:[\"'”’»)\]*_]*)$")
_CLAUSE_END = re.compile(r"[,;:—–](?:[\"'”’»)]*)$")


@dataclass
class Reply:
    """One message: content (may be empty) and embeds as Discord API dicts."""

    content: str = ""
    embeds: list[dict] = field(default_factory=list)


# -- sizes and clipping -----------------------------------------------------------------------

def clip(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters, at a word boundary when one is near, with "…"."""
    text = text or ""
    if len(text) <= limit:
        return text
    cut = text[:max(0, limit - 1)]
    space = cut.rfind(" ")
    if space >= limit * 0.6:
        cut = cut[:space]
    return cut.rstrip() + "…"


def embed_size(embed: dict) -> int:
    """Characters Discord counts towards the 6,000 limit: title, description, field names and
    values, footer text and author name."""
    n = len(embed.get("title", "")) + len(embed.get("description", ""))
    n += sum(len(f.get("name", "")) + len(f.get("value", "")) for f in embed.get("fields", []))
    n += len(embed.get("footer", {}).get("text", ""))
    n += len(embed.get("author", {}).get("name", ""))
    return n


def reply_problems(reply: Reply) -> list[str]:
    """Every Discord limit `reply` breaks (empty when it can be sent)."""
    problems = []
    if len(reply.content) > CONTENT_LIMIT:
        problems.append(f"content {len(reply.content)} > {CONTENT_LIMIT}")
    if len(reply.embeds) > EMBEDS_PER_MESSAGE:
        problems.append(f"{len(reply.embeds)} embeds > {EMBEDS_PER_MESSAGE}")
    total = 0
    for i, e in enumerate(reply.embeds):
        size = embed_size(e)
        total += size
        if len(e.get("title", "")) > TITLE_LIMIT:
            problems.append(f"embed {i} title > {TITLE_LIMIT}")
        if len(e.get("description", "")) > DESCRIPTION_LIMIT:
            problems.append(f"embed {i} description {len(e['description'])} > {DESCRIPTION_LIMIT}")
        if len(e.get("fields", [])) > FIELDS_PER_EMBED:
            problems.append(f"embed {i} has more than {FIELDS_PER_EMBED} fields")
        for f in e.get("fields", []):
            if len(f.get("name", "")) > FIELD_NAME_LIMIT or not f.get("name"):
                problems.append(f"embed {i} field name empty or > {FIELD_NAME_LIMIT}")
            if len(f.get("value", "")) > FIELD_VALUE_LIMIT or not f.get("value"):
                problems.append(f"embed {i} field value empty or > {FIELD_VALUE_LIMIT}")
        if len(e.get("footer", {}).get("text", "")) > FOOTER_LIMIT:
            problems.append(f"embed {i} footer > {FOOTER_LIMIT}")
    if total > EMBED_TOTAL_LIMIT:
        problems.append(f"embeds total {total} > {EMBED_TOTAL_LIMIT}")
    if not reply.content and not reply.embeds:
        problems.append("empty message")
    return problems


# -- splitting text ---------------------------------------------------------------------------

def _protected(text: str) -> list[tuple[int, int]]:
    """Spans a split must avoid: quoted passages (“…”, «…», "…") and citation markers."""
    spans = [m.span() for m in _QUOTED.finditer(text)]
    spans += [m.span() for m in MARKER.finditer(text)]
    return sorted(spans)


def _breaks(text: str, stop: int | None = None) -> list[tuple[int, int, int]]:
    """Candidate split points as (end of the piece before, start of the piece after, rank):
    rank 3 paragraph, 2 sentence, 1 clause, 0 word. A point inside a protected span gets
    rank -1 (used only when nothing else fits); a point right before a citation marker is never
    a candidate. Only points up to `stop` (default: all).

    Linear in the text looked at: each point looks at the few characters before it, and at the
    protected spans through their running maximum end (a long quote made of thousands of lines
    or quotation marks used to take minutes)."""
    spans = _protected(text)
    starts = [s for s, _ in spans]
    reach: list[int] = []  # reach[i]: the furthest end of spans[0..i]
    for _, e in spans:
        reach.append(max(e, reach[-1]) if reach else e)
    out = []
    for m in re.finditer(r"\s+", text):
        before, after = m.start(), m.end()
        if stop is not None and before > stop:
            break
        if before == 0 or after == len(text):
            continue
        if MARKER.match(text, after):
            continue
        tail = text[max(0, before - 40):before]  # enough for an end mark and its closing quotes
        if "\n\n" in m.group() or "\n" in m.group() and tail.endswith((":", "]")):
            rank = 3
        elif _SENTENCE_END.search(tail) or MARKER.search(tail[-12:]) and tail.endswith("]"):
            rank = 2
        elif _CLAUSE_END.search(tail):
            rank = 1
        else:
            rank = 0
        i = bisect.bisect_left(starts, before)  # spans[:i] start before this point
        if i and reach[i - 1] > after:
            rank = -1 if rank < 1 else -1 + rank / 10  # inside a quote: last resort, clause first
        out.append((before, after, rank))
    return out


def split_text(text: str, limit: int) -> list[str]:
    """`text` in pieces of at most `limit` characters, cut at the best boundary available:
    paragraph, sentence, clause, word (outside quotes and never before a marker), and only as a
    last resort inside a quote. Joining the pieces with whitespace gives back the words of
    `text` in order."""
    if limit < 1:
        raise ValueError("limit must be positive")
    text = text.strip()
    pieces: list[str] = []
    while len(text) > limit:
        best = None
        for before, after, rank in _breaks(text, stop=limit):
            if before > limit:
                break
            # outside quotes first; then the higher rank, unless it leaves a piece under 30% of the
            # limit; then the latest
            key = (rank >= 0, rank if before >= limit * 0.3 else rank - 4, before)
            if best is None or key > best[0]:
                best = (key, before, after)
        if best is not None:
            _, before, after = best
        else:
            # no boundary at all within the limit: the last whitespace (even before a marker),
            # else a hard cut
            spaces = [m for m in re.finditer(r"\s+", text[:limit + 1]) if m.start() > 0]
            before, after = (spaces[-1].start(), spaces[-1].end()) if spaces else (limit, limit)
        pieces.append(text[:before].rstrip())
        text = text[after:].lstrip()
    if text:
        pieces.append(text)
    return pieces


def pack_blocks(blocks: list[str], limit: int, sep: str = "\n\n") -> list[str]:
    """Blocks joined by `sep` into as few texts of at most `limit` characters as they fit in,
    keeping each block whole (a block longer than `limit` must have been split before)."""
    out: list[str] = []
    current = ""
    for block in blocks:
        if len(block) > limit:
            raise ValueError("a block is longer than the limit")
        if not current:
            current = block
        elif len(current) + len(sep) + len(block) <= limit:
            current += sep + block
        else:
            out.append(current)
            current = block
    if current:
        out.append(current)
    return out


# -- the parts of an answer -------------------------------------------------------------------

def _quote_block(text: str, marker: str) -> str:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()] or [""]
    lines[-1] = f"{lines[-1]} {marker}".strip()
    return "\n".join("> " + ln for ln in lines)


def quote_blocks(quote: str, n: int, limit: int) -> list[str]:
    """A verbatim quote as block-quote text followed by its marker, in as many blocks as needed
    to stay under `limit` (each piece of a cut quote carries the marker, so none is uncited)."""
    marker = f"[{n}]"
    block = _quote_block(quote, marker)
    if len(block) <= limit:
        return [block]
    # each line of a piece costs "> " more (any line break: \u2028, \x85 and form feeds split
    # lines as "\n" does), so a quote of many short lines is cut into smaller pieces
    size = max(1, limit - len(marker) - 8)
    while True:
        pieces = split_text(quote, size)
        blocks = [_quote_block(p + ("" if i == len(pieces) - 1 else " …"), marker) for i, p in enumerate(pieces)]
        longest = max(len(b) for b in blocks)
        if longest <= limit or size == 1:
            return blocks
        size = max(1, min(size - 1, size * limit // longest - 1))


def text_blocks(text: str, limit: int) -> list[str]:
    """Free text (an LLM-written answer, a note) as paragraphs of at most `limit` characters."""
    blocks = []
    for para in re.split(r"\n\s*\n", text.strip()):
        if para.strip():
            blocks += split_text(para.strip(), limit)
    return blocks


def _escape(text: str) -> str:
    return re.sub(r"([\\*_~`|>\[\]()#])", r"\\\1", text or "")


def _is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def source_line(n: int, title: str, published: str, source: str, *, markdown: bool = True,
                outlet: str = "", agency: str = "") -> str:
    """One numbered source: title, outlet, date, and the article's link or file name. With
    `markdown` the title is a masked link; without, the link follows in <> (no preview)."""
    title = _escape(clip(" ".join((title or "(untitled)").split()), 180))
    parts = [f"**[{n}]** {title}"]
    if outlet and outlet != title:
        parts.append(_escape(clip(" ".join(outlet.split()), 60)))
    if agency and agency.lower() not in (outlet or "").lower():  # the wire agency its text credits
        parts.append(f"({_escape(clip(agency, 40))})")
    if published:
        parts.append(clip(published, 40))
    if _is_url(source):
        parsed = urlparse(source)
        url = source if len(source) <= 400 else f"{parsed.scheme}://{parsed.netloc}/"
        if markdown:
            parts[0] = f"**[{n}]** [{title}]({url.replace(')', '%29').replace(' ', '%20')})"
        else:
            parts.append(f"<{url}>")
    elif source:
        name = clip(source.replace("\\", "/").rsplit("/", 1)[-1], 120).replace("`", "")
        parts.append(f"`{name}`")
    return " · ".join(parts)


def source_lines(citations, *, markdown: bool = True) -> list[str]:
    """One line per cited article, in citation-number order, each followed by the other outlets
    that published the same wire text ("also reported by"), with their links."""
    seen: dict[int, str] = {}
    for c in citations:
        if c.n not in seen:
            seen[c.n] = source_line(c.n, c.title, c.published, c.source, markdown=markdown,
                                    outlet=getattr(c, "outlet", "") or "", agency=getattr(c, "agency", "") or "")
            also = also_line(getattr(c, "also_reported_by", None) or [], markdown=markdown)
            if also:
                seen[c.n] += "\n" + also
    return [seen[n] for n in sorted(seen)]


def also_line(copies: list[dict], *, markdown: bool = True, limit: int = 600) -> str:
    """"↳ also reported by: outlet (date), outlet (date)", each outlet linked to its copy."""
    parts = []
    for x in copies:
        name = _escape(clip(x.get("outlet") or x.get("title") or "?", 60))
        date = f" ({clip(x['published'], 20)})" if x.get("published") else ""
        source = x.get("source", "")
        if _is_url(source) and len(source) <= 400:
            link = source.replace(")", "%29").replace(" ", "%20")
            parts.append(f"[{name}]({link}){date}" if markdown else f"{name}{date} <{source}>")
        else:
            parts.append(f"{name}{date}")
    return clip("↳ also reported by: " + ", ".join(parts), limit) if parts else ""


def body_blocks(answer, limit: int) -> list[str]:
    """The answer's body: for an extractive answer the quotes; for a written (LLM) answer its
    text, then the verbatim quotes it rests on; for an abstention the short statement."""
    blocks: list[str] = []
    if answer.abstained and answer.citations:
        # "not stated": the articles discuss it but none says what was asked. The statement (the
        # answerer's text also carries the quotes inline: they are shown as block quotes below)
        statement = answer.answer
        for c in answer.citations:
            statement = statement.replace(f"{quoted(c.quote)} [{c.n}]", "")
        blocks += text_blocks(" ".join(statement.split()) or answer.answer, limit)
        blocks.append(CLOSEST.get(guess_language(answer.question), CLOSEST["en"]))
        for c in answer.citations:
            blocks += quote_blocks(c.quote, c.n, limit)
    elif answer.abstained or not answer.citations:
        blocks += text_blocks(answer.answer, limit)
    else:
        if getattr(answer, "heading", ""):  # the dates the quotes come from (answer/news.py)
            blocks += text_blocks(f"*{answer.heading.strip()}*", limit)
        if answer.mode != "extractive":
            blocks += text_blocks(answer.answer, limit)
            blocks.append("**Quoted from the articles**")
        for c in answer.citations:
            blocks += quote_blocks(c.quote, c.n, limit)
        for d in getattr(answer, "disagreements", None) or []:  # sources stating it differently
            blocks += text_blocks(f"⚠️ {d['summary']}", limit)
    if answer.note:
        blocks += text_blocks(f"*{answer.note.strip()}*", limit)
    return blocks


# -- answers as embeds ------------------------------------------------------------------------

def _fields(lines: list[str], name: str) -> list[dict]:
    values = pack_blocks([clip(ln, FIELD_VALUE_LIMIT) for ln in lines], FIELD_VALUE_LIMIT, sep="\n")
    return [{"name": name if i == 0 else f"{name} (continued)", "value": v, "inline": False}
            for i, v in enumerate(values)]


def _field_groups(fields: list[dict], budget: int) -> list[list[dict]]:
    groups: list[list[dict]] = [[]]
    size = 0
    for f in fields:
        n = len(f["name"]) + len(f["value"])
        if groups[-1] and (len(groups[-1]) >= FIELDS_PER_EMBED or size + n > budget):
            groups.append([])
            size = 0
        groups[-1].append(f)
        size += n
    return groups


def group_embeds(embeds: list[dict]) -> list[list[dict]]:
    """Embeds in order, grouped into messages of at most 10 embeds and 6,000 characters."""
    groups: list[list[dict]] = []
    size = 0
    for e in embeds:
        n = embed_size(e)
        if groups and len(groups[-1]) < EMBEDS_PER_MESSAGE and size + n <= EMBED_TOTAL_LIMIT:
            groups[-1].append(e)
            size += n
        else:
            groups.append([e])
            size = n
    return groups


def answer_replies(answer, *, footer: str = FEEDBACK_HINT) -> list[Reply]:
    """The answer as messages of embeds: the question as title, the quotes (and the written
    answer, if any) as description, the numbered sources as a field, the feedback hint as footer."""
    color = ABSTAIN_COLOR if answer.abstained else ANSWER_COLOR
    descriptions = pack_blocks(body_blocks(answer, DESCRIPTION_LIMIT), DESCRIPTION_LIMIT) or ["\u200b"]
    embeds = [{"type": "rich", "description": d, "color": color} for d in descriptions]
    embeds[0]["title"] = clip(" ".join(answer.question.split()), TITLE_LIMIT)
    fields = _fields(source_lines(answer.citations), "Sources") if answer.citations else []
    tail: dict = {"footer": {"text": clip(footer, FOOTER_LIMIT)}} if footer else {}
    # sources and footer go on the last embed if it stays within the per-embed limit; else they
    # get embeds of their own
    candidate = {**embeds[-1], **tail, **({"fields": fields} if fields else {})}
    if len(fields) <= FIELDS_PER_EMBED and embed_size(candidate) <= EMBED_TOTAL_LIMIT:
        embeds[-1] = candidate
    else:
        reserve = embed_size(tail)
        for group in _field_groups(fields, EMBED_TOTAL_LIMIT - reserve):
            embeds.append({"type": "rich", "color": color, "fields": group})
        embeds[-1].update(tail)
    return [Reply(embeds=g) for g in group_embeds(embeds)]


def answer_text_replies(answer, *, footer: str = FEEDBACK_HINT) -> list[Reply]:
    """The answer as plain messages (for channels where the bot may not embed): the question in
    bold, the quotes, the sources with links in <> (no previews), each message ≤ 2,000 chars."""
    blocks = [f"**{_escape(clip(' '.join(answer.question.split()), 300))}**"]
    blocks += body_blocks(answer, CONTENT_LIMIT)
    if answer.citations:
        lines = source_lines(answer.citations, markdown=False)
        blocks += pack_blocks(["**Sources**"] + [clip(ln, CONTENT_LIMIT) for ln in lines], CONTENT_LIMIT, sep="\n")
    if footer:
        blocks.append(f"-# {clip(footer, 300)}")
    return [Reply(content=c) for c in pack_blocks(blocks, CONTENT_LIMIT)]


# -- timelines ---------------------------------------------------------------------------------

TIMELINE_PER_PAGE = 6


def timeline_page_count(events: int, per_page: int = TIMELINE_PER_PAGE) -> int:
    return max(1, math.ceil(events / per_page))


def timeline_replies(timeline, page: int = 1, *, per_page: int = TIMELINE_PER_PAGE,
                     embeds: bool = True) -> list[Reply]:
    """Page `page` (from 1; clamped) of a timeline (answer/timeline.py): per event its date in
    bold and its verbatim quote with the citation number, then the page's sources with their
    outlets and other copies; within every Discord limit (further embeds or messages if needed)."""
    title = clip("Timeline: " + " ".join(timeline.topic.split()), TITLE_LIMIT)
    if timeline.abstained or not timeline.events:
        text = timeline.message or "The indexed articles don't give dated events on that."
        if not embeds:
            return [Reply(content=c) for c in pack_blocks([f"**{_escape(title)}**", *text_blocks(text, CONTENT_LIMIT)],
                                                          CONTENT_LIMIT)]
        return [Reply(embeds=[{"type": "rich", "title": title, "color": ABSTAIN_COLOR,
                               "description": clip(text, DESCRIPTION_LIMIT)}])]
    pages = timeline_page_count(len(timeline.events), per_page)
    page = min(max(1, page), pages)
    shown = timeline.events[(page - 1) * per_page:page * per_page]
    limit = DESCRIPTION_LIMIT if embeds else CONTENT_LIMIT
    blocks: list[str] = []
    for ev in shown:  # the date, and right under it the quote with its number
        day = f"**{_escape(clip(ev.date, 40))}**"
        pieces = quote_blocks(ev.quote, ev.n, limit - len(day) - 1)
        blocks += [f"{day}\n{pieces[0]}", *pieces[1:]]
    sources = source_lines(shown, markdown=embeds)
    footer = f"Page {page} of {pages} · {len(timeline.events)} events"
    if pages > 1:
        footer += " · /timeline page:N shows another page"
    if not embeds:
        parts = [f"**{_escape(title)}**", *blocks]
        parts += pack_blocks(["**Sources**"] + [clip(ln, CONTENT_LIMIT) for ln in sources], CONTENT_LIMIT, sep="\n")
        parts.append(f"-# {footer}")
        return [Reply(content=c) for c in pack_blocks(parts, CONTENT_LIMIT)]
    descriptions = pack_blocks(blocks, DESCRIPTION_LIMIT) or ["\u200b"]
    embeds_out = [{"type": "rich", "description": d, "color": ANSWER_COLOR} for d in descriptions]
    embeds_out[0]["title"] = title
    fields = _fields(sources, "Sources")
    tail = {"footer": {"text": footer}}
    candidate = {**embeds_out[-1], **tail, "fields": fields}
    if len(fields) <= FIELDS_PER_EMBED and embed_size(candidate) <= EMBED_TOTAL_LIMIT:
        embeds_out[-1] = candidate
    else:
        for group in _field_groups(fields, EMBED_TOTAL_LIMIT - embed_size(tail)):
            embeds_out.append({"type": "rich", "color": ANSWER_COLOR, "fields": group})
        embeds_out[-1].update(tail)
    return [Reply(embeds=g) for g in group_embeds(embeds_out)]


# -- other replies ----------------------------------------------------------------------------

def text_reply(text: str) -> Reply:
    """A short plain message (an error, a refusal, a status)."""
    return Reply(content=clip(text.strip(), CONTENT_LIMIT))


def sources_page_count(total: int, per_page: int = SOURCES_PER_PAGE) -> int:
    return max(1, math.ceil(total / per_page))


def feeds_field(feeds: list[dict]) -> dict:
    """The feeds Cita follows and when each was last refreshed, as one embed field."""
    lines = []
    for f in feeds:
        when = f"last refreshed {f['last_refresh'].replace('T', ' ').rstrip('Z')} UTC" if f.get("last_refresh") \
            else "not refreshed yet"
        result = f" ({f['last_result']})" if f.get("last_result") else ""
        lines.append(clip(f"• {f.get('title') or f['url']} <{f['url']}>: {when}{result}", FIELD_VALUE_LIMIT // 4))
    value = "\n".join(lines)
    if len(value) > FIELD_VALUE_LIMIT:
        value = clip(value, FIELD_VALUE_LIMIT)
    return {"name": f"Feeds ({len(feeds)})", "value": value or "None", "inline": False}


def sources_reply(articles: list[dict], page: int = 1, *, per_page: int = SOURCES_PER_PAGE,
                  feeds: list[dict] | None = None) -> Reply:
    """Page `page` (from 1; clamped) of the indexed articles, newest first; and the feeds followed."""
    ordered = sorted(articles, key=lambda a: (a.get("published") or "", a.get("title") or ""), reverse=True)
    pages = sources_page_count(len(ordered), per_page)
    page = min(max(1, page), pages)
    start = (page - 1) * per_page
    lines = [source_line(start + i + 1, a.get("title", ""), a.get("published", ""), a.get("source", ""))
             for i, a in enumerate(ordered[start:start + per_page])]
    description = "\n".join(clip(ln, DESCRIPTION_LIMIT // per_page) for ln in lines) or "No articles are indexed yet."
    footer = f"Page {page} of {pages} · {len(ordered)} article{'s' if len(ordered) != 1 else ''}"
    if pages > 1:
        footer += " · /sources page:N shows another page"
    embed = {"type": "rich", "title": "Indexed articles", "description": description,
             "color": INFO_COLOR, "footer": {"text": footer}}
    if feeds:
        embed["fields"] = [feeds_field(feeds)]
    return Reply(embeds=[embed])




def help_reply(*, max_question_chars: int, answer_in_threads: bool, answer_dms: bool) -> Reply:
    """How to ask, as one embed."""
    threads = ("I answer in a new thread; ask follow-up questions in that thread without mentioning me."
               if answer_in_threads else "I answer right in the channel.")
    dms = "I answer direct messages too." if answer_dms else "I don't answer direct messages: ask in a server channel."
    text = "\n".join([
        "I answer questions about the indexed news articles by quoting them, with numbered sources.",
        "",
        "**How to ask**",
        "• Mention me with your question: `@Cita What did the US demand?`",
        "• Or use `/ask question: What did the US demand?`, or reply to one of my answers",
        f"• {threads}",
        f"• Questions can be up to {max_question_chars} characters, in any language the articles use.",
        f"• {dms}",
        "",
        "**Other commands**",
        "• `/sources` lists the indexed articles.",
        "• `/timeline topic:` lists the dated quotes about a topic, in date order.",
        "• `/reindex` rebuilds the index from the articles folder (Manage Server permission).",
        "• `/refresh` fetches the news feeds now and indexes their new articles (Manage Server permission).",
        "",
        "If the articles don't answer a question I say so instead of guessing. " + FEEDBACK_HINT,
    ])
    return Reply(embeds=[{"type": "rich", "title": "Asking Cita", "description": text, "color": INFO_COLOR}])
