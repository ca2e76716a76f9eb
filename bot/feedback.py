"""👍/👎 on the bot's answers, appended to a local JSONL file for later review.

Each line is one rating: when, who (Discord ids only), where, which message, the question, the
answer text, whether it abstained, the citations (with their quotes), the generation of the
index it came from, and whether the reaction was added or removed.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections import OrderedDict
from dataclasses import asdict, dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

RATINGS = {"👍": "up", "👎": "down"}
MAX_REMEMBERED = 5000


@dataclass(frozen=True)
class AnsweredQuestion:
    """What a rating refers to: one answer the bot sent (possibly over several messages)."""

    question: str
    answer: str
    abstained: bool
    citations: list[dict] = field(default_factory=list)
    mode: str = ""
    generation: str = ""

    @classmethod
    def from_answer(cls, answer) -> AnsweredQuestion:
        return cls(question=answer.question, answer=answer.answer, abstained=answer.abstained,
                   citations=[asdict(c) for c in answer.citations], mode=answer.mode,
                   generation=answer.generation)


def rating_for(emoji: str) -> str | None:
    """"up" or "down" for 👍/👎 (any skin tone), None for any other emoji."""
    base = "".join(ch for ch in str(emoji) if not 0x1F3FB <= ord(ch) <= 0x1F3FF and ch != "\ufe0f")
    return RATINGS.get(base)


class FeedbackLog:
    """Remembers which messages carry which answer, and appends ratings of them to `path`."""

    def __init__(self, path: Path, *, remember: int = MAX_REMEMBERED) -> None:
        self.path = Path(path)
        self.remember = remember
        self._answers: OrderedDict[int, AnsweredQuestion] = OrderedDict()
        self._lock = threading.Lock()

    def remember_answer(self, message_ids: list[int], answered: AnsweredQuestion) -> None:
        with self._lock:
            for mid in message_ids:
                self._answers[mid] = answered
                self._answers.move_to_end(mid)
            while len(self._answers) > self.remember:
                self._answers.popitem(last=False)

    def answer_for(self, message_id: int) -> AnsweredQuestion | None:
        with self._lock:
            return self._answers.get(message_id)

    def record(self, *, message_id: int, emoji: str, user_id: int, channel_id: int | None,
               guild_id: int | None, removed: bool = False) -> dict | None:
        """Append the rating of an answer message; None (nothing written) when the emoji is not
        👍/👎 or the message is not a remembered answer."""
        rating = rating_for(emoji)
        answered = self.answer_for(message_id)
        if rating is None or answered is None:
            return None
        entry = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "rating": rating,
            "action": "removed" if removed else "added",
            "user_id": str(user_id),
            "guild_id": str(guild_id) if guild_id else None,
            "channel_id": str(channel_id) if channel_id else None,
            "message_id": str(message_id),
            **asdict(answered),
        }
        line = json.dumps(entry, ensure_ascii=False) + "\n"
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as f:
                f.write(line)
                f.flush()
                os.fsync(f.fileno())
        return entry


def read_feedback(path: Path) -> list[dict]:
    """Every rating in the file (lines that are not JSON are skipped)."""
    out = []
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return out
    for line in text.splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            log.warning("skipping a damaged line in %s", path)
    return out
