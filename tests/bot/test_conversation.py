"""Which earlier turns of a bot thread a follow-up question is asked with."""

from __future__ import annotations

from bot.conversation import Conversations, Turn, context_for


def test_a_first_question_has_no_context():
    assert context_for([]) is None
    assert Conversations().context(5) is None


def test_a_follow_up_carries_the_last_two_earlier_questions_oldest_first():
    turns = [Turn("Who did De la Fuente talk to?"), Turn("When is the security meeting?")]
    assert context_for(turns[:1]) == ["Who did De la Fuente talk to?"]
    assert context_for(turns) == ["Who did De la Fuente talk to?", "When is the security meeting?"]
    assert context_for(turns + [Turn("and where?")]) == [
        "When is the security meeting?", "and where?"]
    assert context_for(turns, max_turns=1) == ["When is the security meeting?"]


def test_threads_are_kept_apart_and_bounded():
    conv = Conversations(max_threads=2, max_turns=3)
    conv.start(1)
    assert conv.knows(1) and conv.turns(1) == []
    for i in range(5):
        conv.record(1, Turn(f"q{i}"))
    assert [t.question for t in conv.turns(1)] == ["q2", "q3", "q4"]
    conv.record(2, Turn("other"))
    assert conv.context(2) == ["other"]
    conv.turns(1)  # thread 1 is now the most recently used
    conv.start(3, [Turn("restored")])
    assert conv.knows(1) and conv.knows(3) and not conv.knows(2)
    assert conv.context(3) == ["restored"]
