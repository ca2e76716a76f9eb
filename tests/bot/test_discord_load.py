"""Many askers, slow answers: the per-user cooldown, the bounded queue, and a bot that keeps
heartbeating and serving others while an answer is computed."""

from __future__ import annotations

import asyncio
import re
import time

import pytest

from tests.bot.discord_standin import SlowAnswerer, pings_nobody

pytestmark = pytest.mark.slow
HEARTBEAT_MS = 200


def reply_to(standin, message: dict):
    return standin.wait_for(lambda r: r.matches("POST", rf"/channels/{message['channel_id']}/messages")
                            and str((r.json or {}).get("message_reference", {}).get("message_id")) == message["id"],
                            what="a reply to the message")


def answer_in_thread(standin, message: dict, timeout: float = 30):
    return standin.wait_for(lambda r: r.matches("POST", rf"/channels/{message['id']}/messages"), timeout=timeout,
                            what="the answer in the thread")


def test_a_user_asking_again_within_the_cooldown_is_told_when_to_retry(standin, start_bot):
    runner = start_bot(cooldown_s=30)
    first = standin.user_message("What did the US demand?")
    answer_in_thread(standin, first)
    second = standin.user_message("When is the security meeting?")
    reply = reply_to(standin, second)
    m = re.fullmatch(r"You're asking a bit fast: try again in (\d+) s\.", reply.json["content"])
    assert m and 20 <= int(m.group(1)) <= 30
    assert pings_nobody(reply.json)
    runner.settle()
    assert not standin.find("POST", rf"/channels/{standin.general}/messages/{second['id']}/threads")
    assert not standin.find("POST", rf"/channels/{second['id']}/.*"), "no answer, no typing"
    # someone else is not held back
    other = standin.user_message("When is the security meeting?", author=standin.bob)
    answer_in_thread(standin, other)
    # nor is the same user on /ask refused differently: the cooldown is per user, whatever the way of asking
    interaction = standin.slash("ask", {"question": "When is the security meeting?"}, user=standin.alice)
    refusal = standin.wait_for(lambda r: r.path.endswith(f"/{interaction['token']}/callback"))
    assert refusal.json["type"] == 4 and refusal.json["data"]["flags"] == 64
    assert refusal.json["data"]["content"].startswith("You're asking a bit fast: try again in ")


def test_beyond_the_answers_in_progress_people_are_told_the_bot_is_busy(standin, start_bot, seed_answerer):
    slow = SlowAnswerer(seed_answerer, seconds=3.0)
    runner = start_bot(answerer=slow, max_pending=1)
    first = standin.user_message("What did the US demand?")
    standin.wait_for(lambda r: r.matches("POST", rf"/channels/{first['id']}/typing"), what="work on the first answer")
    second = standin.user_message("When is the security meeting?", author=standin.bob)
    reply = reply_to(standin, second)
    m = re.fullmatch(r"I'm busy answering other questions: try again in (\d+) s\.", reply.json["content"])
    assert m and 1 <= int(m.group(1)) <= 10
    interaction = standin.slash("ask", {"question": "When is the security meeting?"}, user=standin.admin)
    refusal = standin.wait_for(lambda r: r.path.endswith(f"/{interaction['token']}/callback"))
    assert refusal.json["data"]["content"].startswith("I'm busy answering other questions")
    answer_in_thread(standin, first)
    # once the first answer is out there is room again
    runner.settle()  # the first answer's work is over
    assert runner.cog.gate.pending == 0
    third = standin.user_message("When is the security meeting?", author=standin.bob)
    answer_in_thread(standin, third)
    assert len(slow.calls) == 2, "the refused questions were never computed"


def test_heartbeats_and_other_users_are_served_while_an_answer_is_computed(standin, start_bot, seed_answerer):
    slow = SlowAnswerer(seed_answerer, seconds=4.0)
    runner = start_bot(answerer=slow)
    runner.command_sync()  # the start-up work is over: what follows measures the answer alone
    question = standin.user_message("When is the security meeting?")
    asked = time.monotonic()
    standin.wait_for(lambda r: r.matches("POST", rf"/channels/{question['id']}/typing"), what="the work to start")
    # another user is served at once while the answer is being computed
    help_ = standin.slash("help", user=standin.bob)
    helped = standin.wait_for(lambda r: r.path.endswith(f"/{help_['token']}/callback"), what="/help")
    answer = answer_in_thread(standin, question)
    assert helped.at < answer.at and helped.at - asked < 2.0
    beats = [t for t in standin.heartbeat_times() if asked <= t <= answer.at]
    window = answer.at - asked
    assert window >= 4.0
    assert len(beats) >= window / 0.2 * 0.6, f"{len(beats)} heartbeats in {window:.1f} s"
    gaps = [b - a for a, b in zip([asked] + beats, beats + [answer.at])]
    assert max(gaps) < 0.8, f"the longest silence was {max(gaps):.2f} s"
    assert runner.client.latency < 0.5, "heartbeats are acknowledged"

    # the measurement does notice a blocked event loop (what running the answer on it would do)
    async def block():
        time.sleep(1.5)  # the blocked loop this measurement must notice

    start = time.monotonic()
    asyncio.run_coroutine_threadsafe(block(), runner.loop).result(10)
    unblocked = time.monotonic()
    standin.wait_until(lambda: any(t > unblocked for t in standin.heartbeat_times()), what="a heartbeat after")
    beats = [t for t in standin.heartbeat_times() if t >= start - 0.3]
    assert max(b - a for a, b in zip(beats, beats[1:])) >= 1.2


def test_on_shutdown_answers_in_progress_are_still_sent_and_new_questions_told_to_wait(standin, start_bot,
                                                                                       seed_answerer):
    import threading

    from bot.cog import STOPPING

    runner = start_bot(answerer=SlowAnswerer(seed_answerer, seconds=2.0))
    question = standin.user_message("When is the security meeting?")
    standin.wait_for(lambda r: r.matches("POST", rf"/channels/{question['id']}/typing"), what="the work to start")
    stopper = threading.Thread(target=runner.stop)
    stopper.start()
    standin.wait_until(lambda: runner.cog.stopping, what="the bot to start stopping")
    late = standin.user_message("What did the US demand?", author=standin.bob)
    assert reply_to(standin, late).json["content"] == STOPPING
    answer = answer_in_thread(standin, question)
    assert answer.json["embeds"][0]["title"] == "When is the security meeting?"
    stopper.join(30)
    assert runner.client.is_closed()
