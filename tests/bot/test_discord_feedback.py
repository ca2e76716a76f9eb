"""👍/👎 on answers, recorded locally with the question, the answer and its citations."""

from __future__ import annotations

import shutil

import pytest

from answer.answering import Answer, Citation
from bot.feedback import AnsweredQuestion, FeedbackLog, rating_for, read_feedback
from tests.bot.discord_standin import BotRunner, StandIn, bot_settings

MEETING = "En dicha conversación acordaron una reunión de Ministerial de Seguridad en Washington"


def an_answer() -> Answer:
    return Answer(question="When is the security meeting?", answer=f"“{MEETING}” [1]", abstained=False,
                  citations=[Citation(1, "a1", "EU pide a México", "seeds/x.txt", "2026-01-16", MEETING, 10,
                                      10 + len(MEETING), 0.87)], generation="g1")


def test_thumbs_with_any_skin_tone_are_ratings_and_other_emoji_are_not():
    assert rating_for("👍") == "up" and rating_for("👍🏽") == "up" and rating_for("👎🏿") == "down"
    assert rating_for("🎉") is None and rating_for("👀") is None


def test_a_rating_is_appended_with_the_question_answer_and_citations(tmp_path):
    log = FeedbackLog(tmp_path / "sub" / "feedback.jsonl", remember=2)
    log.remember_answer([10, 11], AnsweredQuestion.from_answer(an_answer()))
    assert log.record(message_id=99, emoji="👍", user_id=1, channel_id=2, guild_id=3) is None  # not an answer
    assert log.record(message_id=10, emoji="🎉", user_id=1, channel_id=2, guild_id=3) is None
    log.record(message_id=11, emoji="👎", user_id=1, channel_id=2, guild_id=3)
    log.record(message_id=11, emoji="👎", user_id=1, channel_id=2, guild_id=3, removed=True)
    rows = read_feedback(tmp_path / "sub" / "feedback.jsonl")
    assert [(r["rating"], r["action"], r["message_id"]) for r in rows] == [("down", "added", "11"),
                                                                            ("down", "removed", "11")]
    row = rows[0]
    assert row["question"] == "When is the security meeting?" and row["generation"] == "g1"
    assert row["citations"][0]["quote"] == MEETING and row["citations"][0]["n"] == 1
    assert row["user_id"] == "1" and row["guild_id"] == "3"
    # only the most recent answers are remembered
    log.remember_answer([12], AnsweredQuestion.from_answer(an_answer()))
    assert log.answer_for(10) is None and log.answer_for(12) is not None


@pytest.mark.slow
def test_reactions_on_an_answer_in_discord_are_recorded(settings_for, seed_data_dir, e5, tmp_path):
    from cita.app import make_answerer

    data = tmp_path / "data"  # feedback goes to data_dir/feedback.jsonl: a copy of the seed index
    shutil.copytree(seed_data_dir, data, ignore=shutil.ignore_patterns("readers", "*.lock"))
    standin = StandIn().start()
    settings = bot_settings(settings_for, data, standin)
    runner = BotRunner(standin, settings, answerer=make_answerer(settings, e5)).start()
    feedback = data / "feedback.jsonl"
    try:
        q = standin.user_message("When is the security meeting?")
        standin.wait_for(lambda r: r.matches("POST", rf"/channels/{q['id']}/messages"), what="the answer")
        # the bot learns its answer's message id from Discord's response, then remembers it: react after
        runner.settle()
        answer_id = standin.bot_messages(q["id"])[-1]["id"]
        standin.react(answer_id, "🎉", user=standin.bob)
        standin.react(answer_id, "👍", user=standin.bot)  # the bot's own reaction is not feedback
        standin.react(q["id"], "👍", user=standin.bob)  # the question is not an answer
        standin.react(answer_id, "👍", user=standin.bob)
        standin.react(answer_id, "👎", user=standin.alice)
        runner.settle()  # every reaction handled: the file holds all it will
        rows = read_feedback(feedback)
        assert sorted((r["rating"], r["user_id"]) for r in rows) == sorted(
            [("up", str(standin.bob.id)), ("down", str(standin.alice.id))])
        for r in rows:
            assert r["question"] == "When is the security meeting?" and r["message_id"] == answer_id
            assert any(MEETING in c["quote"] for c in r["citations"])
            assert r["channel_id"] == q["id"] and r["action"] == "added"
    finally:
        runner.stop()
        standin.stop()


def test_each_piece_of_a_long_answer_is_rateable_as_soon_as_it_is_sent(tmp_path):
    """A 👍 on the first message of a three-message answer, given while the rest is still being
    sent, is recorded: each message is remembered when it is sent, not after the last one."""
    import asyncio
    import types

    from bot import replies
    from bot.cog import send_replies

    log = FeedbackLog(tmp_path / "feedback.jsonl")
    answered = AnsweredQuestion.from_answer(an_answer())
    rated_before_the_rest = []

    async def send(**kwargs):
        n = len(rated_before_the_rest) + 1
        if n > 1:  # a reader reacts to the first piece while this one is being sent
            rated_before_the_rest.append(log.record(message_id=101, emoji="👍", user_id=1, channel_id=2,
                                                    guild_id=3) is not None)
        else:
            rated_before_the_rest.append(None)
        return types.SimpleNamespace(id=100 + n)

    items = [replies.text_reply(f"part {i}") for i in range(3)]
    sent = asyncio.run(send_replies(items, send, on_sent=lambda m: log.remember_answer([m.id], answered)))
    assert [m.id for m in sent] == [101, 102, 103]
    assert rated_before_the_rest[1:] == [True, True]
    assert len(read_feedback(tmp_path / "feedback.jsonl")) == 2
