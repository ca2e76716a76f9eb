"""Loading articles from files, folders and web pages.

Every loader returns `Article`s and `Skipped` records; bad input is never an exception that
stops a run: each file that cannot be used becomes one `Skipped` with a short reason.
"""

from __future__ import annotations

import codecs
import hashlib
import json
import os
import re
import stat
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from .boilerplate import boilerplate_spans
from .dates import normalise_published, publication_date
from .outlets import describe
from .text import guess_language

SUPPORTED = {".txt", ".md", ".markdown", ".html", ".htm", ".jsonl"}
MAX_FETCH_SECONDS = 15


@dataclass(frozen=True)
class Article:
    id: str
    title: str
    text: str
    source: str
    published: str = ""  # ISO date when known
    author: str = ""
    language: str = "und"
    content_hash: str = ""
    outlet: str = ""  # who published it: a feed's source, the page's site name, the URL's site
    agency: str = ""  # wire agencies the text credits ("EFE", "Reuters, AP")
    # [start, end) spans of page furniture (captions, bylines, datelines, share lines...): never quoted
    boilerplate: tuple[tuple[int, int], ...] = ()
    # the same text loaded from other sources (one page under two URLs, a file copied): indexed
    # once, each other link kept as (source, published, outlet) (answers list them as copies)
    also_at: tuple[tuple[str, str, str], ...] = ()

    def meta(self) -> dict:
        """Everything but the text, for manifests and citations."""
        d = asdict(self)
        d.pop("text")
        return d


@dataclass(frozen=True)
class Skipped:
    source: str
    reason: str


def make_article(*, key: str, title: str, text: str, source: str, published: str = "",
                 author: str = "", outlet: str = "") -> Article:
    """An article whose id is stable for `key` (its path or URL) and whose hash follows its content.
    The date is ISO (YYYY-MM-DD): the metadata's when it can be read, else the one the text
    states in a date line or dateline (index/dates.py), else none. Outlet, author and agency are
    completed from the text and URL (index/outlets.py), and the page furniture in the text is
    marked (index/boilerplate.py)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
    published = normalise_published(published) or publication_date(text)
    title = " ".join(title.split()) or _first_line(text) or Path(source).stem
    digest = hashlib.sha256(f"{title}\n{published}\n{text}".encode()).hexdigest()[:16]
    who = describe(text=text, url=source if source.startswith(("http://", "https://")) else key,
                   outlet=outlet, author=author or "")
    return Article(
        id=hashlib.sha256(key.encode()).hexdigest()[:16],
        title=title[:300],
        text=text,
        source=source,
        published=published or "",
        author=who["author"],
        language=guess_language(text),
        content_hash=digest,
        outlet=who["outlet"],
        agency=who["agency"],
        boilerplate=tuple(boilerplate_spans(text, title)),
    )


def _first_line(text: str) -> str:
    for line in text.splitlines():
        line = line.strip().lstrip("#").strip()
        if line:
            return line
    return ""


def _looks_binary(data: bytes) -> bool:
    head = data[:8192]
    if b"\x00" in head:
        return True
    control = sum(1 for b in head if b < 32 and b not in (9, 10, 12, 13))
    return control > len(head) * 0.1


# UTF-32 first: its little-endian mark starts with UTF-16's
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
         (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


def _unicode_with_bom(data: bytes) -> tuple[str | None, str | None]:
    """(text, encoding) of UTF-16/32 text marked with a byte-order mark (what Windows editors
    save as "Unicode"); (None, encoding) when marked but not valid; (None, None) when unmarked.
    Checked before the binary test: such text is full of NUL bytes."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding), encoding
            except UnicodeDecodeError:
                return None, encoding
    return None, None


def _decode(data: bytes) -> str | None:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None


_META_CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)


def _decode_html(data: bytes, charset: str | None = None, *, lenient: bool = False) -> str | None:
    """A page's text in the encoding it declares (HTTP header, then <meta charset>), else UTF-8.
    Lenient (web pages): undecodable bytes become U+FFFD instead of rejecting the page."""
    candidates = [c for c in (charset,) if c]
    m = _META_CHARSET.search(data[:4096])
    if m:
        candidates.append(m.group(1).decode("ascii", "ignore"))
    candidates += ["utf-8-sig"]
    for encoding in candidates:
        try:
            return data.decode(encoding)
        except (LookupError, UnicodeDecodeError):
            continue
    return data.decode("utf-8", errors="replace") if lenient else None


def has_text(text: str) -> bool:
    """At least 20 letters or digits (`[^\W_]` is str.isalnum; it stops at the 20th instead of
    testing every character of a long article)."""
    return any(i >= 19 for i, _ in enumerate(_ALNUM.finditer(text)))


_ALNUM = re.compile(r"[^\W_]")


# -- one file -------------------------------------------------------------------------------

def load_file(path: Path, *, max_bytes: int, key: str | None = None,
              shown: str | None = None) -> tuple[list[Article], list[Skipped]]:
    """Articles from one file (a .jsonl file may hold many)."""
    source = shown or str(path)
    key = key or source
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        return [], [Skipped(source, f"unsupported file type {suffix or '(none)'!r}")]
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):  # a FIFO or device would block or never end
            return [], [Skipped(source, "not a regular file")]
        size = info.st_size
        if size > max_bytes:
            return [], [Skipped(source, f"over the size limit ({size / 1e6:.1f} MB > {max_bytes / 1e6:g} MB)")]
        with path.open("rb") as f:
            data = f.read(max_bytes + 1)
    except OSError as e:
        return [], [Skipped(source, f"unreadable ({e.strerror or e.__class__.__name__})")]
    if len(data) > max_bytes:
        return [], [Skipped(source, f"over the size limit (> {max_bytes / 1e6:g} MB)")]
    if not data.strip():
        return [], [Skipped(source, "empty file")]
    marked, encoding = _unicode_with_bom(data)
    if encoding and marked is None:
        return [], [Skipped(source, f"not valid {encoding.upper()} text (it starts with a {encoding.upper()} mark)")]
    if marked is None and _looks_binary(data):
        return [], [Skipped(source, "binary file, not text")]
    if suffix in {".html", ".htm"}:
        html = marked if marked is not None else _decode_html(data)
        if html is None:
            return [], [Skipped(source, "not valid text in the encoding the page declares (or UTF-8)")]
        return parse_html(html, source=source, key=key)
    text = marked if marked is not None else _decode(data)
    if text is None:
        return [], [Skipped(source, "not valid UTF-8 text")]
    if suffix == ".jsonl":
        return parse_jsonl(text, source=source)
    if not has_text(text):
        return [], [Skipped(source, "no article text")]
    title = _first_line(text)
    return [make_article(key=key, title=title, text=text, source=source)], []


def parse_html(html: str, *, source: str, key: str | None = None,
               outlet: str = "") -> tuple[list[Article], list[Skipped]]:
    """The main text and metadata of a web page, extracted by trafilatura. `outlet`: who
    published it when the page's metadata does not say (a feed's title), before the URL's site."""
    import trafilatura

    try:
        doc = trafilatura.bare_extraction(html, url=source if source.startswith("http") else None,
                                          with_metadata=True, include_comments=False,
                                          include_tables=False, favor_precision=True)
    except Exception as e:  # trafilatura raises many kinds on hostile markup
        return [], [Skipped(source, f"HTML could not be parsed ({e.__class__.__name__})")]
    if doc is None:
        return [], [Skipped(source, "no article text found in the page")]
    data = doc.as_dict() if hasattr(doc, "as_dict") else dict(doc)
    # trafilatura puts one paragraph per line: keep paragraphs apart with a blank line, so a
    # headline without a full stop is not glued to the first sentence of the body
    text = "\n\n".join(line.strip() for line in (data.get("text") or "").splitlines() if line.strip())
    if not has_text(text):
        return [], [Skipped(source, "no article text found in the page")]
    url = data.get("url") or ""
    shown = url if url.startswith("http") else source
    sitename = data.get("sitename") or ""
    if outlet and sitename in (_url_site(url), _url_site(source)):
        sitename = ""  # trafilatura's fallback, the URL's host: not the page's own metadata
    article = make_article(key=key or shown, title=data.get("title") or "", text=text, source=shown,
                           published=data.get("date") or "", author=data.get("author") or "",
                           outlet=sitename or outlet)
    return [article], []


def _url_site(url: str) -> str:
    """The site name trafilatura gives a page whose metadata names none (its URL's host)."""
    m = re.match(r"https?://(?:www\.|w[0-9]+\.)?([^/]+)", url or "")
    return m.group(1) if m else ""


def parse_jsonl(text: str, *, source: str) -> tuple[list[Article], list[Skipped]]:
    """One article per line: {"title", "text", optional "url", "published", "source"}."""
    articles, skipped = [], []
    keys: set[str] = set()
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        where = f"{source}:{n}"
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            skipped.append(Skipped(where, "not valid JSON"))
            continue
        if not isinstance(rec, dict) or not isinstance(rec.get("text"), str) or not has_text(rec["text"]):
            skipped.append(Skipped(where, "record has no 'text'"))
            continue
        fields = {k: rec.get(k) for k in ("title", "url", "published", "source", "author")}
        if any(v is not None and not isinstance(v, str) for v in fields.values()):
            skipped.append(Skipped(where, "title, url, published, source and author must be strings"))
            continue
        shown = fields["url"] or fields["source"] or where
        # keyed on the title (stable when lines move), or on the line when two records share one
        key = fields["url"] or f"{source}#{fields['title'] or n}"
        if key in keys:
            key = f"{source}#{n}"
        keys.add(key)
        articles.append(make_article(key=key, title=fields["title"] or "", text=rec["text"], source=shown,
                                     published=fields["published"] or "", author=fields["author"] or "",
                                     outlet=fields["source"] or ""))
    if not articles and not skipped:
        skipped.append(Skipped(source, "empty file"))
    return articles, skipped


# -- folders and URLs -----------------------------------------------------------------------

def iter_files(root: Path) -> tuple[list[Path], list[Skipped]]:
    """Files under root, sorted, without following symlinked folders (no loops)."""
    if root.is_file():
        return [root], []
    if not root.exists():
        return [], [Skipped(str(root), "no such file or folder")]
    files, skipped = [], []

    def onerror(e: OSError) -> None:
        skipped.append(Skipped(str(e.filename), f"unreadable folder ({e.strerror})"))

    for folder, dirs, names in os.walk(root, onerror=onerror, followlinks=False):
        for d in sorted(dirs):
            if not d.startswith(".") and os.path.islink(os.path.join(folder, d)):
                skipped.append(Skipped(os.path.join(folder, d), "a link to a folder, not followed (it could loop)"))
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and not os.path.islink(os.path.join(folder, d)))
        for name in sorted(names):
            if name.startswith("."):
                continue
            files.append(Path(folder) / name)
    return files, skipped


def load_paths(paths: list[Path], *, max_bytes: int) -> tuple[list[Article], list[Skipped]]:
    """Articles from files and folders; ids are keyed on the path relative to its folder."""
    articles: list[Article] = []
    skipped: list[Skipped] = []
    keys: dict[str, Path] = {}
    for root in paths:
        files, bad = iter_files(root)
        skipped += bad
        for path in files:
            if root.is_dir():
                # ids and shown sources are relative to the folder given ("seeds/000_story.txt"),
                # so they do not change when the checkout moves
                # (named by its absolute name, so "cita index rebuild ." inside seeds/ is the same)
                shown = key = str(Path(Path(os.path.abspath(root)).name) / path.relative_to(root))
            else:
                # a file named on its own: keyed on its full path, so two "story.txt" from two
                # folders are two articles (and adding one never replaces the other)
                shown, key = path.name, str(path.resolve())
            if keys.setdefault(key, path) != path:  # two folders with the same name
                shown = key = str(path.resolve())
            got, bad = load_file(path, max_bytes=max_bytes, key=key, shown=shown)
            articles += got
            skipped += bad
    return dedupe(articles, skipped)


def dedupe(articles: list[Article], skipped: list[Skipped]) -> tuple[list[Article], list[Skipped]]:
    """Keep the first article per id and per content (syndicated copies are one article)."""
    seen_ids, out = set(), []
    seen_text: dict[str, int] = {}  # text hash -> its article's place in `out`
    for a in articles:
        text_key = hashlib.sha256(a.text.encode()).hexdigest()
        if a.id in seen_ids or text_key in seen_text:
            skipped.append(Skipped(a.source, "duplicate of an article already loaded"))
            first = out[seen_text[text_key]] if text_key in seen_text else None
            if first is not None and a.source != first.source and a.id not in seen_ids:
                # the same text under another link: indexed once, the link kept with it
                link = (a.source, a.published, a.outlet)
                out[seen_text[text_key]] = replace(first, also_at=first.also_at + (link,))
            continue
        seen_ids.add(a.id)
        seen_text[text_key] = len(out)
        out.append(a)
    return out, skipped


def fetch_url(url: str, *, max_bytes: int, timeout: float = MAX_FETCH_SECONDS) -> tuple[list[Article], list[Skipped]]:
    """Download a web page and extract its article."""
    if not url.startswith(("http://", "https://")):
        return [], [Skipped(url, "not an http(s) URL")]
    request = urllib.request.Request(url, headers={"User-Agent": "Cita/0.1 (+news quoting bot)"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            content_type = resp.headers.get_content_type() if resp.headers.get("Content-Type") else ""
            if content_type and not (content_type.startswith("text/") or "html" in content_type
                                     or content_type.endswith("xml")):
                return [], [Skipped(url, f"not a web page ({content_type})")]
            data = resp.read(max_bytes + 1)
            charset = resp.headers.get_content_charset()
            final_url = resp.geturl()
    except (urllib.error.URLError, OSError, ValueError) as e:
        reason = getattr(e, "reason", None) or getattr(e, "code", None) or e.__class__.__name__
        return [], [Skipped(url, f"could not fetch ({reason})")]
    if len(data) > max_bytes:
        return [], [Skipped(url, f"page over the size limit (> {max_bytes / 1e6:g} MB)")]
    if _looks_binary(data):
        return [], [Skipped(url, "not a web page (binary content)")]
    html = _decode_html(data, charset, lenient=True)
    articles, skipped = parse_html(html, source=final_url, key=url)
    return articles, skipped
