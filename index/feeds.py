"""Feeds: the outlets Cita follows (RSS 2.0, Atom, JSON Feed), and refreshing them.

The list lives in `data_dir/feeds.json` (written atomically, changed under `data_dir/feeds.lock`).
A refresh fetches every feed (a conditional GET: an unchanged feed answers 304 and costs
nothing more), takes the entries it has not indexed yet, fetches each entry's page and extracts
the article with trafilatura (index/articles.py `parse_html`), and adds them all in one build
step (one new segment, index/build.py). Only once that generation is published are the entries
marked as seen and the feed's ETag/Last-Modified saved, so a refresh killed at any moment is
simply done again by the next one: nothing is lost and, since an article's id is its URL,
nothing is indexed twice. A feed or page that fails is reported with its reason and skipped;
the others go on.

All HTTP goes through index/web.py (time-outs, size caps, no private addresses, one request per
second per host). feedparser parses RSS and Atom from the bytes we fetched; a body that declares
XML entities is refused before it reaches any XML parser (entity expansion, "billion laughs",
and external entities need a declaration: a feed never does).
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
import logging
import os
import re
import time
import urllib.parse
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

from .articles import Article, Skipped, _decode_html, _looks_binary, parse_html
from .web import FetchError, Fetcher

log = logging.getLogger(__name__)

FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/feed+json", "application/json",
              "application/rdf+xml", "text/xml", "application/xml")
MAX_NEW_PER_FEED = 30  # pages fetched per feed and refresh; the rest wait for the next one
MAX_SEEN = 5000  # entry links remembered per feed (older ones have left the feed long ago)
_ENTITY_DECL = re.compile(rb"<!ENTITY", re.IGNORECASE)


class FeedError(RuntimeError):
    """A feed cannot be added, found or parsed; the message says why."""


@dataclass
class Entry:
    link: str
    title: str = ""
    published: str = ""  # ISO date when the feed gives one
    author: str = ""


@dataclass
class Parsed:
    title: str  # the feed's own title ("" when it has none)
    entries: list[Entry]
    kind: str  # "rss20", "atom10", "json", ...


@dataclass
class FeedReport:
    """What one refresh did with one feed."""

    url: str
    new: int = 0
    unchanged: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)  # (what, why)
    deferred: int = 0
    error: str = ""  # the feed itself failed
    not_modified: bool = False

    def line(self) -> str:
        if self.error:
            return f"{self.url}: failed ({self.error})"
        if self.not_modified:
            return f"{self.url}: not modified (304), nothing new"
        parts = [f"{self.new} new", f"{self.unchanged} unchanged", f"{len(self.failed)} failed"]
        if self.deferred:
            parts.append(f"{self.deferred} left for the next refresh")
        line = f"{self.url}: " + ", ".join(parts)
        if self.failed:
            shown = "; ".join(f"{what}: {why}" for what, why in self.failed[:3])
            more = f"; and {len(self.failed) - 3} more" if len(self.failed) > 3 else ""
            line += f" ({shown}{more})"
        return line

    def as_dict(self) -> dict:
        return {"url": self.url, "new": self.new, "unchanged": self.unchanged, "deferred": self.deferred,
                "failed": [{"what": w, "why": y} for w, y in self.failed], "error": self.error,
                "not_modified": self.not_modified}


# -- parsing ------------------------------------------------------------------------------------

def parse_feed(body: bytes, url: str) -> Parsed:
    """RSS, Atom or JSON Feed from the bytes of a response; FeedError when it is none of them."""
    if _looks_binary(body[:8192]) and not body.lstrip()[:1] in (b"{", b"<"):
        raise FeedError("not a feed (binary content)")
    head = body.lstrip()[:1]
    if head == b"{":
        return _parse_json_feed(body, url)
    if _ENTITY_DECL.search(body):
        raise FeedError("the feed declares XML entities (refused: entity expansion and external entities)")
    import feedparser

    try:
        parsed = feedparser.parse(body, response_headers={"content-location": url, "content-type": "application/xml"},
                                  sanitize_html=False, resolve_relative_uris=False)
    except Exception as e:  # feedparser is lenient, but hostile bytes are hostile
        raise FeedError(f"the feed could not be parsed ({e.__class__.__name__})") from None
    if not parsed.get("version"):
        reason = parsed.get("bozo_exception")
        raise FeedError("not an RSS, Atom or JSON feed" + (f" ({_short(reason)})" if reason else ""))
    benign = (feedparser.NonXMLContentType, feedparser.CharacterEncodingOverride)
    if parsed.get("bozo") and not parsed.entries and not isinstance(parsed.get("bozo_exception"), benign):
        # feedparser's lenient parser keeps what it could read of a broken document: with no
        # entry in it there is nothing to follow
        raise FeedError(f"malformed feed ({_short(parsed.get('bozo_exception'))})")
    entries = []
    for e in parsed.entries:
        link = e.get("link") or next((lnk.get("href") for lnk in e.get("links", []) if lnk.get("href")), "")
        if not link and str(e.get("id", "")).startswith(("http://", "https://")):
            link = e["id"]
        entries.append(Entry(link=urllib.parse.urljoin(url, link) if link else "", title=e.get("title", ""),
                             published=_iso(e.get("published_parsed") or e.get("updated_parsed")),
                             author=e.get("author", "")))
    return Parsed(" ".join(str(parsed.feed.get("title", "") or "").split()), entries, parsed.get("version", "?"))


def _parse_json_feed(body: bytes, url: str) -> Parsed:
    try:
        data = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise FeedError(f"malformed JSON ({e.__class__.__name__})") from None
    if not isinstance(data, dict) or not str(data.get("version", "")).startswith("https://jsonfeed.org/version/"):
        raise FeedError("not an RSS, Atom or JSON feed (JSON without a JSON Feed version)")
    items = data.get("items")
    if not isinstance(items, list):
        raise FeedError("JSON Feed without items")
    entries = []
    for item in items:
        if not isinstance(item, dict):
            continue
        link = item.get("url") or item.get("external_url") or ""
        if not isinstance(link, str):
            link = ""
        authors = item.get("authors") or ([item["author"]] if isinstance(item.get("author"), dict) else [])
        author = next((a.get("name", "") for a in authors if isinstance(a, dict)), "") if isinstance(authors, list) else ""
        published = item.get("date_published") or ""
        entries.append(Entry(link=urllib.parse.urljoin(url, link) if link else "",
                             title=str(item.get("title") or ""),
                             published=published[:10] if isinstance(published, str) else "",
                             author=str(author or "")))
    return Parsed(" ".join(str(data.get("title") or "").split()), entries, "json")


def _iso(parsed_time) -> str:
    try:
        return time.strftime("%Y-%m-%d", parsed_time) if parsed_time else ""
    except (TypeError, ValueError):
        return ""


def _short(error) -> str:
    return str(error).splitlines()[0][:120] if str(error) else error.__class__.__name__


class _FeedLinks(HTMLParser):
    """<link rel="alternate" type="application/rss+xml" href="..."> in a home page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag != "link":
            return
        a = {k.lower(): (v or "") for k, v in attrs}
        rels = a.get("rel", "").lower().split()
        if "alternate" in rels and a.get("type", "").lower().split(";")[0].strip() in FEED_TYPES and a.get("href"):
            self.links.append(a["href"])


def feed_links(html: str, base: str) -> list[str]:
    parser = _FeedLinks()
    with contextlib.suppress(Exception):
        parser.feed(html[:2_000_000])
    return list(dict.fromkeys(urllib.parse.urljoin(base, h) for h in parser.links))


# -- the list of feeds ------------------------------------------------------------------------

class FeedList:
    """data_dir/feeds.json: {"feeds": [{"url", "title", "added", "etag", "modified",
    "last_refresh", "last_result", "seen": [entry links]}]}."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        self.path = self.data_dir / "feeds.json"

    @contextlib.contextmanager
    def locked(self):
        """One writer of the list at a time (a refresh holds it until it has saved)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.data_dir / "feeds.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def load(self) -> list[dict]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as e:
            raise FeedError(f"the feed list {self.path} is unreadable: {e}") from None
        feeds = data.get("feeds") if isinstance(data, dict) else None
        return [f for f in feeds if isinstance(f, dict) and isinstance(f.get("url"), str)] if isinstance(feeds, list) else []

    def save(self, feeds: list[dict]) -> None:
        from .store import _write_json_atomic

        self.data_dir.mkdir(parents=True, exist_ok=True)
        _write_json_atomic(self.path, {"feeds": feeds})


def find(feeds: list[dict], which: str) -> dict | None:
    """A feed by URL, by its number in `cita feeds list` (1-based), or by title."""
    if which.isdigit() and 1 <= int(which) <= len(feeds):
        return feeds[int(which) - 1]
    return next((f for f in feeds if which in (f["url"], f.get("title"), f.get("home"))), None)


def discover(fetcher: Fetcher, url: str) -> tuple[str, Parsed]:
    """The feed at `url`, or the first feed a home page at `url` links to: (feed URL, parsed)."""
    try:
        response = fetcher.get(url)
    except FetchError as e:
        raise FeedError(f"could not fetch {url}: {e}") from None
    try:
        return response.url, parse_feed(response.body, response.url)
    except FeedError as as_feed:
        html = _decode_html(response.body, response.charset, lenient=True) or ""
        links = feed_links(html, response.url) if "<" in html else []
        if not links:
            raise FeedError(f"{url} is not a feed ({as_feed}) and its page links to none") from None
    errors = []
    for link in links[:3]:
        try:
            got = fetcher.get(link)
            return got.url, parse_feed(got.body, got.url)
        except (FetchError, FeedError) as e:
            errors.append(f"{link}: {e}")
    raise FeedError(f"the feeds {url} links to could not be read ({'; '.join(errors)})")


def add_feed(data_dir: Path, fetcher: Fetcher, url: str) -> tuple[dict, bool]:
    """Add a feed (found from a home page if need be); returns (feed, whether it was new)."""
    feed_url, parsed = discover(fetcher, url.strip())
    feeds_file = FeedList(data_dir)
    with feeds_file.locked():
        feeds = feeds_file.load()
        existing = next((f for f in feeds if f["url"] == feed_url), None)
        if existing:
            return existing, False
        feed = {"url": feed_url, "title": (parsed.title or feed_url)[:200], "home": url if url != feed_url else "",
                "added": _now(), "etag": "", "modified": "", "last_refresh": "", "last_result": "", "seen": []}
        feeds.append(feed)
        feeds_file.save(feeds)
    return feed, True


def remove_feed(data_dir: Path, which: str) -> dict | None:
    """Stop following a feed (its articles stay indexed until removed with `cita index remove`)."""
    feeds_file = FeedList(data_dir)
    with feeds_file.locked():
        feeds = feeds_file.load()
        feed = find(feeds, which)
        if feed is not None:
            feeds_file.save([f for f in feeds if f is not feed])
        return feed


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


# -- refreshing -------------------------------------------------------------------------------

@dataclass
class RefreshResult:
    reports: list[FeedReport]
    build: object | None = None  # the BuildSummary of the add, when something was new
    build_error: str = ""

    @property
    def new_articles(self) -> int:
        return sum(r.new for r in self.reports)


def refresh(data_dir: Path, fetcher: Fetcher, builder, *, max_new: int = MAX_NEW_PER_FEED) -> RefreshResult:
    """Fetch every feed, index the entries not seen yet in one build step, save what was seen."""
    feeds_file = FeedList(data_dir)
    with feeds_file.locked():
        feeds = feeds_file.load()
        reports: list[FeedReport] = []
        articles: list[Article] = []
        planned: dict[str, dict] = {}  # feed url -> what to save once the build is published
        seen_now: set[str] = set()  # links taken in this refresh (the same story in two feeds)
        seen_all = {link for f in feeds for link in f.get("seen", [])}
        for feed in feeds:
            report = FeedReport(feed["url"])
            reports.append(report)
            got, plan = _refresh_one(feed, fetcher, report, seen_all | seen_now, max_new)
            articles += got
            seen_now.update(plan.get("seen", []))
            planned[feed["url"]] = plan
        result = RefreshResult(reports)
        fresh = _dedupe(articles)
        if fresh:
            from .build import NothingIndexed

            try:
                result.build = builder.add_articles(fresh)
            except NothingIndexed as e:
                result.build_error = str(e).splitlines()[0]
            except Exception as e:
                # the index could not be written: nothing is marked as seen, the next refresh
                # tries the same entries again
                result.build_error = str(e) or e.__class__.__name__
                for report in reports:
                    report.new = 0
                _record(feeds, planned, reports, saved=False)
                feeds_file.save(feeds)
                raise
        _record(feeds, planned, reports, saved=True)
        feeds_file.save(feeds)
    return result


def _record(feeds: list[dict], planned: dict[str, dict], reports: list[FeedReport], *, saved: bool) -> None:
    by_url = {r.url: r for r in reports}
    for feed in feeds:
        plan = planned.get(feed["url"], {})
        report = by_url.get(feed["url"])
        feed["last_refresh"] = _now()
        feed["last_result"] = report.line().split(": ", 1)[-1] if report else ""
        if not saved:
            continue
        if "etag" in plan:
            feed["etag"], feed["modified"] = plan["etag"], plan["modified"]
        if plan.get("seen"):
            feed["seen"] = (feed.get("seen", []) + plan["seen"])[-MAX_SEEN:]


def _refresh_one(feed: dict, fetcher: Fetcher, report: FeedReport, seen: set[str],
                 max_new: int) -> tuple[list[Article], dict]:
    plan: dict = {}
    try:
        response = fetcher.get(feed["url"], etag=feed.get("etag", ""), modified=feed.get("modified", ""),
                               accept="application/rss+xml, application/atom+xml, application/feed+json, "
                                      "application/xml;q=0.9, */*;q=0.8")
    except FetchError as e:
        report.error = str(e)
        return [], plan
    if response.not_modified:
        report.not_modified = True
        return [], plan
    try:
        parsed = parse_feed(response.body, response.url)
    except FeedError as e:
        report.error = str(e)
        return [], plan
    # saved only with the entries, once the build is published (a killed refresh must not
    # leave a 304 hiding entries it never indexed)
    plan["etag"] = response.headers.get("etag", "")
    plan["modified"] = response.headers.get("last-modified", "")
    plan["seen"] = []
    todo: list[Entry] = []
    taken: set[str] = set()
    for entry in parsed.entries:
        if not entry.link:
            report.failed.append((entry.title[:60] or "an entry", "no link"))
            continue
        if entry.link in seen or entry.link in taken:
            report.unchanged += 1
            continue
        taken.add(entry.link)
        todo.append(entry)
    if len(todo) > max_new:
        report.deferred = len(todo) - max_new
        todo = todo[:max_new]  # feeds list the newest first
    articles = []
    for entry in todo:
        try:
            page = fetcher.get(entry.link, accept="text/html, application/xhtml+xml;q=0.9, */*;q=0.5")
        except FetchError as e:
            report.failed.append((entry.link, str(e)))
            continue
        if page.content_type and not (page.content_type.startswith("text/") or "html" in page.content_type
                                      or page.content_type.endswith("xml")):
            report.failed.append((entry.link, f"not a web page ({page.content_type})"))
            plan["seen"].append(entry.link)  # it will not become one
            continue
        html = _decode_html(page.body, page.charset, lenient=True) or ""
        # a page whose metadata names no site is credited to the feed's title (its outlet)
        got, skipped = parse_html(html, source=page.url, key=entry.link, outlet=parsed.title)
        if not got:
            report.failed.append((entry.link, skipped[0].reason if skipped else "no article text"))
            plan["seen"].append(entry.link)  # the same page will not get text by itself
            continue
        article = got[0]
        if not article.published and entry.published:
            article = dataclasses.replace(article, published=entry.published)
        if not article.author and entry.author:
            article = dataclasses.replace(article, author=entry.author[:200])
        articles.append(article)
        plan["seen"].append(entry.link)
        report.new += 1
    return articles, plan


def _dedupe(articles: list[Article]) -> list[Article]:
    """One article per id and per text (the same story found through two feeds)."""
    from .articles import dedupe

    out, _ = dedupe(articles, [])
    return out


def skipped_of(result: RefreshResult) -> list[Skipped]:
    return [Skipped(what, why) for r in result.reports for what, why in r.failed]
