"""Asking Cita on Discord: the real discord.py client, end to end, against the local Discord
stand-in, answering from the real seed index (bundled e5 model, embedded Chroma)."""

from __future__ import annotations

import re
import time

import pytest

from bot.guards import ATTACHMENT_ONLY, CHANNEL_NOT_ALLOWED, DM_DECLINED, EMPTY_MENTION
from bot.replies import Reply, answer_replies, reply_problems
from tests.bot.discord_standin import SlowAnswerer, pings_nobody, text_of

pytestmark = pytest.mark.slow

SEED_TITLE = "EU pide a México resultados concretos"
SEED_FILE = "000_eu_pide_a_mexico_resultados_contra_fentanilo.txt"
MEETING = "En dicha conversación acordaron una reunión de Ministerial de Seguridad en Washington"


def as_reply(payload: dict) -> Reply:
    return Reply(content=payload.get("content") or "", embeds=payload.get("embeds") or [])


def answer_in(standin, channel_id, *, after: float = 0.0, what: str = "the answer"):
    return standin.wait_for(lambda r: r.matches("POST", rf"/channels/{channel_id}/messages") and r.at > after,
                            what=what)


# -- asking ------------------------------------------------------------------------------------

def test_a_mention_is_answered_in_a_new_thread_with_quotes_and_sources(standin, start_bot):
    runner = start_bot()
    question = standin.user_message("When is the security meeting?")
    thread_path = rf"/channels/{standin.general}/messages/{question['id']}/threads"
    opened = standin.wait_for(lambda r: r.matches("POST", thread_path), what="a thread on the question")
    assert opened.json["name"] == "When is the security meeting?"
    thread_id = question["id"]  # a thread started from a message has the message's id
    answer = answer_in(standin, thread_id)
    typing = standin.find("POST", rf"/channels/{thread_id}/typing")
    assert typing and typing[0].at <= answer.at, "the bot shows it is working before it answers"
    payload = answer.json
    assert pings_nobody(payload)
    assert not reply_problems(as_reply(payload))
    embed = payload["embeds"][0]
    assert embed["title"] == "When is the security meeting?"
    assert MEETING in embed["description"], "the meeting sentence is quoted verbatim"
    assert re.search(r"^> .+ \[1\]$", embed["description"], re.M), "quotes are block quotes with their number"
    sources = embed["fields"][0]
    assert sources["name"] == "Sources"
    assert sources["value"].startswith(f"**[1]** {SEED_TITLE}") and SEED_FILE in sources["value"]
    runner.settle()
    assert not standin.sent_messages(standin.general), "nothing but the thread is posted in the channel"


def test_slash_ask_is_deferred_within_3_s_and_the_answer_replaces_the_thinking_message(standin, start_bot,
                                                                                      seed_answerer):
    slow = SlowAnswerer(seed_answerer, seconds=3.5)  # an answer that takes longer than Discord waits
    start_bot(answerer=slow)
    interaction = standin.slash("ask", {"question": "What did the US demand?"})
    dispatched = standin.interactions[interaction["token"]]["dispatched_at"]
    ack = standin.wait_for(lambda r: r.path.endswith(f"/{interaction['token']}/callback"), what="the defer")
    assert ack.json["type"] == 5, "deferred (the bot is thinking)"
    assert ack.at - dispatched < 3.0
    # the supported way: edit the original response (not the deprecated first follow-up)
    edit = standin.wait_for(lambda r: r.matches("PATCH", rf"/webhooks/{standin.app_id}/{interaction['token']}"
                                                         r"/messages/@original"), what="the answer")
    assert edit.at - dispatched >= 3.5 and edit.at > ack.at
    assert [r.method for r in standin.interaction_replies(interaction["token"])] == ["PATCH"], "one piece"
    payload = edit.json
    assert pings_nobody(payload)
    assert not reply_problems(as_reply(payload))
    embed = payload["embeds"][0]
    assert embed["title"] == "What did the US demand?"
    assert re.search(r"^> .+ \[1\]$", embed["description"], re.M)
    assert SEED_TITLE in embed["fields"][0]["value"]
    answer_msg = standin.bot_messages(standin.general)[-1]
    assert answer_msg["embeds"][0]["title"] == "What did the US demand?" and not answer_msg["flags"] & 64
    # a thread on the answer, for follow-up questions
    thread_path = rf"/channels/{standin.general}/messages/{answer_msg['id']}/threads"
    opened = standin.wait_for(lambda r: r.matches("POST", thread_path), what="a follow-up thread on the /ask answer")
    assert opened.json["name"] == "What did the US demand?"


def test_a_follow_up_in_the_thread_is_asked_with_the_earlier_question(standin, start_bot, seed_answerer):
    runner = start_bot()
    first = standin.user_message("When is the security meeting?")
    thread_id = int(first["id"])
    answer_in(standin, thread_id)
    before = time.monotonic()
    standin.user_message("and where will it be held?", channel_id=thread_id, mention_bot=False)
    follow = answer_in(standin, thread_id, after=before, what="the follow-up answer")
    description = follow.json["embeds"][0]["description"]
    assert MEETING in description, "the follow-up finds the meeting passage (in Washington)"
    # exactly what the answerer gives with the earlier question as context
    expected = seed_answerer.ask("and where will it be held?", context=["When is the security meeting?"])
    assert description == answer_replies(expected)[0].embeds[0]["description"]
    runner.settle()
    assert len(standin.find("POST", r"/channels/\d+/messages/\d+/threads")) == 1, "no second thread"


def test_after_a_restart_the_follow_up_context_comes_from_the_thread_itself(standin, start_bot):
    first_bot = start_bot()
    first = standin.user_message("When is the security meeting?")
    thread_id = int(first["id"])
    answer_in(standin, thread_id)
    first_bot.stop()
    start_bot()  # a new process remembers nothing
    before = time.monotonic()
    standin.user_message("and where will it be held?", channel_id=thread_id, mention_bot=False)
    follow = answer_in(standin, thread_id, after=before, what="the follow-up answer")
    assert standin.find("GET", rf"/channels/{standin.general}/messages/{thread_id}"), "read the starter message"
    assert MEETING in follow.json["embeds"][0]["description"]


def test_people_talking_to_each_other_in_a_bot_thread_are_left_alone(standin, start_bot):
    runner = start_bot()
    first = standin.user_message("When is the security meeting?")
    thread_id = int(first["id"])
    answer_in(standin, thread_id)
    standin.user_message(f"<@{standin.bob.id}> did you see this?", channel_id=thread_id, mention_bot=False)
    before = time.monotonic()
    standin.user_message("and where will it be held?", channel_id=thread_id, mention_bot=False)
    answer_in(standin, thread_id, after=before)
    runner.settle()  # an answer to the chat would be computed alongside: wait for all the work
    assert len(standin.sent_messages(thread_id)) == 2, "one answer per question, none for the chat"


# -- long answers --------------------------------------------------------------------------------

CLAUSES = [
    "the harbour authority said the new ferry terminal at Port Ellen will open in March after the council "
    "approved the last permits",
    "the contractor, which had asked for two extensions because of storms and a shortage of steel, confirmed "
    "that the cranes and the passenger bridge had passed their inspections",
    "the mayor, speaking to reporters outside the town hall, added that the terminal would handle four daily "
    "departures to the islands and that fares would stay at last year's level",
    "local fishermen, who had opposed the project for years, said they had reached an agreement on a separate "
    "quay so that their boats would not have to share the channel with the ferries",
    "the regional government promised to pay for the dredging of the channel, which had been delayed twice, "
    "and to publish the environmental report before the end of the month",
    "the ferry company said it would hire forty people from the town to staff the ticket office, the car deck "
    "and the cafe, and that training would start in February",
    "the tourism board expects the opening in March to bring more visitors in spring, when the whisky "
    "distilleries on the island hold their open days",
    "the harbour master warned that the old slipway would close for good once the new terminal opens, and "
    "that small boats would use the marina instead",
    "the council's transport committee will meet again in April to review the timetable after the first "
    "month of operation at the new terminal",
    "and the islanders' association welcomed the news but asked for a shuttle bus between the terminal and "
    "the village centre",
]
LONG_1 = "The new ferry terminal at Port Ellen will open in March: " + "; ".join(CLAUSES) + "."
LONG_2 = ("Officials confirmed on Tuesday that the ferry terminal opens in March, and that "
          + "; ".join(c.replace("the ", "this ", 1) for c in reversed(CLAUSES)) + ".")


@pytest.fixture(scope="module")
def long_index(tmp_path_factory, seed_data_dir, e5):
    """An index of one article whose two answering sentences are ~1,600 characters each."""
    import shutil

    from cita.app import make_answerer, make_builder
    from tests.conftest import make_settings

    base = tmp_path_factory.mktemp("long")
    (base / "articles").mkdir()
    (base / "articles" / "ferry.txt").write_text(
        "Harbour notes\n\n" + LONG_1 + "\n\n" + LONG_2 + "\n\nThe weather was sunny and the gulls were loud.\n")
    shutil.copytree(seed_data_dir / "cache", base / "data" / "cache")  # the background sentences' vectors
    settings = make_settings(base / "data", articles_dir=base / "articles", chunk_tokens=1024,
                             chunk_overlap_tokens=32)
    builder = make_builder(settings, e5)
    builder.rebuild([base / "articles"])
    builder.close()
    return base / "data", make_answerer(settings, e5)


def test_a_long_answer_is_split_at_quote_boundaries_within_discords_limits(standin, start_bot, long_index):
    data_dir, answerer = long_index
    expected = answerer.ask("When will the ferry terminal open?")
    assert {c.quote for c in expected.citations} == {LONG_1, LONG_2}, "the setup: two very long quotes"
    runner = start_bot(answerer=answerer, data_dir=data_dir)

    # with embeds: one message, within 4,096 per description and 6,000 in all
    q1 = standin.user_message("When will the ferry terminal open?")
    msgs = [r.json for r in [answer_in(standin, q1["id"])]]
    # plain text (the bot may not embed links in #no-embeds): 2,000 characters per message
    q2 = standin.user_message("When will the ferry terminal open?", channel_id=standin.no_embeds)
    standin.wait_until(lambda: len(standin.sent_messages(q2["id"])) >= 2, what="the plain answer in pieces")
    runner.settle()  # every piece sent
    plain = [r.json for r in standin.sent_messages(q2["id"])]

    for payload in msgs + plain:
        assert not reply_problems(as_reply(payload)), reply_problems(as_reply(payload))
        assert pings_nobody(payload)
    assert all(not p.get("embeds") for p in plain) and len(plain) >= 2
    for quote in (LONG_1, LONG_2):
        assert sum(quote in text_of(p) for p in msgs) == 1
        holders = [p for p in plain if quote in p["content"]]
        assert len(holders) == 1, "each quote whole in one message"
        assert f"> {quote} [1]" in holders[0]["content"], "and its number right after it"
    assert plain[0]["content"].startswith("**When will the ferry terminal open?**")
    assert "Sources" in plain[-1]["content"] and "`ferry.txt`" in plain[-1]["content"]


# -- nothing pings anyone ------------------------------------------------------------------------

def test_everyone_and_role_mentions_in_a_question_never_ping(standin, start_bot):
    start_bot()
    q = standin.user_message(f"@everyone <@&{standin.guild_id}> what did the US demand? <@{standin.bob.id}>",
                             mention_everyone=True)
    answer = answer_in(standin, q["id"])
    assert answer.json["embeds"][0]["title"] == (
        f"@everyone <@&{standin.guild_id}> what did the US demand? <@{standin.bob.id}>")
    too_long = standin.user_message("@everyone " + "why " * 200)
    standin.wait_for(lambda r: r.matches("POST", rf"/channels/{standin.general}/messages")
                     and str(r.json.get("message_reference", {}).get("message_id")) == too_long["id"],
                     what="the refusal")
    payloads = standin.message_payloads()
    assert len(payloads) >= 2
    for p in payloads:
        assert pings_nobody(p), p


# -- bad input -------------------------------------------------------------------------------------

@pytest.mark.parametrize("content, attachments, expected", [
    ("", None, EMPTY_MENTION),
    ("   ", None, EMPTY_MENTION),
    ("", [{"id": "1", "filename": "photo.png", "size": 10, "url": "https://cdn.example/photo.png",
           "proxy_url": "https://cdn.example/photo.png"}], ATTACHMENT_ONLY),
    ("?" * 3, None, "Ask a question, for example: What did the US demand?"),
    ("why " * 130, None, "That question is 519 characters long; keep it under 500."),
])
def test_bad_input_gets_a_short_reply_and_nothing_is_answered(standin, start_bot, content, attachments, expected):
    runner = start_bot()
    q = standin.user_message(content, attachments=attachments)
    reply = standin.wait_for(lambda r: r.matches("POST", rf"/channels/{standin.general}/messages"), what="the reply")
    assert reply.json["content"] == expected
    assert str(reply.json["message_reference"]["message_id"]) == q["id"]
    assert pings_nobody(reply.json)
    runner.settle()
    assert standin.sent_messages() == [reply], "the short reply only"
    assert not standin.find("POST", r"/channels/\d+/messages/\d+/threads")
    assert not standin.find("POST", r"/channels/\d+/typing"), "no work was started"


def test_a_direct_message_is_politely_declined_by_default(standin, start_bot):
    start_bot()
    dm = standin.dm_message("What did the US demand?")
    reply = standin.wait_for(lambda r: r.matches("POST", rf"/channels/{dm['channel_id']}/messages"), what="the reply")
    assert reply.json["content"] == DM_DECLINED


def test_direct_messages_are_answered_when_enabled(standin, start_bot):
    start_bot(answer_dms=True)
    dm = standin.dm_message("When is the security meeting?")
    reply = standin.wait_for(lambda r: r.matches("POST", rf"/channels/{dm['channel_id']}/messages"), what="the answer")
    assert MEETING in reply.json["embeds"][0]["description"]
    assert pings_nobody(reply.json)


def test_the_channel_allow_list(standin, start_bot):
    runner = start_bot(channels=frozenset({standin.general}))
    standin.user_message("When is the security meeting?", channel_id=standin.other)
    q = standin.user_message("When is the security meeting?")
    answer_in(standin, q["id"])
    interaction = standin.slash("ask", {"question": "When is the security meeting?"}, channel_id=standin.other)
    refusal = standin.wait_for(lambda r: r.path.endswith(f"/{interaction['token']}/callback"))
    assert refusal.json["type"] == 4
    assert refusal.json["data"]["content"] == CHANNEL_NOT_ALLOWED and refusal.json["data"]["flags"] == 64
    runner.settle()  # the question in #other came first: whatever the bot did with it is done
    assert not standin.find("POST", rf"/channels/{standin.other}/.*"), "nothing at all in #other"


# -- /sources and /help -------------------------------------------------------------------------

def test_sources_lists_the_indexed_articles_privately(standin, start_bot):
    start_bot()
    interaction = standin.slash("sources")
    ack = standin.wait_for(lambda r: r.path.endswith(f"/{interaction['token']}/callback"))
    assert ack.json["type"] == 5 and ack.json["data"]["flags"] == 64
    follow = standin.wait_for(lambda r: r.matches("PATCH", rf"/webhooks/{standin.app_id}/{interaction['token']}"
                                                           r"/messages/@original"))
    embed = follow.json["embeds"][0]
    assert embed["title"] == "Indexed articles"
    assert embed["description"].startswith(f"**[1]** {SEED_TITLE}") and SEED_FILE in embed["description"]
    assert embed["footer"]["text"] == "Page 1 of 1 · 1 article"
    assert standin.interactions[interaction["token"]]["original"]["flags"] & 64, "private: the defer was"


def test_timeline_answers_with_the_dated_quotes_or_says_why_not(standin, start_bot):
    start_bot()
    interaction = standin.slash("timeline", {"topic": "reunión ministerial de seguridad"})
    ack = standin.wait_for(lambda r: r.path.endswith(f"/{interaction['token']}/callback"))
    assert ack.json["type"] == 5
    follow = standin.wait_for(lambda r: r.matches("PATCH", rf"/webhooks/{standin.app_id}/{interaction['token']}"
                                                           r"/messages/@original"))
    embed = follow.json["embeds"][0]
    assert embed["title"] == "Timeline: reunión ministerial de seguridad"
    # the seed article has no date: nothing can be placed in time, and the reply says so
    assert embed["description"] == "Los artículos sobre esto no tienen fecha."  # in the question's language
    assert reply_problems(as_reply(follow.json)) == [] and pings_nobody(follow.json)


def test_help_explains_how_to_ask(standin, start_bot):
    start_bot()
    interaction = standin.slash("help")
    ack = standin.wait_for(lambda r: r.path.endswith(f"/{interaction['token']}/callback"))
    assert ack.json["type"] == 4 and ack.json["data"]["flags"] == 64
    text = ack.json["data"]["embeds"][0]["description"]
    assert "/ask question:" in text and "Mention me" in text and "/reindex" in text


def test_the_slash_commands_are_registered_with_reindex_hinted_for_managers(standin, start_bot):
    start_bot()
    put = standin.wait_for(lambda r: r.matches("PUT", rf"/applications/{standin.app_id}/commands"),
                           what="the commands registered at startup")
    by_name = {c["name"]: c for c in put.json}
    assert set(by_name) == {"ask", "sources", "help", "reindex", "refresh", "timeline"}
    assert int(by_name["reindex"]["default_member_permissions"]) == 1 << 5  # Manage Server
    assert int(by_name["refresh"]["default_member_permissions"]) == 1 << 5
    assert by_name["ask"]["options"][0]["name"] == "question" and by_name["ask"]["options"][0]["required"]
