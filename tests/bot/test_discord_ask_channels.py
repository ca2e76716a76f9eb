"""Ask channels (CITA_ASK_CHANNELS), end to end against the stand-in: in a text channel every new
message is a question, answered in a thread on it, with follow-ups there; in a forum every new
post is a question, answered in the post, with follow-ups there. No mention needed."""

from __future__ import annotations

import time

import pytest

from tests.bot.discord_standin import pings_nobody, text_of

pytestmark = pytest.mark.slow

MEETING = "En dicha conversación acordaron una reunión de Ministerial de Seguridad en Washington"
QUESTION = "When is the security meeting?"


def answer_in(standin, channel_id, *, after: float = 0.0, what: str = "the answer"):
    return standin.wait_for(lambda r: r.matches("POST", rf"/channels/{channel_id}/messages") and r.at > after,
                            what=what)


def test_every_new_message_in_an_ask_channel_is_answered_in_a_thread_with_follow_ups_there(standin, start_bot):
    ask = standin.add_channel("ask")
    # only #general in CITA_CHANNELS: an ask channel is answered all the same
    runner = start_bot(ask_channels=frozenset({ask}), channels=frozenset({standin.general}))
    q = standin.user_message(QUESTION, channel_id=ask, mention_bot=False)
    opened = standin.wait_for(lambda r: r.matches("POST", rf"/channels/{ask}/messages/{q['id']}/threads"),
                              what="a thread on the question")
    assert opened.json["name"] == QUESTION
    answer = answer_in(standin, q["id"])
    assert MEETING in text_of(answer.json) and pings_nobody(answer.json)
    before = time.monotonic()
    standin.user_message("and where will it be held?", channel_id=int(q["id"]), mention_bot=False)
    follow = answer_in(standin, q["id"], after=before, what="the follow-up in the thread")
    assert MEETING in text_of(follow.json)
    # people talking to each other there are left alone, and so is the rest of the server
    standin.user_message(f"<@{standin.bob.id}> did you see the news?", channel_id=ask, mention_bot=False)
    standin.user_message(QUESTION, channel_id=standin.other, mention_bot=False)
    runner.settle()
    assert len(standin.find("POST", r"/channels/\d+/messages/\d+/threads")) == 1
    assert not standin.sent_messages(ask) and not standin.sent_messages(standin.other)


def test_every_new_post_in_an_ask_forum_is_answered_in_the_post_with_follow_ups_there(standin, start_bot):
    forum = standin.add_channel("questions", type=15)
    start_bot(ask_channels=frozenset({forum}))
    post = standin.forum_post(forum, "Security meeting", QUESTION)
    thread_id = int(post["id"])
    answer = answer_in(standin, thread_id, what="the answer in the post")
    assert MEETING in text_of(answer.json) and pings_nobody(answer.json)
    assert answer.json["embeds"][0]["title"].startswith("Security meeting"), "the post's title is in the question"
    before = time.monotonic()
    standin.user_message("and where will it be held?", channel_id=thread_id, mention_bot=False)
    follow = answer_in(standin, thread_id, after=before, what="the follow-up in the post")
    assert MEETING in text_of(follow.json)
    assert not standin.find("POST", r"/channels/\d+/messages/\d+/threads"), "a post needs no thread"


def test_a_forum_that_is_not_an_ask_channel_needs_a_mention(standin, start_bot):
    forum = standin.add_channel("chat", type=15)
    runner = start_bot()
    standin.forum_post(forum, "Anyone?", "What do you think about the news")
    mention = standin.forum_post(forum, "Meeting", f"<@{standin.bot.id}> {QUESTION}")
    answer = answer_in(standin, mention["id"], what="the answer to the mention")
    assert MEETING in text_of(answer.json)
    runner.settle()
    assert len(standin.sent_messages()) == 1
