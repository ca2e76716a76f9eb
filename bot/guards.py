"""Who may ask what, where and when: plain decisions the Discord layer applies.

- `question_from_message`: the question in a message that mentions the bot (mentions removed),
  or a short helpful message saying what is wrong with it.
- `ChannelPolicy`: the channel allow-list (empty: every channel); a thread counts as its parent.
- `Gate`: a per-user cooldown and a bounded number of answers in progress. Beyond either, the
  user is told "busy, try again in N s" and nothing is computed.
- `classify`: what a message is to the bot (a question by DM, a follow-up in its thread or in a
  post of an ask forum, a mention, a reply to one of its answers, a new message in an ask channel,
  a new post in an ask forum, or nothing for it), from plain facts the Discord layer reads off the
  message.
- `plan_delivery`: where and how an answer can go with the permissions the bot has in a channel
  (a thread, the channel, as a reply or not, embeds or text), and what it lacks, before any work.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import Enum

from answer.answering import QuestionError, clean_question

EMPTY_MENTION = "Ask me a question after the mention, for example: `@Cita What did the US demand?` (or use `/ask`)."
ATTACHMENT_ONLY = "I can only read questions typed as text: write your question in the message."
DM_DECLINED = ("I answer questions in server channels, not in direct messages: mention me there "
               "or use `/ask` in a channel.")
CHANNEL_NOT_ALLOWED = "I don't answer questions in this channel."
COOLDOWN = "You're asking a bit fast: try again in {n} s."
BUSY = "I'm busy answering other questions: try again in {n} s."

_MENTION = re.compile(r"<@[!&]?(\d+)>")


class Refused(Exception):
    """A question that will not be answered, with the short reply that says why."""

    def __init__(self, message: str, retry_after: float = 0.0) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


def strip_mentions(content: str, ids: Iterable[int]) -> str:
    """`content` without the mentions of the given user or role ids (other mentions stay)."""
    wanted = {str(i) for i in ids}
    return _MENTION.sub(lambda m: "" if m.group(1) in wanted else m.group(0), content or "")


def question_from_message(content: str, *, bot_ids: Iterable[int] = (), has_attachments: bool = False,
                          max_chars: int) -> str:
    """The cleaned question in a message addressed to the bot, or Refused with the reply."""
    text = strip_mentions(content, bot_ids)
    if not text.strip():
        raise Refused(ATTACHMENT_ONLY if has_attachments else EMPTY_MENTION)
    return validate_question(text, max_chars=max_chars)


def validate_question(text: str, *, max_chars: int) -> str:
    """The question as the answerer will see it, or Refused with a short helpful reply."""
    try:
        return clean_question(text, max_chars=max_chars)
    except QuestionError as e:
        raise Refused(str(e)) from None


def looks_like_chat_between_people(content: str, *, bot_ids: Iterable[int]) -> bool:
    """A message in a bot thread that starts by mentioning someone other than the bot is meant
    for them, not a follow-up question for the bot."""
    m = re.match(r"\s*<@[!&]?(\d+)>", content or "")
    return bool(m) and int(m.group(1)) not in set(bot_ids)


@dataclass(frozen=True)
class ChannelPolicy:
    """Which channels the bot answers in: all (empty allow-list) or the listed ones. A thread is
    allowed when it or its parent channel is listed."""

    allowed: frozenset[int] = frozenset()

    def permits(self, channel_id: int | None, parent_id: int | None = None) -> bool:
        if not self.allowed:
            return True
        return channel_id in self.allowed or (parent_id is not None and parent_id in self.allowed)


class Ticket:
    """An admitted question: release it when the answer is sent (or failed)."""

    def __init__(self, gate: Gate) -> None:
        self._gate = gate
        self._start = gate.clock()
        self._released = False

    def release(self) -> None:
        if not self._released:
            self._released = True
            self._gate._finished(self._gate.clock() - self._start)

    def __enter__(self) -> Ticket:
        return self

    def __exit__(self, *exc) -> None:
        self.release()


class Gate:
    """Per-user cooldown plus a bound on answers in progress.

    A user may ask once per `cooldown_s` seconds (counted from their last admitted question);
    at most `max_pending` answers are in progress at once. Refusals say how many seconds to
    wait: the rest of the cooldown, or the expected time until a slot frees up (from a moving
    average of recent answer times). A refused question does not restart the cooldown.
    """

    def __init__(self, *, cooldown_s: float, max_pending: int, workers: int = 1,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.cooldown_s = max(0.0, float(cooldown_s))
        self.max_pending = max(1, int(max_pending))
        self.workers = max(1, int(workers))
        self.clock = clock
        self._last: dict[int, float] = {}
        self._pending = 0
        self._avg_s = 2.0  # until measured
        self._lock = threading.Lock()

    @property
    def pending(self) -> int:
        return self._pending

    def admit(self, user_id: int, *, exempt_cooldown: bool = False) -> Ticket:
        """A Ticket for the user's question, or Refused("... try again in N s")."""
        with self._lock:
            now = self.clock()
            last = self._last.get(user_id)
            if not exempt_cooldown and last is not None and now - last < self.cooldown_s:
                wait = self.cooldown_s - (now - last)
                raise Refused(COOLDOWN.format(n=_seconds(wait)), wait)
            if self._pending >= self.max_pending:
                wait = self._avg_s * max(1, self._pending - self.workers + 1) / self.workers
                raise Refused(BUSY.format(n=_seconds(wait)), wait)
            self._pending += 1
            if not exempt_cooldown:
                self._last[user_id] = now
            self._forget_old(now)
        return Ticket(self)

    def _finished(self, seconds: float) -> None:
        with self._lock:
            self._pending = max(0, self._pending - 1)
            self._avg_s = 0.7 * self._avg_s + 0.3 * max(0.0, seconds)

    def _forget_old(self, now: float) -> None:
        if len(self._last) > 10_000:
            self._last = {u: t for u, t in self._last.items() if now - t < self.cooldown_s}


def _seconds(wait: float) -> int:
    return max(1, math.ceil(wait))


class Kind(Enum):
    """What a message is to the bot."""

    IGNORE = "ignore"            # not for the bot (or not in a channel it answers in)
    DM_DECLINED = "dm-declined"  # a direct message while DMs are off: a short note, no answer
    DM = "dm"                    # a direct message, answered
    FOLLOWUP = "followup"        # a message in a thread the bot opened: the thread's next question
    MENTION = "mention"          # a message that mentions the bot (or its role)
    REPLY = "reply"              # a reply to one of the bot's messages (asked with that answer's question)
    ASK_CHANNEL = "ask-channel"  # a new message in an ask channel (CITA_ASK_CHANNELS): answered in a thread
    FORUM_POST = "forum-post"    # the first message of a new post in an ask forum: answered in the post


@dataclass(frozen=True)
class MessageFacts:
    """What the Discord layer reads off a message, as plain values."""

    content: str
    bot_ids: frozenset[int]      # the bot's user id and its managed role's id
    from_a_bot: bool = False     # written by a bot (this one included)
    ordinary: bool = True        # a default or reply message (not a join, pin, thread notice...)
    in_dm: bool = False
    mentioned: bool = False      # the bot or its role is mentioned
    in_bot_thread: bool = False  # a thread the bot opened
    channel_allowed: bool = True  # CITA_CHANNELS allows the channel (or the thread's parent)
    replies_to_bot: bool = False  # a reply to a message the bot wrote
    replies_to_someone: bool = False  # a reply to a person's message
    in_ask_channel: bool = False  # a text channel listed in CITA_ASK_CHANNELS (not a thread in it)
    in_ask_forum_post: bool = False  # a post (thread) of a forum listed in CITA_ASK_CHANNELS
    starts_post: bool = False  # the first message of that post


def classify(m: MessageFacts, *, answer_dms: bool, answer_in_threads: bool) -> Kind:
    """What the bot does with a message."""
    if m.from_a_bot or not m.ordinary:
        return Kind.IGNORE
    if m.in_dm:
        return Kind.DM if answer_dms else Kind.DM_DECLINED
    to_people = looks_like_chat_between_people(m.content, bot_ids=m.bot_ids) or m.replies_to_someone
    if m.in_ask_forum_post and m.starts_post:
        return Kind.FORUM_POST
    if m.in_ask_forum_post and (m.mentioned or not to_people):
        return Kind.FOLLOWUP
    if m.in_bot_thread and (answer_in_threads or m.in_ask_channel) and (
            m.mentioned or not looks_like_chat_between_people(m.content, bot_ids=m.bot_ids)):
        kind = Kind.FOLLOWUP
    elif m.replies_to_bot:
        kind = Kind.REPLY
    elif m.mentioned:
        kind = Kind.MENTION
    elif m.in_ask_channel and not to_people:
        return Kind.ASK_CHANNEL
    else:
        return Kind.IGNORE
    return kind if m.channel_allowed or m.in_ask_channel else Kind.IGNORE


# -- permissions -------------------------------------------------------------------------------------

SEND = "Send Messages"
SEND_IN_THREADS = "Send Messages in Threads"
CREATE_THREADS = "Create Public Threads"
READ_HISTORY = "Read Message History"
EMBED = "Embed Links"


@dataclass(frozen=True)
class Perms:
    """The bot's permissions in one channel, as far as answering goes (all true in a DM)."""

    send: bool = True
    send_in_threads: bool = True
    create_threads: bool = True
    read_history: bool = True
    embed_links: bool = True


@dataclass(frozen=True)
class Delivery:
    """Where an answer goes: "thread" (a new one on the question), "here" (the message's own
    channel or thread) or "nowhere" (the bot may not post); whether as a reply; embeds or text;
    and the permissions whose lack changed or stopped the plan."""

    where: str
    reply: bool
    embeds: bool
    missing: tuple[str, ...] = ()


def plan_delivery(p: Perms, *, in_thread: bool, open_thread: bool, reply: bool = True) -> Delivery:
    """How to answer a message with permissions `p`, decided before any work so the bot makes no
    request Discord would refuse. A thread needs Create Public Threads and Send Messages in
    Threads (not Send Messages); without them the answer goes in the channel. A reply needs Read
    Message History; without it the answer is a plain message."""
    missing: list[str] = []
    send_here, send_here_name = (p.send_in_threads, SEND_IN_THREADS) if in_thread else (p.send, SEND)
    if open_thread and not in_thread:
        lacking = [name for ok, name in ((p.create_threads, CREATE_THREADS), (p.send_in_threads, SEND_IN_THREADS))
                   if not ok]
        if not lacking:
            return Delivery("thread", False, p.embed_links)
        missing += lacking
    if not send_here:
        return Delivery("nowhere", False, p.embed_links, tuple(missing + [send_here_name]))
    if reply and not p.read_history:
        missing.append(READ_HISTORY)
    return Delivery("here", reply and p.read_history, p.embed_links, tuple(missing))


def lacking_message(missing: Iterable[str], where: str = "here") -> str:
    """What to tell people when the bot cannot answer somewhere for want of permissions."""
    names = " and ".join(f"**{m}**" for m in dict.fromkeys(missing))
    return f"I can't answer {where}: I need the {names} permission there. Ask a server admin to grant it."
