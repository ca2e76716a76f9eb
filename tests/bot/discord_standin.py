"""A local stand-in of Discord's gateway (websocket) and REST API, on 127.0.0.1, for tests.

It implements just enough of Discord for the real discord.py client to log in, connect (with or
without shards), register slash commands, receive MESSAGE_CREATE / INTERACTION_CREATE /
MESSAGE_REACTION_ADD dispatches, and send messages, interaction responses and follow-ups,
open threads and show typing. Every REST request is recorded with its JSON payload, and every
heartbeat with the time it arrived, so tests can assert on what the bot really sent.

It runs on its own thread and event loop; the test thread drives it with blocking calls
(`user_message`, `slash`, `react`, `wait_for`), and the bot runs in yet another thread, exactly
as it would against Discord. Nothing waits by sleeping: `wait_for` / `wait_until` wake on each
request, and `BotRunner.settle` (built on `StandIn.send_barrier`) returns once the bot has finished
with everything sent to it, for asserting that nothing more comes.

One server ("guild") with four text channels: #general, #other, #no-embeds (the bot may not
embed links there) and #quiet. Users: alice (a member), admin (Manage Server), and the bot.
`add_channel` adds more (with permissions denied to the bot, or a forum).

It holds the bot to Discord's rules, not only to what the tests look at:
- every REST request body is validated against Discord's OpenAPI description of the operation
  (`discord_spec`): 400 / 50035 naming the failing field, as Discord answers;
- what the spec cannot say: content over 2,000 characters, more than 6,000 characters across a
  message's embeds, an empty message (50006);
- the bot's permissions in each channel: 403 / 50013 for sending without Send Messages (Send
  Messages in Threads in a thread), replying without Read Message History, embeds without Embed
  Links, typing without Send Messages, a thread without Create Public Threads, reading history
  without Read Message History;
- interactions: the first response within 3 s (else 10062), the token for 15 minutes (else
  401 / 50027); the first follow-up after a defer edits the "thinking" message, keeping the
  defer's flags (Discord's deprecated backwards-compatible behaviour);
- threads: one per message (160004 for a second), archived threads (dropped from discord.py's
  cache, unarchived by a new message);
- the gateway: RESUME replays the events dispatched while the connection was down.

Requests it refuses for breaking a rule are in `invalid` (400s) and `forbidden` (403s); the
fixtures fail a test in which the bot made any (see tests/bot/conftest.py).
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import unquote

from aiohttp import WSMsgType, web

from tests.bot import discord_spec

DISCORD_EPOCH_MS = 1420070400000

# permission bits (https://discord.com/developers/docs/topics/permissions)
ADD_REACTIONS = 1 << 6
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
EMBED_LINKS = 1 << 14
READ_MESSAGE_HISTORY = 1 << 16
MANAGE_GUILD = 1 << 5
SEND_MESSAGES_PERMISSION = SEND_MESSAGES
USE_APPLICATION_COMMANDS = 1 << 31
CREATE_PUBLIC_THREADS = 1 << 35
SEND_MESSAGES_IN_THREADS = 1 << 38
MEMBER_PERMISSIONS = (ADD_REACTIONS | VIEW_CHANNEL | SEND_MESSAGES | EMBED_LINKS | READ_MESSAGE_HISTORY
                      | USE_APPLICATION_COMMANDS | CREATE_PUBLIC_THREADS | SEND_MESSAGES_IN_THREADS)
MESSAGE_CONTENT_INTENT = 1 << 15

_counter = itertools.count(1)

# a dispatch no client knows (see StandIn.send_barrier)
BARRIER_EVENT = "CITA_STANDIN_BARRIER"


def snowflake(age_s: float = 0.0) -> int:
    """A new id; with age_s, one whose timestamp lies that many seconds in the past."""
    ms = int((time.time() - age_s) * 1000) - DISCORD_EPOCH_MS
    return (ms << 22) | (next(_counter) & 0x3FFFFF)


def snowflake_time(value) -> float:
    return ((int(value) >> 22) + DISCORD_EPOCH_MS) / 1000


PERMISSION_NAMES = {VIEW_CHANNEL: "View Channel", SEND_MESSAGES: "Send Messages", EMBED_LINKS: "Embed Links",
                    READ_MESSAGE_HISTORY: "Read Message History", CREATE_PUBLIC_THREADS: "Create Public Threads",
                    SEND_MESSAGES_IN_THREADS: "Send Messages in Threads"}


def make_token(app_id: int) -> str:
    """A token of the shape Discord issues: base64(application id).timestamp.hmac."""
    first = base64.urlsafe_b64encode(str(app_id).encode()).decode().rstrip("=")
    return f"{first}.GxYzAb.{secrets.token_urlsafe(27)}"


def _json(data, status: int = 200) -> web.Response:
    # exactly "application/json": discord.py parses a body only with that content type
    return web.Response(body=json.dumps(data).encode(), status=status, headers={"Content-Type": "application/json"})


def _now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000000+00:00", time.gmtime())


@dataclass
class Recorded:
    """One REST request the bot made."""

    method: str
    path: str  # without the /api/v10 prefix
    query: dict
    json: dict | list | None
    at: float
    authorized: bool
    failed: int = 0  # the HTTP status of a fault the stand-in injected instead of answering
    refused: str = ""  # why the stand-in refused it as Discord would (invalid body, missing permission...)
    status: int = 0  # the status of that refusal
    answered: bool = False  # the stand-in has decided its answer (and stored what it creates)

    def matches(self, method: str, pattern: str) -> bool:
        return self.method == method and re.fullmatch(pattern, self.path) is not None


@dataclass
class Session:
    ws: web.WebSocketResponse
    shard: tuple[int, int] | None = None
    seq: int = 0
    identified: bool = False
    heartbeats: list[float] = field(default_factory=list)
    transport: object = None
    dropped: bool = False  # cut by drop_gateway()
    session_id: str = ""
    sent: list[dict] = field(default_factory=list)  # dispatches with their seq, for RESUME to replay
    resumed_by: Session | None = None

    @property
    def live(self) -> bool:
        return self.identified and not self.ws.closed and not self.dropped


@dataclass
class Fault:
    """The next `times` requests matching method and path pattern fail with `status`."""

    method: str
    pattern: str
    status: int
    times: int = 1
    retry_after: float = 1.0


@dataclass
class User:
    id: int
    username: str
    bot: bool = False

    def payload(self) -> dict:
        return {"id": str(self.id), "username": self.username, "discriminator": "0", "global_name": None,
                "avatar": None, "bot": self.bot, "public_flags": 0}


class StandIn:
    """Discord, as far as Cita's tests need it."""

    instances: list[StandIn] = []  # every stand-in made, for the fixtures' check of each test

    def __init__(self, *, heartbeat_interval_ms: int = 1000, message_content_enabled: bool = True,
                 app_id: int | None = None, interaction_ack_s: float = 3.0,
                 interaction_ttl_s: float = 15 * 60) -> None:
        StandIn.instances.append(self)
        self.interaction_ack_s = interaction_ack_s
        self.interaction_ttl_s = interaction_ttl_s
        self.invalid: list[Recorded] = []  # refused with 400 (body against the spec, limits, empty)
        self.forbidden: list[Recorded] = []  # refused with 403 (a permission the bot lacks)
        self.expected_forbidden = 0  # how many 403s a test expects the bot to meet (the rest fail it)
        self.automod_blocks: list[tuple[str, int]] = []  # (word, code): messages containing it are blocked
        self.blocked: list[Recorded] = []  # refused by AutoMod (not the bot's mistake)
        self.resumes: list[tuple[str, int]] = []  # (session id, events replayed) per RESUME
        self.app_id = app_id or snowflake()
        self.token = make_token(self.app_id)
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.message_content_enabled = message_content_enabled
        self.bot = User(self.app_id, "Cita", bot=True)
        self.alice = User(snowflake(), "alice")
        self.bob = User(snowflake(), "bob")
        self.admin = User(snowflake(), "admin")
        self.guild_id = snowflake()
        self.bot_role_id = snowflake()
        self.general = snowflake()
        self.other = snowflake()
        self.no_embeds = snowflake()
        self.quiet = snowflake()
        self.channels: dict[int, dict] = {}
        for cid, name in ((self.general, "general"), (self.other, "other"), (self.no_embeds, "no-embeds"),
                          (self.quiet, "quiet")):
            overwrites = []
            if cid == self.no_embeds:
                overwrites.append({"id": str(self.bot_role_id), "type": 0, "allow": "0", "deny": str(EMBED_LINKS)})
            self.channels[cid] = {"id": str(cid), "type": 0, "guild_id": str(self.guild_id), "name": name,
                                  "position": len(self.channels), "permission_overwrites": overwrites,
                                  "nsfw": False, "parent_id": None, "topic": None, "last_message_id": None,
                                  "rate_limit_per_user": 0}
        self.messages: dict[int, dict] = {}
        self.interactions: dict[str, dict] = {}  # by token
        self.commands: list[dict] = []
        self.requests: list[Recorded] = []
        self.identifies: list[dict] = []
        self.sessions: list[Session] = []
        self.closed_with: list[int] = []
        self.faults: list[Fault] = []
        self.extra_roles: list[dict] = []
        self.dispatched = 0  # gateway events sent to a connected client
        self._cond = threading.Condition()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self.port = 0

    # -- running ------------------------------------------------------------------------------

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v10"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway"

    def start(self) -> StandIn:
        started = threading.Event()

        def run() -> None:
            self._loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self._loop)
            self._loop.run_until_complete(self._serve())
            started.set()
            self._loop.run_forever()
            self._loop.run_until_complete(self._runner.cleanup())
            self._loop.close()

        self._thread = threading.Thread(target=run, name="discord-standin", daemon=True)
        self._thread.start()
        if not started.wait(10):
            raise RuntimeError("the Discord stand-in did not start")
        return self

    async def _serve(self) -> None:
        app = web.Application()
        app.router.add_get("/gateway", self._gateway)
        app.router.add_route("*", "/api/v10/{path:.*}", self._rest)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]

    def stop(self) -> None:
        if self._loop is None:
            return

        async def close_all():
            for s in list(self.sessions):
                if not s.ws.closed:
                    await s.ws.close()

        with _suppress():
            self.call(close_all(), timeout=5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def call(self, coro, timeout: float = 10):
        """Run a coroutine on the stand-in's loop from the test thread and wait for it."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    # -- what the tests look at ---------------------------------------------------------------

    def wait_for(self, predicate, timeout: float = 30.0, what: str = "a request"):
        """The first recorded request matching `predicate` (waiting for it), else AssertionError.
        It is returned once the stand-in has answered it (what it created is stored: `bot_messages`
        has the message); requests it failed on purpose (`fail_next`) or refused are not candidates."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for r in self.requests:
                    if r.answered and not r.failed and not r.refused and predicate(r):
                        return r
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = "\n".join(f"  {r.method} {r.path}" for r in self.requests[-20:])
                    raise AssertionError(f"timed out after {timeout} s waiting for {what}; last requests:\n{seen}")
                self._cond.wait(left)

    def wait_until(self, condition, timeout: float = 30.0, what: str = "a condition"):
        deadline = time.monotonic() + timeout
        with self._cond:
            while not condition():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"timed out after {timeout} s waiting for {what}")
                self._cond.wait(min(left, 0.2))

    def send_barrier(self) -> int:
        """Dispatch, on every live connection, an event type no client knows (and must ignore, as it
        does the ones Discord adds); returns how many. A connection's events are read one at a
        time, in order: once the client has read this one, it has handled every event before it
        as far as discord.py does on receipt (parsed it, started its listeners). See
        BotRunner.settle. (Not a heartbeat request, op 1: discord.py answers those through its
        gateway rate limiter, 110 sends a minute, and stops reading events while it waits.)"""

        async def mark():
            n = 0
            for s in self.sessions:
                if s.live:
                    await self._dispatch(BARRIER_EVENT, {}, s)
                    n += 1
            return n

        return self.call(mark())

    def find(self, method: str, pattern: str) -> list[Recorded]:
        """Requests the stand-in answered (not those it failed on purpose, see `fail_next`)."""
        with self._cond:
            return [r for r in self.requests if r.matches(method, pattern) and not r.failed and not r.refused]

    def failed_requests(self) -> list[Recorded]:
        with self._cond:
            return [r for r in self.requests if r.failed]

    def sent_messages(self, channel_id: int | None = None) -> list[Recorded]:
        """Messages the bot posted in a channel (or anywhere), oldest first."""
        pattern = rf"/channels/{channel_id}/messages" if channel_id else r"/channels/\d+/messages"
        return self.find("POST", pattern)

    def message_payloads(self) -> list[dict]:
        """Every payload the bot sent that creates or edits a message (channel messages,
        interaction responses, follow-ups, edits)."""
        out = []
        with self._cond:
            for r in self.requests:
                if r.json is None or r.method not in ("POST", "PATCH") or r.failed:
                    continue
                if (re.fullmatch(r"/channels/\d+/messages", r.path)
                        or re.fullmatch(r"/webhooks/\d+/[^/]+(/messages/.*)?", r.path)):
                    out.append(r.json)
                elif re.fullmatch(r"/interactions/\d+/[^/]+/callback", r.path) and r.json.get("data"):
                    if r.json.get("type") in (4, 7):
                        out.append(r.json["data"])
        return out

    def is_interaction_reply(self, r: Recorded, token: str) -> bool:
        """A request that answers an interaction after its defer: the edit of the original
        response, or a follow-up."""
        base = f"/webhooks/{self.app_id}/{token}"
        return (r.method, r.path) in (("PATCH", base + "/messages/@original"), ("POST", base))

    def interaction_replies(self, token: str) -> list[Recorded]:
        """The answered requests that answer an interaction (see is_interaction_reply), in order."""
        with self._cond:
            return [r for r in self.requests if not r.failed and not r.refused and self.is_interaction_reply(r, token)]

    def wait_ready(self, timeout: float = 30.0, sessions: int = 1) -> None:
        self.wait_until(lambda: sum(1 for s in self.sessions if s.live) >= sessions, timeout,
                        f"{sessions} identified gateway session(s)")

    def bot_messages(self, channel_id: int) -> list[dict]:
        """Messages the bot created in a channel (as the stand-in stored them, with ids), oldest first."""
        with self._cond:
            msgs = [m for m in self.messages.values()
                    if int(m["channel_id"]) == int(channel_id) and m["author"]["id"] == str(self.bot.id)]
        return sorted(msgs, key=lambda m: int(m["id"]))

    def heartbeat_times(self) -> list[float]:
        with self._cond:
            return sorted(t for s in self.sessions for t in s.heartbeats)

    # -- what users do (called from the test thread) ------------------------------------------

    def member_payload(self, user: User, *, permissions: int | None = None, roles: tuple[int, ...] = ()) -> dict:
        roles = [str(self.bot_role_id)] if user is self.bot else [str(r) for r in roles]
        data = {"user": user.payload(), "roles": roles, "joined_at": _now_iso(), "deaf": False, "mute": False,
                "flags": 0, "nick": None, "pending": False}
        if permissions is not None:
            data["permissions"] = str(permissions)
        return data

    def add_channel(self, name: str, *, type: int = 0, deny: int = 0, allow: int = 0) -> int:
        """Another channel (0: text, 15: forum) where the bot's role is denied or allowed the
        given permission bits; announced to a connected bot. Returns its id."""
        cid = snowflake()
        overwrites = [{"id": str(self.bot_role_id), "type": 0, "allow": str(allow), "deny": str(deny)}] if (
            deny or allow) else []
        channel = {"id": str(cid), "type": type, "guild_id": str(self.guild_id), "name": name,
                   "position": len(self.channels), "permission_overwrites": overwrites, "nsfw": False,
                   "parent_id": None, "topic": None, "last_message_id": None, "rate_limit_per_user": 0}
        if type == 15:
            channel.update({"available_tags": [], "default_reaction_emoji": None, "default_sort_order": None,
                            "default_forum_layout": 0, "default_thread_rate_limit_per_user": 0, "flags": 0})
        self.channels[cid] = channel
        if self._loop is not None and any(s.live for s in self.sessions):
            self.dispatch("CHANNEL_CREATE", channel)
        return cid

    def archive(self, thread_id: int) -> None:
        """The thread archives (inactivity): discord.py drops it from its cache."""
        self.call(self._set_archived(int(thread_id), True))

    def forum_post(self, forum_id: int, title: str, content: str, *, author: User | None = None) -> dict:
        """A person opens a post in a forum: a thread (owned by them) whose first message has the
        thread's id. Returns that message."""
        author = author or self.alice
        thread_id = snowflake()
        thread = self._thread_payload(thread_id, forum_id, title, 4320, owner_id=author.id, message_count=1)
        self.channels[thread_id] = thread
        self.dispatch("THREAD_CREATE", {**thread, "newly_created": True})
        return self.user_message(content, channel_id=thread_id, author=author, mention_bot=False,
                                 message_id=thread_id)

    def user_message(self, content: str, *, channel_id: int | None = None, author: User | None = None,
                     mention_bot: bool = True, attachments: list[dict] | None = None,
                     mention_everyone: bool = False, reply_to: dict | None = None,
                     reply_ping: bool = True, message_id: int | None = None, thread_exists: bool = False) -> dict:
        """A person posts a message; with mention_bot the content starts with the bot's mention.
        With reply_to (a message payload) it is a reply to that message: Discord puts its author
        in `mentions` (when the reply pings, the default) and never in the text. A message in an
        archived thread unarchives it (MESSAGE_CREATE comes before the THREAD_UPDATE)."""
        author = author or self.alice
        channel_id = channel_id or self.general
        if mention_bot:
            content = f"<@{self.bot.id}> {content}"
        mentioned = [int(m) for m in re.findall(r"<@!?(\d+)>", content)]
        if reply_to is not None and reply_ping:
            mentioned.append(int(reply_to["author"]["id"]))
        users = {u.id: u for u in (self.bot, self.alice, self.bob, self.admin)}
        data = {
            "id": str(message_id or snowflake()), "channel_id": str(channel_id), "guild_id": str(self.guild_id),
            "author": author.payload(), "member": self.member_payload(author), "content": content,
            "timestamp": _now_iso(), "edited_timestamp": None, "tts": False, "mention_everyone": mention_everyone,
            "mentions": [users[m].payload() for m in dict.fromkeys(mentioned) if m in users],
            "mention_roles": re.findall(r"<@&(\d+)>", content),
            "attachments": attachments or [], "embeds": [], "pinned": False, "type": 0, "flags": 0,
        }
        if reply_to is not None:
            data["type"] = 19
            data["message_reference"] = {"type": 0, "message_id": reply_to["id"], "channel_id": reply_to["channel_id"],
                                         "guild_id": str(self.guild_id)}
            data["referenced_message"] = reply_to
        if not self.message_content_enabled and self.bot.id not in mentioned:
            data["content"] = ""
        self.messages[int(data["id"])] = data
        if thread_exists:  # a thread on this message, opened by another Cita process a moment before
            thread = self._thread_payload(int(data["id"]), int(channel_id), "thread", 1440)
            self.channels[int(data["id"])] = thread
            data["thread"] = thread
            self.dispatch("THREAD_CREATE", {**thread, "newly_created": True})
        channel = self.channels.get(int(channel_id), {})
        self.dispatch("MESSAGE_CREATE", data)
        if channel.get("type") == 11 and channel["thread_metadata"]["archived"]:
            self.call(self._set_archived(int(channel_id), False))
        return data

    def dm_message(self, content: str, *, author: User | None = None) -> dict:
        author = author or self.alice
        channel_id = snowflake()
        data = {
            "id": str(snowflake()), "channel_id": str(channel_id), "author": author.payload(), "content": content,
            "timestamp": _now_iso(), "edited_timestamp": None, "tts": False, "mention_everyone": False,
            "mentions": [], "mention_roles": [], "attachments": [], "embeds": [], "pinned": False, "type": 0,
            "flags": 0,
        }
        self.channels[channel_id] = {"id": str(channel_id), "type": 1, "recipients": [author.payload()],
                                     "last_message_id": None}
        self.messages[int(data["id"])] = data
        self.dispatch("MESSAGE_CREATE", data)
        return data

    def slash(self, name: str, options: dict | None = None, *, user: User | None = None,
              permissions: int = MEMBER_PERMISSIONS, channel_id: int | None = None,
              roles: tuple[int, ...] = (), token_left_s: float | None = None) -> dict:
        """A member runs a slash command; returns the interaction payload (its token identifies
        the responses). With token_left_s, the interaction was created long enough ago that its
        token (15 minutes from creation) expires that many seconds from now."""
        user = user or self.alice
        channel_id = channel_id or self.general
        channel = self.channels[channel_id]
        cmd = next((c for c in self.commands if c["name"] == name), None)
        data = {
            "id": str(snowflake(0 if token_left_s is None else 15 * 60 - token_left_s)),
            "application_id": str(self.app_id), "type": 2,
            "token": "itok_" + secrets.token_urlsafe(24), "version": 1, "guild_id": str(self.guild_id),
            "guild": {"id": str(self.guild_id), "locale": "en-US", "features": []},
            "channel_id": str(channel_id), "channel": channel,
            "member": self.member_payload(user, permissions=permissions, roles=roles),
            "app_permissions": str(self._bot_permissions(channel_id)), "locale": "en-US", "guild_locale": "en-US",
            "entitlements": [], "authorizing_integration_owners": {"0": str(self.guild_id)}, "context": 0,
            "attachment_size_limit": 26214400,
            "data": {"id": cmd["id"] if cmd else str(snowflake()), "name": name, "type": 1,
                     "options": [{"name": k, "type": 3 if isinstance(v, str) else 4, "value": v}
                                 for k, v in (options or {}).items()]},
        }
        self.interactions[data["token"]] = {"payload": data, "dispatched_at": time.monotonic(), "original": None}
        self.dispatch("INTERACTION_CREATE", data)
        return data

    def react(self, message_id: int, emoji: str, *, user: User | None = None, channel_id: int | None = None,
              removed: bool = False) -> None:
        user = user or self.alice
        msg = self.messages.get(int(message_id), {})
        data = {"user_id": str(user.id), "message_id": str(message_id),
                "channel_id": str(channel_id or msg.get("channel_id") or self.general),
                "guild_id": str(self.guild_id), "emoji": {"id": None, "name": emoji}, "burst": False, "type": 0}
        if not removed:
            data["member"] = self.member_payload(user)
            data["message_author_id"] = str(self.bot.id)
        self.dispatch("MESSAGE_REACTION_REMOVE" if removed else "MESSAGE_REACTION_ADD", data)

    def dispatch(self, event: str, data: dict) -> None:
        self.call(self._dispatch(event, data))

    # -- faults (called from the test thread) -------------------------------------------------

    def add_role(self, name: str, permissions: int = 0) -> int:
        """A role in the server (call before the bot connects); returns its id for `slash(roles=)`."""
        role_id = snowflake()
        self.extra_roles.append({"id": str(role_id), "name": name, "permissions": str(permissions),
                                 "position": 2 + len(self.extra_roles), "color": 0, "hoist": False,
                                 "managed": False, "mentionable": True, "flags": 0})
        return role_id

    def fail_next(self, method: str, pattern: str, status: int, *, times: int = 1,
                  retry_after: float = 1.0) -> Fault:
        """The next `times` REST requests matching (method, path regex) get `status` instead of
        an answer: 429 with `retry_after` as Discord sends it, or a server error (500...)."""
        fault = Fault(method, pattern, status, times, retry_after)
        with self._cond:
            self.faults.append(fault)
        return fault

    def drop_gateway(self, code: int | None = None) -> int:
        """Cut every open gateway connection: closed with `code` (4000: unknown error, the client
        resumes), or, with no code, abruptly (the TCP connection dies). Returns how many."""

        async def drop():
            n = 0
            for s in list(self.sessions):
                if s.ws.closed or s.dropped:
                    continue
                s.dropped = True
                n += 1
                if code is None:
                    s.transport.abort()
                else:
                    await s.ws.close(code=code, message=b"stand-in: connection dropped")
            return n

        n = self.call(drop())
        with self._cond:
            self._cond.notify_all()
        return n

    def invalidate_session(self) -> None:
        """Op 9 INVALID_SESSION (not resumable): the client must identify again."""

        async def invalidate():
            for s in self.sessions:
                if s.live:
                    s.dropped = True
                    await s.ws.send_str(json.dumps({"op": 9, "d": False}))

        self.call(invalidate())

    # -- gateway ------------------------------------------------------------------------------

    def _shard_of_guild(self, shard_count: int) -> int:
        return (self.guild_id >> 22) % shard_count

    def _serves_guild(self, s: Session) -> bool:
        return s.shard is None or s.shard[0] == self._shard_of_guild(s.shard[1])

    def _session_for_guild(self) -> Session | None:
        for s in self.sessions:
            if s.live and self._serves_guild(s):
                return s
        return None

    def _resumable_session(self) -> Session | None:
        """The guild's session whose connection is down and not yet resumed: Discord keeps its
        events for a RESUME."""
        for s in reversed(self.sessions):
            if s.identified and s.dropped and s.resumed_by is None and s.session_id and self._serves_guild(s):
                return s
        return None

    async def _dispatch(self, event: str, data: dict, session: Session | None = None) -> None:
        session = session or self._session_for_guild()
        if session is None:
            session = self._resumable_session()
            if session is None:
                raise AssertionError(f"no gateway session to dispatch {event} to")
            session.seq += 1  # kept for the RESUME, not sent now
            session.sent.append({"op": 0, "t": event, "s": session.seq, "d": data})
            return
        session.seq += 1
        self.dispatched += 1
        payload = {"op": 0, "t": event, "s": session.seq, "d": data}
        session.sent.append(payload)
        await session.ws.send_str(json.dumps(payload))

    async def _resume(self, session: Session, d: dict) -> None:
        """Op 6 RESUME: the events the old connection missed (seq after the client's), then RESUMED."""
        old = next((s for s in self.sessions if s.session_id and s.session_id == d.get("session_id")
                    and s is not session), None)
        if old is None or d.get("token") not in (self.token, f"Bot {self.token}"):
            await session.ws.send_str(json.dumps({"op": 9, "d": False}))
            return
        old.resumed_by = session
        old.dropped = True
        session.session_id, session.shard, session.seq = old.session_id, old.shard, old.seq
        missed = [p for p in old.sent if p["s"] > int(d.get("seq") or 0)]
        session.sent = list(old.sent)
        with self._cond:
            self.resumes.append((old.session_id, len(missed)))
        for p in missed:
            await session.ws.send_str(json.dumps(p))
        with self._cond:
            session.identified = True
            self._cond.notify_all()
        await self._dispatch("RESUMED", {}, session)

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        session = Session(ws, transport=request.transport)
        with self._cond:
            self.sessions.append(session)
        await ws.send_str(json.dumps({"op": 10, "d": {"heartbeat_interval": self.heartbeat_interval_ms}}))
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            payload = json.loads(msg.data)
            op, d = payload.get("op"), payload.get("d")
            if op == 1:  # heartbeat
                with self._cond:
                    session.heartbeats.append(time.monotonic())
                    self._cond.notify_all()
                await ws.send_str(json.dumps({"op": 11}))
            elif op == 2:  # identify
                await self._identify(session, d)
            elif op == 6:  # resume
                await self._resume(session, d)
        with self._cond:
            self._cond.notify_all()
        return ws

    async def _identify(self, session: Session, d: dict) -> None:
        with self._cond:
            self.identifies.append(d)
        if d.get("token") != self.token and d.get("token") != f"Bot {self.token}":
            self.closed_with.append(4004)
            await session.ws.close(code=4004, message=b"Authentication failed.")
            return
        if d.get("intents", 0) & MESSAGE_CONTENT_INTENT and not self.message_content_enabled:
            self.closed_with.append(4014)
            await session.ws.close(code=4014, message=b"Disallowed intent(s).")
            return
        session.shard = tuple(d["shard"]) if d.get("shard") else None
        shard = session.shard or (0, 1)
        mine = self._shard_of_guild(shard[1]) == shard[0]
        session.session_id = secrets.token_hex(16)
        ready = {
            "v": 10, "user": self.bot.payload(), "session_id": session.session_id,
            "resume_gateway_url": self.gateway_url, "shard": list(shard),
            "guilds": [{"id": str(self.guild_id), "unavailable": True}] if mine else [],
            "application": {"id": str(self.app_id), "flags": (1 << 19)},
        }
        await self._dispatch("READY", ready, session)
        if mine:
            await self._dispatch("GUILD_CREATE", self._guild_payload(), session)
        with self._cond:
            session.identified = True
            self._cond.notify_all()

    def _guild_payload(self) -> dict:
        roles = [
            {"id": str(self.guild_id), "name": "@everyone", "permissions": str(MEMBER_PERMISSIONS), "position": 0,
             "color": 0, "hoist": False, "managed": False, "mentionable": False, "flags": 0},
            {"id": str(self.bot_role_id), "name": "Cita", "permissions": str(MEMBER_PERMISSIONS), "position": 1,
             "color": 0, "hoist": False, "managed": True, "mentionable": False, "flags": 0,
             "tags": {"bot_id": str(self.bot.id)}},
            *self.extra_roles,
        ]
        return {
            "id": str(self.guild_id), "name": "Cita test server", "unavailable": False, "member_count": 4,
            "owner_id": str(self.admin.id), "roles": roles, "emojis": [], "stickers": [], "features": [],
            "channels": [c for c in self.channels.values() if c["type"] in (0, 5, 15)],
            "threads": [c for c in self.channels.values()
                        if c["type"] == 11 and not c["thread_metadata"]["archived"]],
            "members": [self.member_payload(self.bot)], "voice_states": [], "presences": [],
            "stage_instances": [], "guild_scheduled_events": [], "soundboard_sounds": [], "large": False,
            "joined_at": _now_iso(), "preferred_locale": "en-US", "premium_tier": 0, "verification_level": 0,
            "default_message_notifications": 0, "explicit_content_filter": 0, "mfa_level": 0, "nsfw_level": 0,
            "system_channel_flags": 0,
        }

    def _bot_permissions(self, channel_id: int) -> int:
        perms = MEMBER_PERMISSIONS
        channel = self.channels.get(channel_id, {})
        if channel.get("type") == 11:
            channel = self.channels.get(int(channel["parent_id"]), {})
        for ow in channel.get("permission_overwrites", []):
            perms = (perms & ~int(ow["deny"])) | int(ow["allow"])
        return perms

    # -- REST ---------------------------------------------------------------------------------

    async def _rest(self, request: web.Request) -> web.Response:
        path = "/" + request.match_info["path"]
        body = None
        if request.can_read_body:
            raw = await request.read()
            if raw:
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = {"_raw": raw.decode("utf-8", "replace")}
        authorized = request.headers.get("Authorization") == f"Bot {self.token}"
        rec = Recorded(request.method, unquote(path), dict(request.query), body, time.monotonic(), authorized)
        with self._cond:
            self.requests.append(rec)
            self._cond.notify_all()
        try:
            return await self._answer(request, rec, path, body, authorized)
        finally:
            with self._cond:
                rec.answered = True
                self._cond.notify_all()

    async def _answer(self, request: web.Request, rec: Recorded, path: str, body, authorized: bool) -> web.Response:
        needs_auth = not path.startswith(("/webhooks/", "/interactions/")) and path != "/gateway"
        if needs_auth and not authorized:
            return _json({"message": "401: Unauthorized", "code": 0}, status=401)
        with self._cond:
            fault = next((f for f in self.faults if f.times > 0 and f.method == request.method
                          and re.fullmatch(f.pattern, rec.path)), None)
            if fault is not None:
                fault.times -= 1
                rec.failed = fault.status
        if fault is not None:
            if fault.status == 429:  # as Discord (behind Cloudflare) sends it
                return web.Response(
                    body=json.dumps({"message": "You are being rate limited.", "retry_after": fault.retry_after,
                                     "global": False}).encode(), status=429,
                    headers={"Content-Type": "application/json", "Via": "1.1 google",
                             "Retry-After": str(fault.retry_after), "X-RateLimit-Scope": "user"})
            return _json({"message": f"{fault.status}: stand-in failure", "code": 0}, status=fault.status)
        invalid = discord_spec.check(request.method, rec.path, body)
        if invalid is not None:
            return self._refuse(rec, invalid.status, invalid.body, invalid.summary)
        for method, pattern, handler in self._routes():
            if method == request.method:
                m = re.fullmatch(pattern, rec.path)
                if m:
                    return await handler(rec, *m.groups())
        return _json({"message": f"stand-in: no route for {request.method} {path}", "code": 0},
                                 status=404)

    def _routes(self):
        return [
            ("GET", r"/users/@me", self._me),
            ("GET", r"/oauth2/applications/@me", self._application),
            ("GET", r"/gateway/bot", self._gateway_bot),
            ("GET", r"/gateway", self._gateway_bot),
            ("PUT", r"/applications/(\d+)/commands", self._put_commands),
            ("PUT", r"/applications/(\d+)/guilds/(\d+)/commands", self._put_guild_commands),
            ("GET", r"/applications/(\d+)/commands", self._get_commands),
            ("POST", r"/channels/(\d+)/messages", self._create_message),
            ("GET", r"/channels/(\d+)/messages", self._history),
            ("GET", r"/channels/(\d+)/messages/(\d+)", self._get_message),
            ("POST", r"/channels/(\d+)/typing", self._typing),
            ("POST", r"/channels/(\d+)/threads", self._start_forum_post),
            ("POST", r"/channels/(\d+)/messages/(\d+)/threads", self._start_thread),
            ("PUT", r"/channels/(\d+)/messages/(\d+)/reactions/([^/]+)/@me", self._no_content_args),
            ("DELETE", r"/channels/(\d+)/messages/(\d+)/reactions/([^/]+)/@me", self._no_content_args),
            ("GET", r"/channels/(\d+)", self._get_channel),
            ("POST", r"/users/@me/channels", self._dm_channel),
            ("POST", r"/interactions/(\d+)/([^/]+)/callback", self._callback),
            ("POST", r"/webhooks/(\d+)/([^/]+)", self._followup),
            ("PATCH", r"/webhooks/(\d+)/([^/]+)/messages/@original", self._edit_original),
            ("GET", r"/webhooks/(\d+)/([^/]+)/messages/@original", self._get_original),
        ]

    async def _me(self, rec):
        return _json({**self.bot.payload(), "verified": True, "mfa_enabled": False, "flags": 0})

    async def _application(self, rec):
        return _json({
            "id": str(self.app_id), "name": "Cita", "icon": None, "description": "", "bot_public": True,
            "bot_require_code_grant": False, "owner": self.admin.payload(), "team": None, "verify_key": "0" * 64,
            "flags": (1 << 19) if self.message_content_enabled else 0, "summary": "", "rpc_origins": [],
            "interactions_endpoint_url": None, "bot": self.bot.payload(),
        })

    async def _gateway_bot(self, rec):
        return _json({"url": self.gateway_url, "shards": 1, "session_start_limit": {
            "total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1}})

    def _command_payloads(self, body, guild_id=None):
        out = []
        for c in body or []:
            out.append({**c, "id": str(snowflake()), "application_id": str(self.app_id), "version": str(snowflake()),
                        "type": c.get("type", 1), "description": c.get("description", ""),
                        "default_member_permissions": c.get("default_member_permissions"),
                        "guild_id": str(guild_id) if guild_id else None, "nsfw": c.get("nsfw", False)})
        return out

    async def _put_commands(self, rec, app_id):
        self.commands = self._command_payloads(rec.json)
        return _json(self.commands)

    async def _put_guild_commands(self, rec, app_id, guild_id):
        return _json(self._command_payloads(rec.json, guild_id))

    async def _get_commands(self, rec, app_id):
        return _json(self.commands)

    def _bot_message(self, channel_id: int, body: dict, *, store: bool = True, **extra) -> dict:
        channel = self.channels.get(channel_id, {})
        data = {
            "id": str(snowflake()), "channel_id": str(channel_id), "author": self.bot.payload(),
            "content": body.get("content") or "", "timestamp": _now_iso(), "edited_timestamp": None, "tts": False,
            "mention_everyone": False, "mentions": [], "mention_roles": [], "attachments": [],
            "embeds": body.get("embeds") or [], "pinned": False, "type": 0, "flags": body.get("flags") or 0,
            "components": [], **extra,
        }
        if channel.get("guild_id"):
            data["guild_id"] = channel["guild_id"]
            data["member"] = self.member_payload(self.bot)
        if body.get("message_reference"):
            ref = body["message_reference"]
            data["message_reference"] = {k: str(v) if k.endswith("_id") else v for k, v in ref.items()}
            data["type"] = 19
        if store:  # an ephemeral message is seen only by its user: not in the channel
            self.messages[int(data["id"])] = data
        return data

    # -- rules Discord enforces ---------------------------------------------------------------

    def _refuse(self, rec: Recorded, status: int, body: dict, why: str, *, into: list | None = None) -> web.Response:
        """Answer as Discord refuses a request, and remember it (`invalid` or `forbidden`)."""
        rec.refused, rec.status = why, status
        with self._cond:
            (into if into is not None else self.forbidden if status == 403 else self.invalid).append(rec)
            self._cond.notify_all()
        return _json(body, status=status)

    def _missing(self, channel_id: int, *bits: int) -> int:
        """The first of `bits` the bot lacks in a server channel (0: none; DMs need none)."""
        channel = self.channels.get(channel_id)
        if channel is None or channel.get("type") == 1:
            return 0
        perms = self._bot_permissions(channel_id)
        return next((b for b in bits if not perms & b), 0)

    def _forbid(self, rec: Recorded, channel_id: int, *bits: int) -> web.Response | None:
        missing = self._missing(channel_id, VIEW_CHANNEL, *bits)
        if not missing:
            return None
        return self._refuse(rec, 403, {"message": "Missing Permissions", "code": 50013},
                            f"{rec.method} {rec.path}: no {PERMISSION_NAMES.get(missing, missing)}")

    def _message_rules(self, rec: Recorded, body: dict, *, editing: bool = False) -> web.Response | None:
        problem = discord_spec.message_problem(body, editing=editing)
        if problem is not None:
            return self._refuse(rec, problem.status, problem.body, problem.summary)
        text = json.dumps([body.get("content"), body.get("embeds")], ensure_ascii=False).lower()
        for word, code in self.automod_blocks:
            if word.lower() in text:
                return self._refuse(rec, 400, {"message": "Message was blocked by automatic moderation",
                                               "code": code}, f"AutoMod ({code})", into=self.blocked)
        return None

    @staticmethod
    def _in_thread(channel: dict) -> bool:
        return channel.get("type") in (10, 11, 12)

    # -- REST handlers ------------------------------------------------------------------------

    async def _create_message(self, rec, channel_id):
        channel_id = int(channel_id)
        channel = self.channels.get(channel_id)
        if channel is None:
            return _json({"message": "Unknown Channel", "code": 10003}, status=404)
        body = rec.json or {}
        needs = [SEND_MESSAGES_IN_THREADS if self._in_thread(channel) else SEND_MESSAGES]
        if body.get("message_reference"):
            needs.append(READ_MESSAGE_HISTORY)
        if body.get("embeds"):
            needs.append(EMBED_LINKS)
        refused = self._forbid(rec, channel_id, *needs) or self._message_rules(rec, body)
        if refused is not None:
            return refused
        ref = body.get("message_reference") or {}
        if ref and int(ref.get("message_id", 0)) not in self.messages and ref.get("fail_if_not_exists", True):
            return self._refuse(rec, 400, discord_spec._error_body(["message_reference"], "MESSAGE_REFERENCE_UNKNOWN_MESSAGE",
                                                                   "Unknown message"), "reply to an unknown message")
        if self._in_thread(channel) and channel["thread_metadata"]["archived"]:
            if channel["thread_metadata"].get("locked"):
                return self._refuse(rec, 403, {"message": "Thread is locked", "code": 50083}, "locked thread")
            await self._set_archived(channel_id, False)  # a message unarchives the thread
        data = self._bot_message(channel_id, body)
        if self._in_thread(channel):
            channel["message_count"] += 1
        await self._dispatch_quietly("MESSAGE_CREATE", data)
        return _json(data)

    async def _dispatch_quietly(self, event, data):
        session = self._session_for_guild()
        if session is not None and not session.ws.closed:
            await self._dispatch(event, data, session)

    async def _typing(self, rec, channel_id):
        channel = self.channels.get(int(channel_id), {})
        refused = self._forbid(rec, int(channel_id),
                               SEND_MESSAGES_IN_THREADS if self._in_thread(channel) else SEND_MESSAGES)
        return refused or web.Response(status=204)

    async def _history(self, rec, channel_id):
        refused = self._forbid(rec, int(channel_id), READ_MESSAGE_HISTORY)
        if refused is not None:
            return refused
        limit = int(rec.query.get("limit", 50))
        before = int(rec.query["before"]) if "before" in rec.query else None
        msgs = [m for m in self.messages.values() if int(m["channel_id"]) == int(channel_id)
                and (before is None or int(m["id"]) < before)]
        msgs.sort(key=lambda m: -int(m["id"]))
        return _json(msgs[:limit])

    async def _get_message(self, rec, channel_id, message_id):
        refused = self._forbid(rec, int(channel_id), READ_MESSAGE_HISTORY)
        if refused is not None:
            return refused
        msg = self.messages.get(int(message_id))
        if msg is None or int(msg["channel_id"]) != int(channel_id):
            return _json({"message": "Unknown Message", "code": 10008}, status=404)
        return _json(msg)

    async def _no_content_args(self, rec, *args):
        return web.Response(status=204)

    def _thread_payload(self, thread_id: int, parent_id: int, name: str, auto_archive: int, *,
                        owner_id: int | None = None, message_count: int = 0) -> dict:
        return {
            "id": str(thread_id), "type": 11, "guild_id": str(self.guild_id), "parent_id": str(parent_id),
            "owner_id": str(owner_id or self.bot.id), "name": name, "last_message_id": None,
            "message_count": message_count, "member_count": 1, "rate_limit_per_user": 0, "flags": 0,
            "total_message_sent": message_count, "applied_tags": [],
            "thread_metadata": {"archived": False, "auto_archive_duration": auto_archive,
                                "archive_timestamp": _now_iso(), "locked": False},
        }

    async def _start_thread(self, rec, channel_id, message_id):
        parent = self.channels.get(int(channel_id))
        if parent is None or parent.get("type") not in (0, 5):
            return self._refuse(rec, 400, {"message": "Cannot execute action on this channel type", "code": 50024},
                                "thread in a channel that has none")
        refused = self._forbid(rec, int(channel_id), CREATE_PUBLIC_THREADS)
        if refused is not None:
            return refused
        message = self.messages.get(int(message_id))
        if message is None or int(message["channel_id"]) != int(channel_id):
            return _json({"message": "Unknown Message", "code": 10008}, status=404)
        if int(message_id) in self.channels:
            return _json({"message": "A thread has already been created for this message", "code": 160004},
                         status=400)
        body = rec.json or {}
        thread = self._thread_payload(int(message_id), int(channel_id), body.get("name", "thread"),
                                      body.get("auto_archive_duration", 1440))
        self.channels[int(message_id)] = thread
        message["thread"] = thread
        await self._dispatch_quietly("THREAD_CREATE", {**thread, "newly_created": True})
        return _json(thread, status=201)

    async def _start_forum_post(self, rec, channel_id):
        """POST /channels/{forum}/threads: a forum post (a thread with its first message)."""
        forum = self.channels.get(int(channel_id))
        if forum is None:
            return _json({"message": "Unknown Channel", "code": 10003}, status=404)
        body = rec.json or {}
        first = body.get("message") or {}
        refused = self._forbid(rec, int(channel_id), SEND_MESSAGES) or self._message_rules(rec, first)
        if refused is not None:
            return refused
        thread_id = snowflake()
        thread = self._thread_payload(thread_id, int(channel_id), body.get("name", "post"),
                                      body.get("auto_archive_duration", 1440), message_count=1)
        self.channels[thread_id] = thread
        msg = self._bot_message(thread_id, first)
        msg["id"] = str(thread_id)
        self.messages.pop(int(msg["id"]), None)
        self.messages[thread_id] = msg
        await self._dispatch_quietly("THREAD_CREATE", {**thread, "newly_created": True})
        return _json({**thread, "message": msg}, status=201)

    async def _set_archived(self, thread_id: int, archived: bool) -> None:
        thread = self.channels[thread_id]
        thread["thread_metadata"] = {**thread["thread_metadata"], "archived": archived,
                                     "archive_timestamp": _now_iso()}
        await self._dispatch_quietly("THREAD_UPDATE", thread)

    async def _get_channel(self, rec, channel_id):
        channel = self.channels.get(int(channel_id))
        if channel is None:
            return _json({"message": "Unknown Channel", "code": 10003}, status=404)
        return _json(channel)

    async def _dm_channel(self, rec):
        recipient = int((rec.json or {}).get("recipient_id", 0))
        cid = next((c for c, ch in self.channels.items() if ch.get("type") == 1
                    and int(ch["recipients"][0]["id"]) == recipient), None)
        if cid is None:
            cid = snowflake()
            users = {u.id: u for u in (self.alice, self.bob, self.admin)}
            self.channels[cid] = {"id": str(cid), "type": 1, "recipients": [users[recipient].payload()],
                                  "last_message_id": None}
        return _json(self.channels[cid])

    # -- interactions -------------------------------------------------------------------------

    def _interaction(self, rec, token: str) -> tuple[dict | None, web.Response | None]:
        """The interaction of a token, or Discord's refusal: unknown, or expired (15 minutes
        from the interaction's creation, which its id carries)."""
        state = self.interactions.get(token)
        if state is None:
            return None, _json({"message": "Unknown Webhook", "code": 10015}, status=404)
        if time.time() > snowflake_time(state["payload"]["id"]) + 15 * 60:
            return None, self._refuse(rec, 401, {"message": "Invalid Webhook Token", "code": 50027},
                                      "interaction token used after 15 minutes")
        return state, None

    async def _callback(self, rec, interaction_id, token):
        state = self.interactions.get(token)
        if state is None:
            return _json({"message": "Unknown interaction", "code": 10062}, status=404)
        if time.monotonic() - state["dispatched_at"] > self.interaction_ack_s:
            return self._refuse(rec, 404, {"message": "Unknown interaction", "code": 10062},
                                f"first response after {self.interaction_ack_s} s")
        if state.get("responded"):
            return self._refuse(rec, 400, {"message": "Interaction has already been acknowledged.", "code": 40060},
                                "interaction answered twice")
        body = rec.json or {}
        data = body.get("data") or {}
        if body.get("type") == 4:
            refused = self._message_rules(rec, data)
            if refused is not None:
                return refused
        state["responded"] = body.get("type")
        state["responded_at"] = rec.at
        channel_id = int(state["payload"]["channel_id"])
        resource: dict = {"type": body.get("type")}
        metadata = {"interaction_metadata": {"id": interaction_id, "type": 2,
                                             "user": state["payload"]["member"]["user"],
                                             "authorizing_integration_owners": {}}}
        if body.get("type") == 4:
            msg = self._bot_message(channel_id, data, store=not data.get("flags", 0) & 64, **metadata)
            state["original"] = msg
            resource["message"] = msg
        elif body.get("type") == 5:  # "Cita is thinking…": a message that the answer edits
            flags = 128 | (data.get("flags", 0) & 64)  # LOADING, and EPHEMERAL when asked
            msg = self._bot_message(channel_id, {"content": "", "flags": flags}, store=not flags & 64, **metadata)
            state["original"] = msg
        return _json({
            "interaction": {"id": interaction_id, "type": 2, "response_message_id": None,
                            "response_message_loading": body.get("type") == 5,
                            "response_message_ephemeral": bool(data.get("flags", 0) & 64)},
            "resource": resource})

    async def _followup(self, rec, app_id, token):
        state, refused = self._interaction(rec, token)
        if refused is not None:
            return refused
        if not state.get("responded"):
            return _json({"message": "Interaction not acknowledged", "code": 40060}, status=400)
        body = rec.json or {}
        refused = self._message_rules(rec, body)
        if refused is not None:
            return refused
        original = state.get("original")
        if original is not None and original["flags"] & 128:
            # Discord's documented backwards compatibility (deprecated): the first follow-up after a
            # defer edits the "thinking" message, which keeps the defer's flags (ephemeral or not)
            state["first_followup_edited_original"] = True
            original.update({"content": body.get("content") or "", "embeds": body.get("embeds") or [],
                             "flags": original["flags"] & ~128})
            return _json(original)
        channel_id = int(state["payload"]["channel_id"])
        msg = self._bot_message(channel_id, body, store=not body.get("flags", 0) & 64,
                                webhook_id=str(self.app_id), application_id=str(self.app_id))
        return _json(msg)

    async def _edit_original(self, rec, app_id, token):
        state, refused = self._interaction(rec, token)
        if refused is not None:
            return refused
        if state.get("original") is None:
            return _json({"message": "Unknown Message", "code": 10008}, status=404)
        body = rec.json or {}
        refused = self._message_rules(rec, body, editing=True)
        if refused is not None:
            return refused
        original = state["original"]
        original.update({k: v for k, v in body.items() if k in ("content", "embeds")})
        original["flags"] &= ~128
        if not (original.get("content") or "").strip() and not original.get("embeds"):
            return self._refuse(rec, 400, {"code": 50006, "message": "Cannot send an empty message"},
                                "edited into an empty message")
        return _json(original)

    async def _get_original(self, rec, app_id, token):
        state, refused = self._interaction(rec, token)
        if refused is not None:
            return refused
        if state.get("original") is None:
            return _json({"message": "Unknown Message", "code": 10008}, status=404)
        return _json(state["original"])


class BotRunner:
    """Runs the real bot (bot.client.create_bot) against a stand-in, on its own thread and
    event loop, as `cita bot` would run it."""

    def __init__(self, standin: StandIn, settings, *, answerer, builder_factory=None, **client_kwargs) -> None:
        self.standin = standin
        self.settings = settings
        self.answerer = answerer
        self.builder_factory = builder_factory
        client_kwargs.setdefault("guild_ready_timeout", 0.2)
        self.client_kwargs = client_kwargs
        self.client = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.error: BaseException | None = None
        self._thread: threading.Thread | None = None
        self._barriers = 0  # the stand-in's barrier events the client has read (see settle)
        self._barrier_read = threading.Condition()

    @property
    def cog(self):
        """The bot's CitaCog (its gate, conversations, stopping flag)."""
        from bot.client import cita_cog

        return cita_cog(self.client)

    def start(self, *, sessions: int = 1, timeout: float = 30.0) -> BotRunner:
        from bot.client import create_bot

        ready = threading.Event()

        async def main():
            self.loop = asyncio.get_running_loop()
            self.client = await create_bot(self.settings, answerer=self.answerer,
                                           builder_factory=self.builder_factory, **self.client_kwargs)
            self.client.add_listener(self._on_socket_event_type, "on_socket_event_type")
            ready.set()
            async with self.client:
                await self.client.start(self.settings.discord_token.get_secret_value())

        def run():
            try:
                asyncio.run(main())
            except BaseException as e:  # reported by the test through .error
                self.error = e
            finally:
                ready.set()

        self._thread = threading.Thread(target=run, name="cita-bot", daemon=True)
        self._thread.start()
        ready.wait(timeout)
        try:
            self.standin.wait_ready(timeout, sessions=sessions)
        except AssertionError:
            if self.error is not None:
                raise AssertionError(f"the bot stopped: {self.error!r}") from self.error
            raise
        self.standin.wait_until(lambda: self.client.is_ready(), timeout, "the bot's on_ready")
        return self

    async def _on_socket_event_type(self, event: str) -> None:
        # discord.py dispatches this as it starts reading each event, after every earlier one
        if event == BARRIER_EVENT:
            with self._barrier_read:
                self._barriers += 1
                self._barrier_read.notify_all()

    def settle(self, timeout: float = 60.0) -> None:
        """Returns once the bot has finished with everything sent to it so far: every event read
        (it has read the barrier the stand-in sent after them, `StandIn.send_barrier`) and every
        listener and slash command it started done, including the events its own requests
        caused (its messages coming back as MESSAGE_CREATE). What it has not sent by then it will
        not send: a test asserts "nothing more" after this, not after a sleep. Background work
        that no event started (the command sync, the feed refresh) is not waited for."""
        deadline = time.monotonic() + timeout
        while True:
            with self._barrier_read:
                target = self._barriers
            target += self.standin.send_barrier()
            with self._barrier_read:
                if not self._barrier_read.wait_for(lambda: self._barriers >= target,
                                                   max(1.0, deadline - time.monotonic())):
                    raise AssertionError(f"the bot did not read the events sent to it within {timeout} s")
            seen = self.standin.dispatched
            done = asyncio.run_coroutine_threadsafe(_handlers_done(), self.loop)
            try:
                done.result(max(1.0, deadline - time.monotonic()))
            except TimeoutError:
                done.cancel()
                raise AssertionError(f"the bot was still handling events after {timeout} s") from None
            if self.standin.dispatched == seen:
                return

    def command_sync(self, timeout: float = 60.0) -> bool:
        """Waits for the slash command sync the bot starts on connecting (in the background, see
        CitaCog.on_ready) to end; whether it registered the commands."""
        self.settle(timeout)  # on_ready has run: the sync task exists

        async def result():
            return await self.cog._sync_task

        return asyncio.run_coroutine_threadsafe(result(), self.loop).result(timeout)

    def stop(self) -> None:
        """Stop the bot as `cita bot` stops on SIGTERM (answers in progress are sent first)."""
        from bot.client import shutdown

        if self.client is not None and self.loop is not None and self._thread.is_alive():
            with _suppress():
                asyncio.run_coroutine_threadsafe(shutdown(self.client), self.loop).result(30)
        if self._thread is not None:
            self._thread.join(15)


def _is_handler(task: asyncio.Task) -> bool:
    """A task discord.py started for an event: a listener (`discord.py: on_message`...) or a
    slash command (`CommandTree-invoker`)."""
    name = task.get_name()
    return name.startswith("discord.py: ") or name == "CommandTree-invoker"


async def _handlers_done() -> None:
    """On the bot's loop: waits until no event handler is running (those they start included)."""
    me = asyncio.current_task()
    while True:
        busy = [t for t in asyncio.all_tasks() if t is not me and _is_handler(t)]
        if not busy:
            return
        await asyncio.wait(busy)


class _suppress:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return True


# -- shared pieces for the end-to-end tests -------------------------------------------------------

class SlowAnswerer:
    """The real answerer, made slow the way a big index or a slow machine makes it slow: it burns
    CPU in pure Python (holding the GIL in slices, as embedding and ranking code does) before
    answering for real."""

    def __init__(self, inner, seconds: float) -> None:
        self.inner = inner
        self.seconds = seconds
        self.calls: list[tuple[float, float]] = []

    @property
    def library(self):
        return self.inner.library

    def ask(self, question, **kwargs):
        start = time.monotonic()
        x = 0
        while time.monotonic() - start < self.seconds:
            x += 1
        answer = self.inner.ask(question, **kwargs)
        self.calls.append((start, time.monotonic()))
        return answer


def bot_settings(settings_for, data_dir, standin: StandIn, **overrides):
    overrides.setdefault("cooldown_s", 0.0)
    return settings_for(data_dir, discord_token=standin.token, discord_api_url=standin.api_url, **overrides)


def text_of(payload: dict) -> str:
    """Everything a person would read in a message payload."""
    parts = [payload.get("content") or ""]
    for e in payload.get("embeds") or []:
        parts += [e.get("title", ""), e.get("description", "")]
        parts += [f["name"] + "\n" + f["value"] for f in e.get("fields", [])]
        parts.append(e.get("footer", {}).get("text", ""))
    return "\n".join(p for p in parts if p)


def pings_nobody(payload: dict) -> bool:
    """Discord pings no one for this message: allowed_mentions parses nothing, lists no user or
    role, and does not ping the author of a replied-to message."""
    am = payload.get("allowed_mentions")
    return (isinstance(am, dict) and am.get("parse") == [] and not am.get("users") and not am.get("roles")
            and not am.get("replied_user", False))
