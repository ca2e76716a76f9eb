"""Fixtures of the Discord tests: the local stand-in of Discord, bots started against it, and a
copy of the seed data dir a bot process may write to."""

from __future__ import annotations

import shutil

import pytest

from tests.bot.discord_standin import BotRunner, StandIn, bot_settings


@pytest.fixture
def standin(request):
    """The stand-in; a test module sets HEARTBEAT_MS for a faster gateway heartbeat."""
    heartbeat = getattr(request.module, "HEARTBEAT_MS", None)
    s = StandIn(**({"heartbeat_interval_ms": heartbeat} if heartbeat else {})).start()
    yield s
    s.stop()


@pytest.fixture
def start_bot(standin, settings_for, seed_data_dir, seed_answerer):
    """start(answerer=None, data_dir=None, builder_factory=None, **settings): a bot (real discord.py
    client, in a thread) connected to the stand-in; stopped at the end of the test."""
    runners = []

    def start(answerer=None, data_dir=None, builder_factory=None, **overrides):
        settings = bot_settings(settings_for, data_dir or seed_data_dir, standin, **overrides)
        runner = BotRunner(standin, settings, answerer=answerer or seed_answerer,
                           builder_factory=builder_factory).start()
        runners.append(runner)
        return runner

    yield start
    for r in runners:
        r.stop()


@pytest.fixture
def data_copy(tmp_path, seed_data_dir):
    """The seed index, copied without its leases, locks and log."""
    data = tmp_path / "data"
    shutil.copytree(seed_data_dir, data, ignore=shutil.ignore_patterns("readers", "*.lock", "cita.log"))
    return data
