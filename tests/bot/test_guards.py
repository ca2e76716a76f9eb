"""Who may ask what, where and when, checked without Discord."""

from __future__ import annotations

import pytest

from bot.guards import (
    ATTACHMENT_ONLY, EMPTY_MENTION, ChannelPolicy, Gate, Refused, looks_like_chat_between_people,
    question_from_message, strip_mentions, validate_question,
)

BOT = 111
ROLE = 222


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# -- questions ----------------------------------------------------------------------------------

def test_the_bot_mention_is_removed_and_other_mentions_stay():
    assert strip_mentions(f"<@{BOT}> hola <@!{BOT}> <@&{ROLE}> <@333>", [BOT, ROLE]).split() == ["hola", "<@333>"]
    q = question_from_message(f"<@{BOT}>   What did   the US demand?  ", bot_ids=[BOT], max_chars=500)
    assert q == "What did the US demand?"


@pytest.mark.parametrize("content, attachments, expected", [
    (f"<@{BOT}>", False, EMPTY_MENTION),
    (f"<@{BOT}>   \n\t ", False, EMPTY_MENTION),
    (f"<@&{ROLE}>", False, EMPTY_MENTION),
    (f"<@{BOT}>", True, ATTACHMENT_ONLY),
    ("", True, ATTACHMENT_ONLY),
])
def test_an_empty_mention_or_an_attachment_alone_gets_a_helpful_reply(content, attachments, expected):
    with pytest.raises(Refused) as e:
        question_from_message(content, bot_ids=[BOT, ROLE], has_attachments=attachments, max_chars=500)
    assert e.value.message == expected


def test_punctuation_only_and_too_long_questions_are_refused_with_the_reason():
    with pytest.raises(Refused, match="Ask a question, for example"):
        question_from_message(f"<@{BOT}> ?? !!", bot_ids=[BOT], max_chars=500)
    with pytest.raises(Refused, match="601 characters long; keep it under 600"):
        validate_question("x" * 601, max_chars=600)
    assert validate_question("x" * 600, max_chars=600) == "x" * 600


def test_a_message_that_starts_by_mentioning_someone_else_is_chat_not_a_question():
    assert looks_like_chat_between_people("<@333> did you see this?", bot_ids=[BOT])
    assert not looks_like_chat_between_people(f"<@{BOT}> and where?", bot_ids=[BOT])
    assert not looks_like_chat_between_people("and where will it be held? cc <@333>", bot_ids=[BOT])


# -- channels -----------------------------------------------------------------------------------

def test_every_channel_is_allowed_by_default_and_threads_follow_their_parent():
    assert ChannelPolicy().permits(1) and ChannelPolicy().permits(None)
    policy = ChannelPolicy(frozenset({10}))
    assert policy.permits(10)
    assert not policy.permits(11)
    assert policy.permits(99, parent_id=10)
    assert not policy.permits(99, parent_id=11)


# -- cooldown and queue ---------------------------------------------------------------------------

def test_a_user_waits_out_the_cooldown_and_is_told_how_long():
    clock = Clock()
    gate = Gate(cooldown_s=10, max_pending=8, clock=clock)
    gate.admit(1).release()
    clock.now += 3.2
    with pytest.raises(Refused) as e:
        gate.admit(1)
    assert e.value.message == "You're asking a bit fast: try again in 7 s."
    assert e.value.retry_after == pytest.approx(6.8)
    gate.admit(2).release()  # another user is not affected
    clock.now += 1.0
    with pytest.raises(Refused, match="try again in 6 s"):  # a refusal does not restart the cooldown
        gate.admit(1)
    clock.now += 5.8
    gate.admit(1).release()


def test_answers_in_progress_are_bounded_and_the_wait_comes_from_measured_answer_times():
    clock = Clock()
    gate = Gate(cooldown_s=0, max_pending=2, workers=1, clock=clock)
    first = gate.admit(1)
    clock.now += 4.0
    first.release()  # one answer took 4 s
    a, b = gate.admit(2), gate.admit(3)
    assert gate.pending == 2
    with pytest.raises(Refused) as e:
        gate.admit(4)
    assert e.value.message.startswith("I'm busy answering other questions: try again in ")
    assert e.value.retry_after == pytest.approx((0.7 * 2.0 + 0.3 * 4.0) * 2)
    a.release()
    with gate.admit(4):
        assert gate.pending == 2
    assert gate.pending == 1
    b.release()
    b.release()  # releasing twice frees one slot only
    assert gate.pending == 0


def test_a_refused_user_does_not_take_a_slot_and_the_cooldown_can_be_zero():
    gate = Gate(cooldown_s=0, max_pending=1)
    with gate.admit(1):
        with pytest.raises(Refused):
            gate.admit(1)
    with gate.admit(1):
        pass
    assert gate.pending == 0


# -- what a message is to the bot ------------------------------------------------------------------

OTHER_USER = 20


def facts(content="hello", **kw):
    from bot.guards import MessageFacts

    return MessageFacts(content=content, bot_ids=frozenset({BOT, ROLE}), **kw)


@pytest.mark.parametrize("message, dms, threads, expected", [
    (dict(mentioned=True), False, True, "mention"),
    (dict(), False, True, "ignore"),
    (dict(mentioned=True, from_a_bot=True), False, True, "ignore"),
    (dict(mentioned=True, ordinary=False), False, True, "ignore"),
    (dict(in_dm=True), False, True, "dm-declined"),
    (dict(in_dm=True), True, True, "dm"),
    (dict(in_bot_thread=True), False, True, "followup"),
    (dict(in_bot_thread=True), False, False, "ignore"),
    (dict(in_bot_thread=True, mentioned=True), False, False, "mention"),
    (dict(in_bot_thread=True, content=f"<@{OTHER_USER}> did you see this?"), False, True, "ignore"),
    (dict(in_bot_thread=True, content=f"<@{BOT}> and where?", mentioned=True), False, True, "followup"),
    (dict(mentioned=True, channel_allowed=False), False, True, "ignore"),
    (dict(in_bot_thread=True, channel_allowed=False), False, True, "ignore"),
])
def test_classify(message, dms, threads, expected):
    from bot.guards import classify

    assert classify(facts(**message), answer_dms=dms, answer_in_threads=threads).value == expected


def test_a_reply_to_the_bot_is_a_question_and_a_thread_follow_up_stays_one():
    from bot.guards import classify

    assert classify(facts(replies_to_bot=True), answer_dms=False, answer_in_threads=True).value == "reply"
    assert classify(facts(replies_to_bot=True, in_bot_thread=True), answer_dms=False,
                    answer_in_threads=True).value == "followup"


@pytest.mark.parametrize("perms, in_thread, open_thread, expected", [
    ({}, False, True, ("thread", False, ())),
    ({}, False, False, ("here", True, ())),
    ({"create_threads": False}, False, True, ("here", True, ("Create Public Threads",))),
    ({"send_in_threads": False}, False, True, ("here", True, ("Send Messages in Threads",))),
    ({"send": False}, False, True, ("thread", False, ())),
    ({"send": False}, False, False, ("nowhere", False, ("Send Messages",))),
    ({"read_history": False}, False, False, ("here", False, ("Read Message History",))),
    ({"send_in_threads": False}, True, False, ("nowhere", False, ("Send Messages in Threads",))),
    ({"send": False, "create_threads": False}, False, True,
     ("nowhere", False, ("Create Public Threads", "Send Messages"))),
])
def test_where_an_answer_can_go_with_the_bots_permissions(perms, in_thread, open_thread, expected):
    from bot.guards import Perms, plan_delivery

    plan = plan_delivery(Perms(**perms), in_thread=in_thread, open_thread=open_thread)
    assert (plan.where, plan.reply, plan.missing) == expected


def test_what_the_bot_says_it_lacks():
    from bot.guards import lacking_message

    assert lacking_message(["Send Messages in Threads"], "in <#1>") == (
        "I can't answer in <#1>: I need the **Send Messages in Threads** permission there. "
        "Ask a server admin to grant it.")


@pytest.mark.parametrize("message, expected", [
    (dict(in_ask_channel=True), "ask-channel"),
    (dict(in_ask_channel=True, content=f"<@{OTHER_USER}> did you see?"), "ignore"),
    (dict(in_ask_channel=True, replies_to_someone=True), "ignore"),
    (dict(in_ask_channel=True, channel_allowed=False), "ask-channel"),
    (dict(in_ask_forum_post=True, starts_post=True), "forum-post"),
    (dict(in_ask_forum_post=True), "followup"),
    (dict(in_ask_forum_post=True, replies_to_someone=True), "ignore"),
    (dict(in_bot_thread=True, in_ask_channel=True), "followup"),
])
def test_ask_channels_and_forums(message, expected):
    from bot.guards import classify

    assert classify(facts(**message), answer_dms=False, answer_in_threads=False).value == expected
