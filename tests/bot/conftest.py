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


@pytest.fixture(autouse=True)
def discord_rules_kept():
    """Fails a test in which the bot made a request Discord would refuse: a body against the
    API's spec or limits, an empty message, an interaction answered late or with an expired
    token (400/404/401), or a 403 for a permission it lacks beyond those the test expects."""
    before = len(StandIn.instances)
    yield
    made = StandIn.instances[before:]
    del StandIn.instances[before:]
    problems = []
    for s in made:
        problems += [f"{r.status} {r.method} {r.path}: {r.refused}" for r in s.invalid]
        if len(s.forbidden) > s.expected_forbidden:
            problems += [f"403 {r.method} {r.path}: {r.refused}" for r in s.forbidden]
    assert not problems, "the bot made requests Discord refuses:\n" + "\n".join(problems)
