"""Outlets of feed articles: a page whose metadata names no site is credited to the feed's own
title; a page that names its site keeps it. Against the local HTTP server on 127.0.0.1, with the
real refresh, the real build (hash-test embedder) and the real index."""

from __future__ import annotations

from index.build import BuildConfig, Builder
from index.feeds import add_feed, refresh
from index.store import LocalStore
from index.web import Fetcher

from .feed_server import FeedServer, json_feed, page, rss

BODY = ("El ayuntamiento aprobó el nuevo plan de transporte con un presupuesto de 40 millones de euros "
        "para renovar los autobuses de la ciudad antes del verano.\n\n"
        "La oposición pidió más carriles bici y un calendario de obras público, según el acta del pleno.")


def sited(html: str, name: str) -> str:
    return html.replace("<head>", f'<head><meta property="og:site_name" content="{name}">')


def test_a_page_without_a_site_name_takes_the_feeds_title_as_its_outlet(hash_warm_data_dir, hash_embedder):
    server = FeedServer()
    builder = Builder(LocalStore(hash_warm_data_dir), hash_embedder, BuildConfig())
    try:
        server.route("/a.html", page("El plan de transporte", BODY))
        server.route("/b.html", sited(page("Otro plan de transporte", BODY.replace("40", "55")), "Gaceta Austral"))
        server.route("/c.html", page("Un tercer plan", BODY.replace("40", "70")))
        feed = server.route("/rss.xml", rss("  El Diario  del Puerto ", [("A", f"{server.base}/a.html"),
                                                                       ("B", f"{server.base}/b.html")]),
                            content_type="application/rss+xml")
        untitled = server.route("/feed.json", json_feed("", [("C", f"{server.base}/c.html")]),
                                content_type="application/feed+json")
        fetcher = Fetcher(allow_private=True, per_host_interval=0.0, timeout=5)
        for url in (feed, untitled):
            add_feed(hash_warm_data_dir, fetcher, url)
        result = refresh(hash_warm_data_dir, fetcher, builder)
        assert result.new_articles == 3 and not result.build_error
        _, manifest = LocalStore(hash_warm_data_dir).current()
        outlets = {a["source"].rsplit("/", 1)[-1]: a["outlet"] for a in manifest["articles"]}
        assert outlets == {"a.html": "El Diario del Puerto",  # the feed's title
                           "b.html": "Gaceta Austral",  # the page's own metadata wins
                           "c.html": "127.0.0.1:" + server.base.rsplit(":", 1)[1]}  # no title: the page's host
    finally:
        builder.close()
        server.close()
