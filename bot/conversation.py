"""Conversations in the threads the bot opens: which earlier turns a follow-up is asked with.

A follow-up such as "and where will it be held?" means nothing alone; asked with the earlier
question ("When is the security meeting?") as `context`, retrieval finds the passage about the
meeting. What goes into `context` is the earlier *questions* of the thread, most recent last: the
answerer blends the last two into the query. Earlier answers are not passed: on the seed article,
with four question/follow-up pairs, the earlier questions found the right passage for 3 of 4
follow-ups, the questions plus answers also 3, the answers alone 2, nothing 1 (see the README,
section Discord). A question counts as soon as it is asked, whatever its answer: the user's topic is in it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

MAX_CONTEXT_TURNS = 2
MAX_TURNS_KEPT = 8
MAX_THREADS = 2000


@dataclass(frozen=True)
class Turn:
    """One question asked in a thread (recorded when it is asked, before it is answered)."""

    question: str


def context_for(turns: list[Turn], *, max_turns: int = MAX_CONTEXT_TURNS) -> list[str] | None:
    """The `context=` for the next question of a thread with these earlier turns (oldest
    first): the last `max_turns` questions, or None for a thread with no earlier turn."""
    questions = [t.question for t in turns if t.question.strip()]
    if not questions or max_turns <= 0:
        return None
    return questions[-max_turns:]


class Conversations:
    """The turns of the threads the bot opened (bounded: the least recently used threads are
    forgotten first). Thread-safe."""

    def __init__(self, *, max_threads: int = MAX_THREADS, max_turns: int = MAX_TURNS_KEPT) -> None:
        self.max_threads = max_threads
        self.max_turns = max_turns
        self._threads: OrderedDict[int, list[Turn]] = OrderedDict()
        self._lock = threading.Lock()

    def knows(self, thread_id: int) -> bool:
        with self._lock:
            return thread_id in self._threads

    def start(self, thread_id: int, turns: list[Turn] | None = None) -> None:
        """Remember a thread (opened by the bot), optionally with its earlier turns."""
        with self._lock:
            self._threads[thread_id] = list(turns or [])[-self.max_turns:]
            self._threads.move_to_end(thread_id)
            while len(self._threads) > self.max_threads:
                self._threads.popitem(last=False)

    def turns(self, thread_id: int) -> list[Turn]:
        with self._lock:
            turns = self._threads.get(thread_id)
            if turns is None:
                return []
            self._threads.move_to_end(thread_id)
            return list(turns)

    def context(self, thread_id: int) -> list[str] | None:
        return context_for(self.turns(thread_id))

    def record(self, thread_id: int, turn: Turn) -> None:
        """Add a turn to a thread (starting the thread if it is new)."""
        with self._lock:
            turns = self._threads.setdefault(thread_id, [])
            turns.append(turn)
            del turns[:-self.max_turns]
            self._threads.move_to_end(thread_id)
            while len(self._threads) > self.max_threads:
                self._threads.popitem(last=False)
