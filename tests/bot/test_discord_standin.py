"""The stand-in refuses what Discord refuses: bodies against Discord's OpenAPI description (400 /
50035 naming the field), the limits the spec cannot state, missing permissions (403 / 50013),
late or expired interactions, a second thread on a message; and RESUME replays missed events.
These call its REST API directly, as a client that breaks the rules would."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import pytest

from tests.bot.discord_standin import READ_MESSAGE_HISTORY, StandIn


def call(standin: StandIn, method: str, path: str, body=None, *, auth: bool = True) -> tuple[int, dict]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(standin.api_url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    if auth:
        request.add_header("Authorization", f"Bot {standin.token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else {}
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


@pytest.fixture
def bare():
    """A stand-in no bot talks to (its refusals are this module's point: not checked)."""
    s = StandIn().start()
    yield s
    s.stop()
    s.invalid.clear()
    s.forbidden.clear()


NONE = {"parse": []}


def test_a_valid_message_is_accepted(bare):
    status, msg = call(bare, "POST", f"/channels/{bare.general}/messages",
                       {"content": "hello", "allowed_mentions": NONE, "embeds": [{"title": "t", "description": "d"}]})
    assert status == 200 and msg["content"] == "hello"
    assert not bare.invalid


@pytest.mark.parametrize("body, field, code", [
    ({"content": "x" * 2001}, ["content"], "BASE_TYPE_MAX_LENGTH"),
    ({"content": "x", "embeds": [{"title": "t" * 257}]}, ["embeds", "0", "title"], "BASE_TYPE_MAX_LENGTH"),
    ({"content": "x", "embeds": [{"description": "d" * 4097}]}, ["embeds", "0", "description"],
     "BASE_TYPE_MAX_LENGTH"),
    ({"content": "x", "embeds": [{"fields": [{"name": "n", "value": "v" * 1025}]}]},
     ["embeds", "0", "fields", "0", "value"], "BASE_TYPE_MAX_LENGTH"),
    ({"content": "x", "embeds": [{"description": "d"}] * 11}, ["embeds"], "BASE_TYPE_MAX_LENGTH"),
    ({"content": "x", "allowed_mentions": {"parse": ["everybody"]}}, ["allowed_mentions", "parse", "0"], None),
    ({"content": "x", "embeds": [{"description": "d" * 4000}, {"description": "d" * 2001}]}, ["embeds"],
     "MAX_EMBED_SIZE_EXCEEDED"),
    ({"content": "x", "embeds": [{"fields": [{"name": " ", "value": "v"}]}]},
     ["embeds", "0", "fields", "0", "name"], "BASE_TYPE_REQUIRED"),
])
def test_invalid_message_bodies_get_50035_naming_the_field(bare, body, field, code):
    status, error = call(bare, "POST", f"/channels/{bare.general}/messages", body)
    assert status == 400 and error["code"] == 50035, error
    node = error["errors"]
    for key in field:
        node = node[key]
    if code:
        assert node["_errors"][0]["code"] == code
    assert bare.invalid and not bare.messages


@pytest.mark.parametrize("body", [{"content": ""}, {"content": "   "}, {"embeds": []}, {}])
def test_an_empty_message_is_50006(bare, body):
    status, error = call(bare, "POST", f"/channels/{bare.general}/messages", body)
    assert (status, error["code"]) == (400, 50006)


def test_snowflakes_as_numbers_are_taken_like_strings(bare):
    status, msg = call(bare, "POST", f"/channels/{bare.general}/messages", {"content": "a"})
    status, reply = call(bare, "POST", f"/channels/{bare.general}/messages",
                         {"content": "b", "message_reference": {"message_id": int(msg["id"]),
                                                                "channel_id": bare.general}})
    assert status == 200 and reply["message_reference"]["message_id"] == msg["id"]


def test_thread_and_command_payloads_are_checked(bare):
    _, msg = call(bare, "POST", f"/channels/{bare.general}/messages", {"content": "a"})
    path = f"/channels/{bare.general}/messages/{msg['id']}/threads"
    assert call(bare, "POST", path, {"name": "n" * 101})[1]["errors"]["name"]["_errors"]
    assert call(bare, "POST", path, {"name": "ok", "auto_archive_duration": 1441})[0] == 400
    assert call(bare, "POST", path, {"name": "ok", "auto_archive_duration": 1440})[0] == 201
    status, error = call(bare, "POST", path, {"name": "again"})
    assert (status, error["code"]) == (400, 160004), "one thread per message"
    status, error = call(bare, "PUT", f"/applications/{bare.app_id}/commands",
                         [{"name": "ask", "description": "d" * 101, "type": 1}])
    assert status == 400 and error["errors"]["0"]["description"]


def test_permissions_per_channel(bare):
    no_history = bare.add_channel("no-history", deny=READ_MESSAGE_HISTORY)
    _, msg = call(bare, "POST", f"/channels/{no_history}/messages", {"content": "a"})
    status, error = call(bare, "POST", f"/channels/{no_history}/messages",
                         {"content": "b", "message_reference": {"message_id": msg["id"]}})
    assert (status, error["code"]) == (403, 50013), "a reply needs Read Message History"
    assert call(bare, "GET", f"/channels/{no_history}/messages")[0] == 403
    status, _ = call(bare, "POST", f"/channels/{bare.no_embeds}/messages", {"embeds": [{"description": "d"}]})
    assert status == 403, "embeds need Embed Links"
    silent = bare.add_channel("read-only", deny=1 << 11)
    assert call(bare, "POST", f"/channels/{silent}/messages", {"content": "a"})[0] == 403
    assert call(bare, "POST", f"/channels/{silent}/typing")[0] == 403
    no_threads = bare.add_channel("no-threads", deny=1 << 35)
    _, msg = call(bare, "POST", f"/channels/{no_threads}/messages", {"content": "a"})
    assert call(bare, "POST", f"/channels/{no_threads}/messages/{msg['id']}/threads", {"name": "t"})[0] == 403
    assert len(bare.forbidden) == 6 and all("no " in r.refused for r in bare.forbidden)


def test_interactions_must_be_answered_within_3_s_and_the_token_lasts_15_minutes(bare):
    bare.dispatch = lambda *a: None  # no bot connected: nothing to deliver to
    late = bare.slash("ask", {"question": "q"})
    bare.interactions[late["token"]]["dispatched_at"] -= 3.1  # as if first answered 3.1 s after delivery
    status, error = call(bare, "POST", f"/interactions/{late['id']}/{late['token']}/callback", {"type": 5},
                         auth=False)
    assert (status, error["code"]) == (404, 10062)
    old = bare.slash("ask", {"question": "q"}, token_left_s=-1)  # created 15 minutes and 1 s ago
    assert call(bare, "POST", f"/interactions/{old['id']}/{old['token']}/callback", {"type": 5},
                auth=False)[0] == 200
    status, error = call(bare, "PATCH", f"/webhooks/{bare.app_id}/{old['token']}/messages/@original",
                         {"content": "late"}, auth=False)
    assert (status, error["code"]) == (401, 50027)


def test_the_first_follow_up_after_a_defer_edits_the_thinking_message_and_keeps_its_flags(bare):
    bare.dispatch = lambda *a: None
    i = bare.slash("ask", {"question": "q"})
    call(bare, "POST", f"/interactions/{i['id']}/{i['token']}/callback", {"type": 5}, auth=False)
    _, first = call(bare, "POST", f"/webhooks/{bare.app_id}/{i['token']}", {"content": "private?", "flags": 64},
                    auth=False)
    assert first["content"] == "private?" and not first["flags"] & 64, "shown publicly, as Discord does"
    _, second = call(bare, "POST", f"/webhooks/{bare.app_id}/{i['token']}", {"content": "more"}, auth=False)
    assert second["id"] != first["id"]


@pytest.mark.slow
def test_resume_replays_the_events_missed_while_disconnected(standin, start_bot):
    runner = start_bot()
    assert standin.drop_gateway(4000) == 1
    q = standin.user_message("When is the security meeting?")  # while the bot is away
    standin.wait_until(lambda: standin.resumes, timeout=60, what="the bot to resume")
    assert standin.resumes[0][1] >= 1, "the question was replayed"
    standin.wait_for(lambda r: r.matches("POST", rf"/channels/{q['id']}/messages"), what="the answer")
    runner.settle()
    assert len(standin.sent_messages(q["id"])) == 1, "answered once"
    assert len(standin.identifies) == 1, "resumed, not identified again"
    assert runner.error is None


def test_settle_returns_once_the_bot_has_finished_what_it_was_sent(standin, settings_for, hash_seed_data_dir,
                                                                    hash_seed_answerer):
    """The barrier the "nothing more" assertions rely on: not a pause, the bot's work done."""
    from tests.bot.discord_standin import BotRunner, SlowAnswerer, bot_settings

    slow = SlowAnswerer(hash_seed_answerer, seconds=1.0)
    runner = BotRunner(standin, bot_settings(settings_for, hash_seed_data_dir, standin), answerer=slow).start()
    try:
        runner.loop.call_soon_threadsafe(time.sleep, 0.3)  # a busy bot: it reads the messages late
        q = standin.user_message("When is the security meeting?")
        chat = standin.user_message("thanks", mention_bot=False)  # not for the bot: nothing to do
        runner.settle()
        assert len(slow.calls) == 1, "the answer was computed before settle returned"
        assert len(standin.sent_messages(int(q["id"]))) == 1, "and sent"
        assert not standin.sent_messages(int(chat["channel_id"]))
    finally:
        runner.stop()
