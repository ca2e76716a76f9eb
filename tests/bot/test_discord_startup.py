"""`cita bot` as a user runs it (a real process): one clear line and a non-zero exit for a missing
or rejected token, a missing index or a missing Message Content intent; the invite URL; a clean
stop on SIGTERM; the token never in the output or the log. And sharding."""

from __future__ import annotations

import signal
from urllib.parse import parse_qs, urlparse

import pytest

from bot.client import required_permissions
from cita.bot_command import run_bot
from tests.bot.discord_standin import BotRunner, StandIn, bot_settings, make_token, pings_nobody
from tests.helpers import popen_cita
from tests.helpers import run_cita as cita

pytestmark = pytest.mark.slow


def one_line(stderr: str) -> str:
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, f"expected one line on stderr, got:\n{stderr}"
    assert "Traceback" not in stderr
    return lines[0]


def test_without_a_token(tmp_path):
    done = cita("bot", cwd=tmp_path, CITA_DATA_DIR=tmp_path / "data")
    assert done.returncode == 2
    assert one_line(done.stderr).startswith("cita: DISCORD_TOKEN is not set: put the bot token in .env")


def test_the_invite_url_carries_the_application_id_permissions_and_scopes(tmp_path):
    token = make_token(123456789012345678)
    done = cita("bot", "--invite-url", cwd=tmp_path, DISCORD_TOKEN=token, CITA_DATA_DIR=tmp_path / "data")
    assert done.returncode == 0, done.stderr
    url = urlparse(done.stdout.strip())
    query = parse_qs(url.query)
    assert (url.scheme, url.netloc, url.path) == ("https", "discord.com", "/oauth2/authorize")
    assert query["client_id"] == ["123456789012345678"]
    assert query["scope"] == ["bot applications.commands"]
    perms = int(query["permissions"][0])
    assert perms == required_permissions().value
    for bit in (10, 11, 14, 16, 35, 38):  # view, send, embed links, read history, create threads, send in threads
        assert perms & (1 << bit)
    assert not perms & (1 << 3), "never Administrator"
    assert token not in done.stdout + done.stderr

    bad = cita("bot", "--invite-url", cwd=tmp_path, DISCORD_TOKEN="not-a-token", CITA_DATA_DIR=tmp_path / "data")
    assert bad.returncode == 2
    assert one_line(bad.stderr).startswith("cita: DISCORD_TOKEN does not look like a bot token")


def test_a_token_pasted_with_its_bot_prefix_still_works(settings_for, tmp_path, capsys):
    token = make_token(42)
    assert run_bot(settings_for(tmp_path, discord_token=f"Bot {token}"), invite_url=True) == 0
    assert "client_id=42&" in capsys.readouterr().out


def test_without_an_index_it_says_which_command_builds_it(tmp_path, standin):
    done = cita("bot", cwd=tmp_path, DISCORD_TOKEN=standin.token, CITA_DISCORD_API_URL=standin.api_url,
                CITA_DATA_DIR=tmp_path / "empty")
    assert done.returncode == 1
    line = one_line(done.stderr)
    assert line.startswith("cita: there is no index yet in ") and "build it with `cita index rebuild`" in line
    assert not standin.requests, "Discord is not contacted without an index"


def test_an_index_built_with_another_model_is_one_line_before_connecting(tmp_path, standin, data_copy):
    import json

    gen = json.loads((data_copy / "current.json").read_text())["generation"]
    manifest_path = data_copy / "generations" / gen / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest_path.write_text(json.dumps({**manifest, "embed_model": "some-other-model"}))
    done = cita("bot", cwd=tmp_path, DISCORD_TOKEN=standin.token, CITA_DISCORD_API_URL=standin.api_url,
                CITA_DATA_DIR=data_copy)
    assert done.returncode == 1
    line = one_line(done.stderr)
    assert "built with 'some-other-model'" in line and "rebuild it with `cita index rebuild`" in line
    assert not standin.requests, "Discord is not contacted with an index it cannot use"


def test_a_rejected_token(tmp_path, standin, data_copy):
    wrong = make_token(standin.app_id)  # well formed, but not the bot's
    done = cita("bot", cwd=tmp_path, DISCORD_TOKEN=wrong, CITA_DISCORD_API_URL=standin.api_url,
                CITA_DATA_DIR=data_copy)
    assert done.returncode == 78, "a configuration error a restart cannot fix (RestartPreventExitStatus)"
    assert one_line(done.stderr).startswith("cita: Discord rejected DISCORD_TOKEN (401 Unauthorized)")
    assert wrong not in done.stdout + done.stderr
    assert wrong not in (data_copy / "cita.log").read_text()


def test_a_missing_message_content_intent(tmp_path, data_copy):
    standin = StandIn(message_content_enabled=False).start()
    try:
        done = cita("bot", cwd=tmp_path, DISCORD_TOKEN=standin.token, CITA_DISCORD_API_URL=standin.api_url,
                    CITA_DATA_DIR=data_copy)
    finally:
        standin.stop()
    assert done.returncode == 78, "close code 4014: restarting would only spend identifies"
    line = one_line(done.stderr)
    assert line.startswith("cita: the Message Content intent is not enabled for this bot")
    assert "Privileged Gateway Intents" in line
    assert standin.closed_with == [4014]


def test_cita_bot_answers_and_stops_cleanly_on_sigterm_without_logging_the_token(tmp_path, standin, data_copy):
    proc = popen_cita("-v", "bot", cwd=tmp_path, DISCORD_TOKEN=standin.token, CITA_DISCORD_API_URL=standin.api_url,
                      CITA_DATA_DIR=data_copy)
    try:
        standin.wait_ready(timeout=120)
        log_file = data_copy / "cita.log"
        standin.wait_until(lambda: "connected to Discord as Cita" in log_file.read_text(), what="on_ready")
        q = standin.user_message("When is the security meeting?")
        answer = standin.wait_for(lambda r: r.matches("POST", rf"/channels/{q['id']}/messages"), what="the answer")
        assert pings_nobody(answer.json)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "Traceback" not in err, err[err.find("Traceback") - 300:][:3000]
    log = (data_copy / "cita.log").read_text()
    assert "slash commands registered: ask, sources, help, reindex" in log
    assert standin.token not in out + err + log, "the token never appears, even at -v (debug) level"


def test_shard_settings_must_agree(settings_for, tmp_path, capsys):
    settings = settings_for(tmp_path, discord_token=make_token(1), shard_ids=frozenset({1}))
    assert run_bot(settings) == 2
    assert capsys.readouterr().err.strip() == "cita: CITA_SHARD_IDS needs CITA_SHARD_COUNT (the total number of shards)"
    settings = settings_for(tmp_path, discord_token=make_token(1), shard_count=2, shard_ids=frozenset({2}))
    assert run_bot(settings) == 2


def test_sharded_the_bot_opens_one_connection_per_shard_and_answers(settings_for, seed_data_dir, seed_answerer):
    standin = StandIn().start()
    runner = BotRunner(standin, bot_settings(settings_for, seed_data_dir, standin, shard_count=2),
                       answerer=seed_answerer)
    try:
        runner.start(sessions=2)
        assert sorted(tuple(i["shard"]) for i in standin.identifies) == [(0, 2), (1, 2)]
        q = standin.user_message("When is the security meeting?")
        standin.wait_for(lambda r: r.matches("POST", rf"/channels/{q['id']}/messages"), what="the answer")
    finally:
        runner.stop()
        standin.stop()


def test_one_process_can_run_some_of_the_shards(settings_for, seed_data_dir, seed_answerer):
    standin = StandIn().start()
    mine = (standin.guild_id >> 22) % 3
    runner = BotRunner(standin, bot_settings(settings_for, seed_data_dir, standin, shard_count=3,
                                             shard_ids=frozenset({mine})), answerer=seed_answerer)
    try:
        runner.start(sessions=1)
        assert [tuple(i["shard"]) for i in standin.identifies] == [(mine, 3)]
        q = standin.user_message("When is the security meeting?")
        standin.wait_for(lambda r: r.matches("POST", rf"/channels/{q['id']}/messages"), what="the answer")
    finally:
        runner.stop()
        standin.stop()
