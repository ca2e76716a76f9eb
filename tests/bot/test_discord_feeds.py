"""Feeds in the bot: the scheduled refresh (CITA_REFRESH_MINUTES) serves a new feed article to a
question without a restart, answers going on meanwhile; /refresh is for Manage Server only;
/sources lists the feeds with their last refresh."""

from __future__ import annotations

import json
import shutil

import pytest

from bot.cog import NOT_ALLOWED_TO_REFRESH
from tests.bot.discord_standin import MANAGE_GUILD, MEMBER_PERMISSIONS, BotRunner, bot_settings, pings_nobody
from tests.index.feed_server import FeedServer, page, rss

pytestmark = pytest.mark.slow

FAIR = "La feria del queso de Port Ellen se celebrará el sábado 3 de octubre en la plaza mayor."
FAIR_BODY = ("El ayuntamiento de Port Ellen anunció este lunes la primera feria del queso de la isla.\n\n"
             f"{FAIR}\n\nHabrá catas gratuitas, música en directo y un concurso para los productores locales.")


@pytest.fixture
def outlet():
    server = FeedServer()
    server.route("/news/feria.html", page("Port Ellen celebra su feria del queso", FAIR_BODY))
    server.route("/rss.xml", rss("La Voz de Islay", []), content_type="application/rss+xml")
    yield server
    server.close()


def generation(data_dir) -> str:
    return json.loads((data_dir / "current.json").read_text())["generation"]


def start(standin, settings_for, seed_data_dir, tmp_path, e5, outlet, **overrides):
    from cita.app import make_answerer, make_fetcher, make_refresher
    from index.feeds import add_feed

    data = tmp_path / "data"
    shutil.copytree(seed_data_dir, data, ignore=shutil.ignore_patterns("readers", "*.lock"))
    settings = bot_settings(settings_for, data, standin, allow_private_urls=True, fetch_timeout_s=2.0, **overrides)
    add_feed(data, make_fetcher(settings), outlet.base + "/rss.xml")
    answerer = make_answerer(settings, e5)
    answerer.library.check_every = 0
    refreshes = []

    def refresher():
        refreshes.append(1)
        return make_refresher(settings, e5, store=answerer.library.store)()

    runner = BotRunner(standin, settings, answerer=answerer, refresher=refresher).start()
    return runner, data, refreshes


def ask_about_the_fair(standin) -> dict:
    q = standin.user_message("¿Cuándo es la feria del queso de Port Ellen?")
    return standin.wait_for(lambda r: r.matches("POST", rf"/channels/{q['id']}/messages"), what="the answer").json


def test_the_scheduled_refresh_serves_a_new_feed_article_without_a_restart(standin, settings_for, seed_data_dir,
                                                                          tmp_path, e5, outlet):
    from tests.index.conftest import wait_for

    runner, data, refreshes = start(standin, settings_for, seed_data_dir, tmp_path, e5, outlet, refresh_minutes=0.02)
    try:
        wait_for(lambda: len(refreshes) >= 1, 60, "the first scheduled refresh")
        before = generation(data)
        assert FAIR not in json.dumps(ask_about_the_fair(standin), ensure_ascii=False)
        # the outlet publishes the story; the next scheduled refresh indexes it
        outlet.route("/rss.xml", rss("La Voz de Islay", [("Port Ellen celebra su feria del queso",
                                                          outlet.base + "/news/feria.html")]),
                     content_type="application/rss+xml")
        wait_for(lambda: generation(data) != before, 120, "the refresh to publish the new article")
        published = generation(data)
        answer = ask_about_the_fair(standin)
        assert FAIR in answer["embeds"][0]["description"], "answered from the feed article, no restart"
        assert pings_nobody(answer)
        assert len(outlet.hits("/news/feria.html")) == 1, "fetched once, however many refreshes ran"
        n = len(refreshes)
        wait_for(lambda: len(refreshes) >= n + 2, 60, "more scheduled refreshes")  # one at a time: n + 1 is done
        assert generation(data) == published, "a refresh with nothing new publishes no new generation"
        assert len(outlet.hits("/news/feria.html")) == 1
    finally:
        runner.stop()


def test_refresh_is_for_admins_and_sources_lists_the_feeds(standin, settings_for, seed_data_dir, tmp_path, e5,
                                                           outlet):
    runner, data, refreshes = start(standin, settings_for, seed_data_dir, tmp_path, e5, outlet)
    try:
        outlet.route("/rss.xml", rss("La Voz de Islay", [("Port Ellen celebra su feria del queso",
                                                          outlet.base + "/news/feria.html")]),
                     content_type="application/rss+xml")
        denied = standin.slash("refresh", user=standin.alice, permissions=MEMBER_PERMISSIONS)
        refusal = standin.wait_for(lambda r: r.path.endswith(f"/{denied['token']}/callback"), what="the refusal")
        assert refusal.json["data"]["content"] == NOT_ALLOWED_TO_REFRESH and refusal.json["data"]["flags"] == 64
        runner.settle()  # on_ready has run: a scheduled refresh would have been started there
        assert runner.cog._refresh_task is None and not refreshes, "off by default, and refused"

        done = standin.slash("refresh", user=standin.admin, permissions=MEMBER_PERMISSIONS | MANAGE_GUILD)
        report = standin.wait_for(lambda r: standin.is_interaction_reply(r, done['token']),
                                  timeout=180, what="the refresh report")
        text = report.json["content"]
        assert f"{outlet.base}/rss.xml: 1 new, 0 unchanged, 0 failed" in text and "articles: 2" in text, text
        assert standin.interactions[done["token"]]["original"]["flags"] & 64, "private: the defer was"
        assert pings_nobody(report.json)
        assert FAIR in ask_about_the_fair(standin)["embeds"][0]["description"]

        listing = standin.slash("sources")
        shown = standin.wait_for(lambda r: standin.is_interaction_reply(r, listing['token']),
                                 what="the sources").json
        [field] = shown["embeds"][0]["fields"]
        assert field["name"] == "Feeds (1)"
        assert "La Voz de Islay" in field["value"] and "last refreshed" in field["value"] and "1 new" in field["value"]
    finally:
        runner.stop()
