"""Rebuilding the index while the bot runs: /reindex (Manage Server only, checked by the bot) and
a rebuild from the command line, both picked up without a restart. The new article says
"@everyone", which the bot quotes without pinging anyone."""

from __future__ import annotations

import json
import shutil

import pytest

from bot.cog import NOT_ALLOWED_TO_REINDEX, REINDEX_RUNNING
from tests.bot.discord_standin import MANAGE_GUILD, MEMBER_PERMISSIONS, BotRunner, bot_settings, pings_nobody
from tests.conftest import SEEDS
from tests.helpers import run_cita

pytestmark = pytest.mark.slow

FAIR = "@everyone está invitado a la feria del queso, que se celebrará el sábado 3 de octubre en la plaza mayor."
FAIR_ARTICLE = f"""Port Ellen celebra su feria del queso

El ayuntamiento de Port Ellen anunció este lunes la primera feria del queso de la isla.

{FAIR}

Habrá catas gratuitas, música en directo y un concurso para los productores locales.
"""


@pytest.fixture
def index_copy(tmp_path, seed_data_dir):
    """A writable copy of the seed index and an articles folder holding the seed articles."""
    data = tmp_path / "data"
    shutil.copytree(seed_data_dir, data, ignore=shutil.ignore_patterns("readers", "*.lock"))
    articles = tmp_path / "articles"
    shutil.copytree(SEEDS, articles)
    return data, articles


def generation(data_dir) -> str:
    return json.loads((data_dir / "current.json").read_text())["generation"]


@pytest.fixture
def running_bot(standin, settings_for, index_copy, e5):
    from cita.app import make_answerer, make_builder

    data, articles = index_copy
    settings = bot_settings(settings_for, data, standin, articles_dir=articles)
    answerer = make_answerer(settings, e5)
    answerer.library.check_every = 0  # read the published pointer on every question: no waiting
    builds = []  # one entry per rebuild the bot starts

    def builder():
        builds.append(1)
        return make_builder(settings, e5, store=answerer.library.store)

    runner = BotRunner(standin, settings, answerer=answerer, builder_factory=builder).start()
    runner.builds = builds
    yield runner
    runner.stop()


def ask_about_the_fair(standin) -> dict:
    q = standin.user_message("When is the cheese fair?")
    return standin.wait_for(lambda r: r.matches("POST", rf"/channels/{q['id']}/messages"), what="the answer").json


def test_reindex_is_refused_without_manage_server_and_done_with_it(standin, running_bot, index_copy):
    data, articles = index_copy
    before = generation(data)
    assert "@everyone" not in json.dumps(ask_about_the_fair(standin)), "the seed index knows no fair"
    (articles / "feria.txt").write_text(FAIR_ARTICLE, encoding="utf-8")

    # a member without Manage Server (Discord delivered the command: server admins can change who sees it)
    denied = standin.slash("reindex", user=standin.alice, permissions=MEMBER_PERMISSIONS)
    refusal = standin.wait_for(lambda r: r.path.endswith(f"/{denied['token']}/callback"), what="the refusal")
    assert refusal.json["type"] == 4
    assert refusal.json["data"]["content"] == NOT_ALLOWED_TO_REINDEX and refusal.json["data"]["flags"] == 64
    assert generation(data) == before and not running_bot.builds

    # a member with Manage Server
    done = standin.slash("reindex", user=standin.admin, permissions=MEMBER_PERMISSIONS | MANAGE_GUILD)
    again = standin.slash("reindex", user=standin.admin, permissions=MEMBER_PERMISSIONS | MANAGE_GUILD)
    ack = standin.wait_for(lambda r: r.path.endswith(f"/{done['token']}/callback"), what="the defer")
    assert ack.json["type"] == 5 and ack.json["data"]["flags"] == 64
    busy = standin.wait_for(lambda r: r.path.endswith(f"/{again['token']}/callback"), what="the second /reindex")
    assert busy.json["data"]["content"] == REINDEX_RUNNING
    report = standin.wait_for(lambda r: standin.is_interaction_reply(r, done['token']),
                              timeout=180, what="the rebuild report")
    assert report.json["content"].startswith("Index rebuilt from `articles/`: articles: 2, chunks: ")
    assert standin.interactions[done["token"]]["original"]["flags"] & 64, "private: the defer was"
    assert pings_nobody(report.json)
    assert generation(data) != before
    assert len(running_bot.builds) == 1, "only the allowed /reindex rebuilt (not the refused one, not the busy one)"

    # the new generation serves the next question; the article's @everyone pings nobody
    answer = ask_about_the_fair(standin)
    assert FAIR in answer["embeds"][0]["description"]
    assert pings_nobody(answer)


def test_a_rebuild_from_the_command_line_is_picked_up_without_a_restart(standin, running_bot, index_copy):
    data, articles = index_copy
    before = generation(data)
    (articles / "feria.txt").write_text(FAIR_ARTICLE, encoding="utf-8")
    done = run_cita("index", "rebuild", data_dir=data, CITA_ARTICLES_DIR=articles, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("articles: 2, chunks: ")
    assert generation(data) != before
    answer = ask_about_the_fair(standin)
    assert FAIR in answer["embeds"][0]["description"]
    assert pings_nobody(answer)
