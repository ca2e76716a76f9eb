"""The `cita` command: build and inspect the index, ask from the terminal, run the bot."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

from .settings import CHECKOUT, Settings, SettingsError, load_settings

log = logging.getLogger("cita")

EXAMPLES = """\
examples:
  cita index rebuild                 build the index from the articles folder (CITA_ARTICLES_DIR)
  cita index add https://example.com/news/story.html
  cita index status --json
  cita feeds add https://example.com/   follow an outlet (its feed link is found on the home page)
  cita index refresh                 index the new articles of every feed (e.g. from cron)
  cita ask "What did the US demand?"
  cita ask --today 2026-01-18 "¿Qué pasó la semana pasada?"
  cita ask --timeline "security talks"
  echo "¿Qué pidió Estados Unidos?" | cita ask --json
  cita eval xquad --limit 200
  cita eval news --json              the news benchmark in eval/news
  cita bot                           run the Discord bot (DISCORD_TOKEN in .env)
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cita", description="Answer questions about news articles by quoting them.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-v", "--verbose", action="store_true", help="log more detail to stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    index = sub.add_parser("index", help="build, change and inspect the article index")
    isub = index.add_subparsers(dest="index_command", metavar="ACTION")
    isub.required = True
    rebuild = isub.add_parser("rebuild", help="replace the index with the articles under PATHs "
                              "(default: the articles folder); unchanged text is never embedded twice")
    rebuild.add_argument("paths", nargs="*", type=Path, metavar="PATH")
    rebuild.add_argument("--json", action="store_true", help="print the summary as JSON")
    add = isub.add_parser("add", help="add articles from files, folders or web pages (URLs)")
    add.add_argument("sources", nargs="+", metavar="PATH_OR_URL")
    add.add_argument("--json", action="store_true", help="print the summary as JSON")
    remove = isub.add_parser("remove", help="remove articles by id, source (path or URL) or title")
    remove.add_argument("articles", nargs="+", metavar="ARTICLE")
    remove.add_argument("--json", action="store_true", help="print the summary as JSON")
    refresh = isub.add_parser("refresh", help="fetch every feed (`cita feeds`) and index the articles not "
                              "indexed yet, in one step; one summary line per feed")
    refresh.add_argument("--json", action="store_true", help="print one JSON object")
    merge = isub.add_parser("merge", help="copy the live rows of all segments into one (adds write small "
                            "segments; a merge makes them one again and drops removed rows)")
    merge.add_argument("--json", action="store_true", help="print the summary as JSON")
    status = isub.add_parser("status", help="what is indexed, with which model, since when")
    status.add_argument("--json", action="store_true", help="print one JSON object")
    status.add_argument("--articles", action="store_true", help="list the articles too")

    feeds = sub.add_parser("feeds", help="the news feeds (RSS, Atom, JSON Feed) `cita index refresh` follows")
    fsub = feeds.add_subparsers(dest="feeds_command", metavar="ACTION")
    fsub.required = True
    fadd = fsub.add_parser("add", help="follow a feed, given its URL or a site's home page that links to it")
    fadd.add_argument("url", metavar="URL")
    flist = fsub.add_parser("list", help="the feeds followed, with their last refresh")
    flist.add_argument("--json", action="store_true", help="print one JSON object")
    fremove = fsub.add_parser("remove", help="stop following a feed (by URL, number in `list`, or title); "
                              "its articles stay in the index")
    fremove.add_argument("feed", metavar="FEED")

    ask = sub.add_parser("ask", help="answer a question with quotes and sources")
    ask.add_argument("question", nargs="?", help="the question; with --json and no question, "
                     "one question per line is read from standard input")
    ask.add_argument("--json", action="store_true", help="print one JSON object per question")
    ask.add_argument("--no-llm", action="store_true", help="extractive answer even if an LLM is configured")
    ask.add_argument("--today", metavar="YYYY-MM-DD", help="the day the question is asked: 'yesterday', "
                     "'last week', 'el jueves pasado' are read against it (default: today's date)")
    ask.add_argument("--timeline", action="store_true",
                     help="list the dated quotes about the topic (the question) in date order, one per event")

    ev = sub.add_parser("eval", help="measure answer quality on a benchmark")
    esub = ev.add_subparsers(dest="benchmark", metavar="BENCHMARK")
    esub.required = True
    xq = esub.add_parser("xquad", help="XQuAD: index the paragraphs of one language, ask in another")
    xq.add_argument("--dir", type=Path, default=CHECKOUT.parent / "shared" / "eval" / "xquad",
                    help="folder with xquad.LANG.json (default: ../shared/eval/xquad)")
    xq.add_argument("--paragraphs", default="es", metavar="LANG", help="language of the indexed paragraphs (es)")
    xq.add_argument("--questions", default="en", metavar="LANG", help="language of the questions (en)")
    xq.add_argument("--limit", type=int, default=None, metavar="N", help="ask only the first N questions")
    xq.add_argument("--json", action="store_true", help="print one JSON object")
    news = esub.add_parser("news", help="news questions over a folder of articles (DIR/articles, "
                           "DIR/questions.jsonl; README \"Answer quality\")")
    news.add_argument("--dir", type=Path, default=CHECKOUT / "eval" / "news",
                      help="the benchmark folder (default: eval/news)")
    news.add_argument("--json", action="store_true", help="print one JSON object")

    botp = sub.add_parser("bot", help="run the Discord bot")
    botp.add_argument("--invite-url", action="store_true",
                      help="print the URL that invites the bot with the permissions it needs, and exit")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as e:
        print(f"cita: {e}", file=sys.stderr)
        return 2
    setup_logging(settings, verbose=args.verbose)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    try:
        if args.command == "index":
            if args.index_command == "refresh":
                return cmd_refresh(args, settings)
            return cmd_index(args, settings)
        if args.command == "feeds":
            return cmd_feeds(args, settings)
        if args.command == "ask":
            return cmd_ask(args, settings)
        if args.command == "eval":
            return cmd_eval(args, settings)
        if args.command == "bot":
            from .bot_command import run_bot

            return run_bot(settings, invite_url=args.invite_url)
    except KeyboardInterrupt:
        print("cita: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # the edge: domain errors become one line, the rest is logged
        message = user_message(e)
        if message is None:
            log.exception("unexpected error")
            message = f"unexpected error ({e.__class__.__name__}); details in {settings.data_dir / 'cita.log'}"
        print(f"cita: {message}", file=sys.stderr)
        return 1
    return 0


def user_message(error: Exception) -> str | None:
    """The short message for a domain error, or None for an unexpected one."""
    from answer.answering import QuestionError
    from answer.llm import LLMConfigError
    from index.build import NothingIndexed
    from index.embedding import EmbeddingModelError
    from index.feeds import FeedError
    from index.store import StoreError

    if isinstance(error, (StoreError, QuestionError, NothingIndexed, EmbeddingModelError, SettingsError,
                          LLMConfigError, FeedError)):
        return str(error)
    return None


def setup_logging(settings: Settings, *, verbose: bool) -> None:
    """Warnings to stderr, everything (with tracebacks) to data_dir/cita.log."""
    root = logging.getLogger()
    root.setLevel(logging.DEBUG if verbose else getattr(logging, settings.log_level.upper(), logging.INFO))
    console = logging.StreamHandler(sys.stderr)
    console.setLevel(logging.DEBUG if verbose else logging.WARNING)
    console.setFormatter(_NoTraceback("%(levelname)s %(name)s: %(message)s"))
    root.addHandler(console)
    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(settings.data_dir / "cita.log", encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
    except OSError:
        pass
    for noisy in ("chromadb", "httpx", "httpcore", "urllib3", "discord.gateway"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # their warnings are about the pages ("discarding data: None"): the skip reason says it
    for noisy in ("trafilatura", "htmldate"):
        logging.getLogger(noisy).setLevel(logging.ERROR)


class _NoTraceback(logging.Formatter):
    """The terminal gets the message; the traceback goes to the log file only."""

    def format(self, record: logging.LogRecord) -> str:
        saved = record.exc_info, record.exc_text
        record.exc_info, record.exc_text = None, None
        try:
            return super().format(record)
        finally:
            record.exc_info, record.exc_text = saved


# -- index ------------------------------------------------------------------------------------

def cmd_index(args, settings: Settings) -> int:
    from .app import make_builder, make_store

    if args.index_command == "status":
        return index_status(make_store(settings), as_json=args.json, list_articles=args.articles)
    builder = make_builder(settings, progress=sys.stderr.isatty() and not getattr(args, "json", False))
    try:
        if args.index_command == "rebuild":
            summary = builder.rebuild(args.paths or [settings.articles_dir])
            unknown: list[str] = []
        elif args.index_command == "add":
            summary = builder.add(args.sources)
            unknown = []
        elif args.index_command == "merge":
            summary = builder.merge()
            unknown = []
        else:
            summary, unknown = builder.remove(args.articles)
    finally:
        builder.close()
    for name in unknown:
        print(f"not in the index: {name}", file=sys.stderr)
    if args.json:
        print(json.dumps(summary.as_dict(), ensure_ascii=False))
    else:
        for s in summary.skipped:
            print(f"skipped {s.source}: {s.reason}", file=sys.stderr)
        print(summary.line())
    return 1 if unknown and args.index_command == "remove" and summary.unchanged else 0


def index_status(store, *, as_json: bool, list_articles: bool) -> int:
    from index.store import IndexMissing, segments_of

    try:
        generation, manifest = store.current()
    except IndexMissing:
        if as_json:
            print(json.dumps({"articles": 0, "chunks": 0, "embed_model": None, "generation": None,
                              "built_at": None, "store": store.description}))
        else:
            print(f"No index yet in the {store.description}. Build it with: cita index rebuild")
        return 1
    info = {
        "articles": len(manifest["articles"]),
        "chunks": manifest["chunks"],
        "sentences": manifest.get("sentences", 0),
        "embed_model": manifest["embed_model"],
        "generation": generation,
        "segments": len(segments_of(manifest)),
        "built_at": manifest["built_at"],
        "store": store.description,
        "languages": _count(a["language"] for a in manifest["articles"]),
        "dates": date_range(manifest["articles"]),
    }
    if as_json:
        if list_articles:
            info["article_list"] = [{k: v for k, v in a.items() if k != "minhash"} for a in manifest["articles"]]
        print(json.dumps(info, ensure_ascii=False))
        return 0
    print(f"{info['articles']} articles, {info['chunks']} chunks, {info['sentences']} sentences")
    print(f"model: {info['embed_model']}; generation {generation} ({info['segments']} segments), "
          f"built {info['built_at']}")
    print(f"store: {store.description}")
    dates = info["dates"]
    if dates["first"]:
        print(f"dates: {dates['first']} to {dates['last']} ({dates['undated']} undated); "
              f"wire-copy groups: {dates['copy_groups']} ({dates['copies']} articles)")
    else:
        print(f"dates: none known ({dates['undated']} undated)")
    if list_articles:
        for a in manifest["articles"]:
            print(f"  {a['id']}  {a['title'][:70]}  ({a['published'] or 'no date'}; {a['source']})")
    return 0


def date_range(articles: list[dict]) -> dict:
    """The publication dates the index covers, and how many articles are undated or copies."""
    dates = sorted(a["published"] for a in articles if a.get("published"))
    groups = _count(a.get("group", a["id"]) for a in articles)
    multi = [n for n in groups.values() if n > 1]
    return {"first": dates[0] if dates else None, "last": dates[-1] if dates else None,
            "undated": len(articles) - len(dates), "copy_groups": len(multi), "copies": sum(multi)}


def _count(values) -> dict[str, int]:
    out: dict[str, int] = {}
    for v in values:
        out[v] = out.get(v, 0) + 1
    return out


# -- feeds ------------------------------------------------------------------------------------

def cmd_feeds(args, settings: Settings) -> int:
    from index.feeds import FeedList, add_feed, remove_feed

    from .app import make_fetcher

    if args.feeds_command == "add":
        feed, new = add_feed(settings.data_dir, make_fetcher(settings), args.url)
        state = "added" if new else "already followed"
        print(f"{state}: {feed['url']} ({feed['title']})")
        return 0
    if args.feeds_command == "remove":
        feed = remove_feed(settings.data_dir, args.feed)
        if feed is None:
            print(f"cita: no such feed: {args.feed} (see `cita feeds list`)", file=sys.stderr)
            return 1
        print(f"removed: {feed['url']} (its articles stay in the index; `cita index remove` drops them)")
        return 0
    feeds = FeedList(settings.data_dir).load()
    if args.json:
        print(json.dumps({"feeds": [{k: v for k, v in f.items() if k != "seen"} | {"seen": len(f.get("seen", []))}
                                    for f in feeds]}, ensure_ascii=False))
        return 0
    if not feeds:
        print("No feeds yet. Add one with: cita feeds add URL")
    for n, f in enumerate(feeds, 1):
        last = f"last refreshed {f['last_refresh']}: {f.get('last_result', '')}" if f.get("last_refresh") else "never refreshed"
        print(f"{n}. {f['title']}  {f['url']}  ({last})")
    return 0


def cmd_refresh(args, settings: Settings) -> int:
    from index.feeds import FeedList, refresh

    from .app import make_builder, make_fetcher

    if not FeedList(settings.data_dir).load():
        print("cita: no feeds to refresh; add one with `cita feeds add URL`", file=sys.stderr)
        return 1
    builder = make_builder(settings, progress=sys.stderr.isatty() and not args.json)
    try:
        result = refresh(settings.data_dir, make_fetcher(settings), builder)
    finally:
        builder.close()
    if args.json:
        print(json.dumps({"feeds": [r.as_dict() for r in result.reports],
                          "build": result.build.as_dict() if result.build else None,
                          "build_error": result.build_error}, ensure_ascii=False))
    else:
        for r in result.reports:
            print(r.line())
        if result.build is not None:
            print(result.build.line())
        elif result.build_error:
            print(f"nothing indexed: {result.build_error}")
        else:
            print("nothing new to index")
    return 1 if all(r.error for r in result.reports) else 0


# -- ask --------------------------------------------------------------------------------------

def cmd_ask(args, settings: Settings) -> int:
    from answer.answering import QuestionError
    from .app import make_answerer
    from answer.render import render_terminal

    from answer.dates import parse_today

    if args.question is None and not args.json:
        print("cita: give a question, or use --json to read questions from standard input", file=sys.stderr)
        return 2
    try:
        today = parse_today(args.today)
    except ValueError as e:
        print(f"cita: --today: {e}", file=sys.stderr)
        return 2
    answerer = make_answerer(settings)
    if args.timeline:
        from answer.timeline import build_timeline, render_timeline

        if args.question is None:
            print("cita: give a topic for --timeline", file=sys.stderr)
            return 2
        timeline = build_timeline(answerer, args.question, today=today)
        print(json.dumps(timeline.as_dict(), ensure_ascii=False) if args.json else render_timeline(timeline))
        return 0
    if args.question is not None:
        answer = answerer.ask(args.question, use_llm=not args.no_llm, today=today)
        print(json.dumps(answer.as_dict(), ensure_ascii=False) if args.json else render_terminal(answer))
        return 0
    failures = 0
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            out = answerer.ask(line, use_llm=not args.no_llm, today=today).as_dict()
        except QuestionError as e:
            out = {"question": line.strip()[:200], "error": str(e)}
            failures += 1
        print(json.dumps(out, ensure_ascii=False), flush=True)
    return 1 if failures else 0


# -- eval -------------------------------------------------------------------------------------

def cmd_eval(args, settings: Settings) -> int:
    from .evaluation import run_xquad

    if args.benchmark == "news":
        return cmd_eval_news(args, settings)

    if not (args.dir / f"xquad.{args.paragraphs}.json").exists():
        print(f"cita: no xquad.{args.paragraphs}.json in {args.dir}", file=sys.stderr)
        return 2
    result = run_xquad(settings, directory=args.dir, paragraphs=args.paragraphs, questions=args.questions,
                       limit=args.limit, progress=sys.stderr.isatty())
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"XQuAD: {args.paragraphs} paragraphs, {args.questions} questions ({result['questions']})")
    for key in ("recall_at_1", "recall_at_5", "mrr", "answer_contains", "abstained", "non_verbatim",
                "p50_ms", "p95_ms"):
        print(f"  {key}: {result[key]}")
    return 0


def cmd_eval_news(args, settings: Settings) -> int:
    from .evaluation import NewsEvalError, run_news

    try:
        result = run_news(settings, directory=args.dir, progress=sys.stderr.isatty() and not args.json)
    except NewsEvalError as e:
        print(f"cita: {e}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
        return 0
    total = len(result["questions"])
    print(f"News: {args.dir} ({total} questions, {result['index']['articles']} articles)")
    for kind, row in result["by_kind"].items():
        print(f"  {kind:<9} {row['hits']:>3} / {row['questions']:<3} {row['rate']:.2f}")
    print(f"  overall   {result['hits']:>3} / {total:<3} {result['overall']:.2f}")
    print(f"  quotes not exact spans: {result['non_verbatim']}; boilerplate quotes: {result['boilerplate']}")
    print(f"  latency p50 {result['p50_ms']} ms, p95 {result['p95_ms']} ms")
    misses = [r for r in result["questions"] if not r["hit"]]
    if misses:
        print("  missed:")
        for r in misses:
            said = "abstained" if r["abstained"] else (r["quotes"][0]["quote"][:90] if r["quotes"] else "")
            print(f"    [{r['kind']}] {r['q'][:80]}  ->  {said}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
