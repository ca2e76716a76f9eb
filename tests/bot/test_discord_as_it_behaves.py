"""Discord as it really behaves, end to end against the stand-in (which refuses what Discord
refuses): replies to the bot, each missing channel permission, an expired interaction token, a
rate limit on command sync, AutoMod, a thread that already exists, an archived thread dropped from
discord.py's cache, role mentions, the commands' contexts and the gateway intents."""

from __future__ import annotations

import time

import pytest

from bot.cog import AUTOMOD_BLOCKED
from tests.bot.discord_standin import (
    CREATE_PUBLIC_THREADS, MANAGE_GUILD, MEMBER_PERMISSIONS, READ_MESSAGE_HISTORY, SEND_MESSAGES,
    SEND_MESSAGES_IN_THREADS, pings_nobody, text_of)
from tests.conftest import SEEDS

pytestmark = pytest.mark.slow

MEETING = "En dicha conversación acordaron una reunión de Ministerial de Seguridad en Washington"
QUESTION = "When is the security meeting?"


def posts(standin, channel_id) -> list:
    return standin.sent_messages(int(channel_id))


def answer_in(standin, channel_id, *, after: float = 0.0, what: str = "the answer"):
    return standin.wait_for(lambda r: r.matches("POST", rf"/channels/{channel_id}/messages") and r.at > after,
                            what=what)


# -- replies to the bot ------------------------------------------------------------------------------

def test_a_reply_to_an_answer_is_a_question_asked_with_that_answers_question(standin, start_bot):
    runner = start_bot(answer_in_threads=False)  # answers in the channel: replying is how people follow up
    q = standin.user_message(QUESTION)
    answer_in(standin, standin.general)
    answer = standin.bot_messages(standin.general)[-1]
    before = time.monotonic()
    follow = standin.user_message("and where will it be held?", mention_bot=False, reply_to=answer)
    assert f"<@{standin.bot.id}>" not in follow["content"], "the bot is only in the payload's mentions"
    reply = answer_in(standin, standin.general, after=before, what="the answer to the reply")
    assert reply.json["message_reference"]["message_id"] in (follow["id"], int(follow["id"]))
    assert reply.json["embeds"][0]["title"] == "and where will it be held?"
    assert MEETING in reply.json["embeds"][0]["description"], "asked with the replied-to answer's question"
    runner.settle()
    replied_to = [str(r.json["message_reference"]["message_id"]) for r in posts(standin, standin.general)]
    assert replied_to == [q["id"], follow["id"]], "one answer to each message, nothing else"


def test_a_reply_to_someone_else_is_left_alone(standin, start_bot):
    runner = start_bot(answer_in_threads=False)
    other = standin.user_message("I think the meeting is next week", mention_bot=False, author=standin.bob)
    standin.user_message("thanks!", mention_bot=False, reply_to=other)
    runner.settle()  # both messages handled: whatever the bot was going to send, it has sent
    assert not posts(standin, standin.general)
    assert not standin.find("POST", r"/channels/\d+/(typing|messages/\d+/threads)"), "no work started either"


def test_a_role_mention_of_the_bots_managed_role_is_a_question(standin, start_bot):
    start_bot()
    q = standin.user_message(f"<@&{standin.bot_role_id}> {QUESTION}", mention_bot=False)
    answer = answer_in(standin, q["id"], what="the answer in a thread")
    assert MEETING in answer.json["embeds"][0]["description"]
    assert answer.json["embeds"][0]["title"] == QUESTION, "the role mention is not part of the question"


# -- permissions: checked before any work, no refused requests ------------------------------------

def test_without_read_message_history_answers_are_plain_messages_not_replies(standin, start_bot):
    channel = standin.add_channel("no-history", deny=READ_MESSAGE_HISTORY)
    start_bot(answer_in_threads=False)
    standin.user_message(QUESTION, channel_id=channel)
    answer = answer_in(standin, channel)
    assert "message_reference" not in answer.json and MEETING in text_of(answer.json)
    standin.user_message("", channel_id=channel)  # an empty mention: the refusal is plain too
    standin.wait_until(lambda: len(posts(standin, channel)) == 2, what="the refusal")
    assert all("message_reference" not in r.json for r in posts(standin, channel))
    assert not standin.forbidden


def test_without_create_public_threads_the_answer_comes_inline(standin, start_bot):
    channel = standin.add_channel("no-threads", deny=CREATE_PUBLIC_THREADS)
    start_bot()
    q = standin.user_message(QUESTION, channel_id=channel)
    answer = answer_in(standin, channel)
    assert str(answer.json["message_reference"]["message_id"]) == q["id"]
    assert not standin.find("POST", r"/channels/\d+/messages/\d+/threads"), "no thread was attempted"
    assert not standin.forbidden


def test_without_send_messages_in_threads_the_answer_comes_inline(standin, start_bot):
    channel = standin.add_channel("no-thread-posts", deny=SEND_MESSAGES_IN_THREADS)
    start_bot()
    standin.user_message(QUESTION, channel_id=channel)
    answer = answer_in(standin, channel)
    assert MEETING in text_of(answer.json)
    assert not standin.find("POST", r"/channels/\d+/messages/\d+/threads"), "no empty thread left behind"
    assert not standin.forbidden


def test_without_send_messages_the_answer_still_goes_in_a_thread(standin, start_bot):
    channel = standin.add_channel("announcements-only", deny=SEND_MESSAGES)
    start_bot()
    q = standin.user_message(QUESTION, channel_id=channel)
    answer = answer_in(standin, q["id"], what="the answer in a thread (threads need their own permission)")
    assert MEETING in text_of(answer.json)
    assert not standin.forbidden


def test_where_the_bot_may_not_post_at_all_it_does_no_work_and_makes_no_refused_request(standin, start_bot,
                                                                                         seed_answerer):
    channel = standin.add_channel("read-only", deny=SEND_MESSAGES)
    from tests.bot.discord_standin import SlowAnswerer

    slow = SlowAnswerer(seed_answerer, seconds=0)
    runner = start_bot(answerer=slow, answer_in_threads=False)
    for _ in range(3):
        standin.user_message(QUESTION, channel_id=channel)
    standin.user_message(QUESTION)  # elsewhere, answered: the bot is alive
    answer_in(standin, standin.general)
    runner.settle()
    assert not standin.find("POST", rf"/channels/{channel}/.*"), "no message, no typing"
    assert not standin.forbidden and len(slow.calls) == 1, "nothing computed for the read-only channel"


def test_a_follow_up_in_a_thread_it_may_no_longer_post_in_is_told_in_the_channel(standin, start_bot):
    start_bot()
    q = standin.user_message(QUESTION)
    thread_id = int(q["id"])
    answer_in(standin, thread_id)
    # an admin then denies Send Messages in Threads in #general (the thread inherits it)
    standin.channels[standin.general]["permission_overwrites"] = [
        {"id": str(standin.bot_role_id), "type": 0, "allow": "0", "deny": str(SEND_MESSAGES_IN_THREADS)}]
    standin.dispatch("CHANNEL_UPDATE", standin.channels[standin.general])
    standin.user_message("and where will it be held?", channel_id=thread_id, mention_bot=False)
    notice = answer_in(standin, standin.general, what="a notice in the channel")
    assert "**Send Messages in Threads**" in notice.json["content"] and f"<#{thread_id}>" in notice.json["content"]
    assert pings_nobody(notice.json) and not standin.forbidden


# -- interactions ---------------------------------------------------------------------------------

def test_reindex_that_outlives_the_interaction_token_reports_in_the_channel(standin, settings_for, data_copy, e5):
    from cita.app import make_answerer, make_builder
    from tests.bot.discord_standin import BotRunner, bot_settings

    settings = bot_settings(settings_for, data_copy, standin, articles_dir=SEEDS)
    answerer = make_answerer(settings, e5)

    class SlowBuilder:  # the real builder, on a rebuild that takes longer than the token lives
        def __init__(self):
            self.inner = make_builder(settings, e5, store=answerer.library.store)

        def rebuild(self, paths):
            time.sleep(1.5)  # the token (token_left_s below) expires meanwhile
            return self.inner.rebuild(paths)

        def close(self):
            self.inner.close()

    runner = BotRunner(standin, settings, answerer=answerer, builder_factory=SlowBuilder).start()
    try:
        done = standin.slash("reindex", user=standin.admin, permissions=MEMBER_PERMISSIONS | MANAGE_GUILD,
                             token_left_s=1.0)
        ack = standin.wait_for(lambda r: r.path.endswith(f"/{done['token']}/callback"), what="the defer")
        assert ack.json["type"] == 5
        report = answer_in(standin, standin.general, what="the report in the channel")
        assert f"<@{standin.admin.id}>" in report.json["content"] and "/reindex" in report.json["content"]
        summary = answer_in(standin, standin.general, after=report.at, what="the summary")
        assert "Index rebuilt from `seeds/`" in summary.json["content"]
        assert all(pings_nobody(r.json) for r in posts(standin, standin.general))
        assert not standin.interaction_replies(done["token"]), "the expired token was not used"
    finally:
        runner.stop()


def test_a_rate_limit_on_command_sync_does_not_keep_the_bot_offline_and_sync_happens_only_on_change(
        standin, start_bot, data_copy):
    commands = rf"/applications/{standin.app_id}/commands"
    standin.fail_next("PUT", commands, 429, retry_after=600)
    started = time.monotonic()
    first = start_bot(data_dir=data_copy)
    q = standin.user_message(QUESTION)
    answer_in(standin, q["id"])
    assert time.monotonic() - started < 30, "ready and answering without waiting out the rate limit"
    standin.wait_until(lambda: standin.failed_requests(), what="the rate-limited sync")
    assert first.command_sync() is False, "the sync gave up on the rate limit"
    assert not standin.find("PUT", commands), "not retried within this run"
    saved = data_copy / "discord" / f"commands-{standin.app_id}.sha256"
    assert not saved.exists(), "no hash saved: the next start tries again"
    first.stop()

    second = start_bot(data_dir=data_copy)
    assert second.command_sync() is True, "synced at the next start"
    assert saved.exists(), "the hash saved"
    second.stop()

    third = start_bot(data_dir=data_copy)  # the same definition: no sync at all
    assert third.command_sync() is False
    assert len(standin.find("PUT", commands)) == 1
    assert len([r for r in standin.requests if r.matches("PUT", commands)]) == 2, "the rate-limited try and one sync"


def test_commands_are_offered_only_where_cita_answers(standin, start_bot):
    start_bot()
    put = standin.wait_for(lambda r: r.matches("PUT", rf"/applications/{standin.app_id}/commands"))
    by_name = {c["name"]: c for c in put.json}
    assert by_name["ask"]["contexts"] == [0], "servers only while CITA_ANSWER_DMS is off"
    assert by_name["ask"]["integration_types"] == [0], "installed to servers, not to users"
    assert by_name["reindex"]["contexts"] == [0]


def test_commands_in_dms_when_dms_are_answered(standin, start_bot):
    start_bot(answer_dms=True)
    put = standin.wait_for(lambda r: r.matches("PUT", rf"/applications/{standin.app_id}/commands"))
    assert {c["name"]: c for c in put.json}["ask"]["contexts"] == [0, 1]


def test_only_the_intents_cita_uses(standin, start_bot):
    start_bot()
    intents = standin.identifies[0]["intents"]
    wanted = (1 << 0) | (1 << 9) | (1 << 10) | (1 << 12) | (1 << 15)  # guilds, messages, reactions, DMs, content
    assert intents == wanted, bin(intents)


# -- AutoMod, threads ------------------------------------------------------------------------------

def test_an_answer_blocked_by_automod_gets_a_clear_message(standin, start_bot):
    standin.automod_blocks = [("fentanilo", 200000)]  # the seed's file name is in the sources
    start_bot()
    q = standin.user_message(QUESTION)
    standin.wait_until(lambda: standin.blocked, what="the blocked answer")
    notice = standin.wait_for(lambda r: r.matches("POST", rf"/channels/{q['id']}/messages")
                              and r.json.get("content") == AUTOMOD_BLOCKED, what="the AutoMod notice")
    assert pings_nobody(notice.json)
    assert standin.blocked[0].path == f"/channels/{q['id']}/messages"


def test_a_thread_that_already_exists_on_the_question_is_used(standin, start_bot):
    runner = start_bot()
    q = standin.user_message(QUESTION, thread_exists=True)  # another Cita process opened it first
    answer = answer_in(standin, q["id"], what="the answer in the existing thread")
    assert MEETING in text_of(answer.json)
    runner.settle()
    assert not posts(standin, standin.general), "not answered inline as well"


def test_a_follow_up_in_an_archived_thread_dropped_from_the_cache_is_answered(standin, start_bot):
    start_bot()
    q = standin.user_message(QUESTION)
    thread_id = int(q["id"])
    answer_in(standin, thread_id)
    standin.archive(thread_id)  # a day later: archived, and discord.py forgets it
    before = time.monotonic()
    standin.user_message("and where will it be held?", channel_id=thread_id, mention_bot=False)
    follow = answer_in(standin, thread_id, after=before, what="the follow-up answer")
    assert MEETING in text_of(follow.json)
    assert standin.find("GET", rf"/channels/{thread_id}"), "the thread was fetched"
