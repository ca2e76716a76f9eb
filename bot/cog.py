"""Cita on Discord: one `commands.Cog` with the slash commands, the message and reaction
listeners, and the one way messages are sent.

Every decision that is not about Discord lives in plain modules: what to say and how to split it
(`replies`), what a message is and who may ask when (`guards`), which earlier turns a follow-up
carries (`conversation`), and the rating log (`feedback`). CPU-bound work (answering, rebuilding
the index) runs in worker threads so the event loop keeps heartbeating and serving other users.
Every message the bot sends has `allowed_mentions` set to none, so nothing it quotes or echoes can
ping anyone.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from answer.answering import QuestionError
from answer.timeline import build_timeline
from index.build import NothingIndexed
from index.feeds import FeedError, FeedList
from index.store import StoreError

from . import guards, replies
from .conversation import Conversations, Turn
from .feedback import AnsweredQuestion, FeedbackLog

if TYPE_CHECKING:
    from cita.settings import Settings

log = logging.getLogger(__name__)

NO_MENTIONS = discord.AllowedMentions.none()
ANSWER_WORKERS = 2
THREAD_NAME_LIMIT = 100
TYPING_EVERY_S = 8.0
HISTORY_LIMIT = 20
DRAIN_S = 15.0  # on shutdown, how long answers in progress may take to be sent

NOT_ALLOWED_TO_REINDEX = "Only members with the **Manage Server** permission can rebuild the index."
NOT_ALLOWED_TO_REFRESH = "Only members with the **Manage Server** permission can refresh the feeds."
REINDEX_RUNNING = "A rebuild is already running; I'll use the new index as soon as it is published."
ANSWER_FAILED = "Sorry, something went wrong while answering; the error has been logged."
STOPPING = "I'm restarting: ask again in a minute."
AUTOMOD_BLOCKED = ("This server's AutoMod blocked my answer (the articles I quote contain words its rules "
                   "filter), so I can't show it here. A server admin can review the AutoMod rules.")
# Discord's codes for a message, a thread title, or a link blocked by AutoMod
AUTOMOD_CODES = frozenset({200000, 200001, 240000})
THREAD_EXISTS = 160004
TOKEN_GONE = frozenset({10015, 50027})  # unknown webhook, invalid webhook token (the 15 minutes are over)
SYNC_MAX_WAIT_S = 30.0  # a rate limit on command sync longer than this: try again at the next start

Send = Callable[..., Awaitable["discord.Message | None"]]


async def send_replies(items: list[replies.Reply], send: Send, *, first: Send | None = None,
                       on_sent: Callable[[discord.Message], None] | None = None,
                       **first_kwargs) -> list[discord.Message]:
    """Send `items` one message each, with nothing allowed to ping. `first` sends the first item
    when it goes elsewhere (an interaction's original response); `first_kwargs` go with it only
    (a reply reference); `on_sent` is called with each message as soon as it is sent (a 👍 on the
    first piece of a long answer may come before the last piece is out). Returns the messages
    sent (those the send call returned)."""
    sent = []
    for i, item in enumerate(items):
        kwargs = {"allowed_mentions": NO_MENTIONS}
        if item.content:
            kwargs["content"] = item.content
        if item.embeds:
            kwargs["embeds"] = [discord.Embed.from_dict(e) for e in item.embeds]
        if i == 0:
            kwargs.update(first_kwargs)
        message = await ((first or send) if i == 0 else send)(**kwargs)
        if message is not None:
            sent.append(message)
            if on_sent is not None:
                on_sent(message)
    return sent


def _parent_id(channel) -> int | None:
    return getattr(channel, "parent_id", None)


class CitaCog(commands.Cog, name="Cita"):
    """Questions by mention, thread follow-up, DM and `/ask`; `/sources`, `/help`, `/reindex`,
    `/refresh`; ratings by reaction; the scheduled feed refresh (CITA_REFRESH_MINUTES)."""

    def __init__(self, bot: commands.Bot, settings: Settings, *, answerer,
                 builder_factory: Callable[[], object] | None = None,
                 refresher: Callable[[], object] | None = None) -> None:
        self.bot = bot
        self.settings = settings
        self.answerer = answerer
        self.builder_factory = builder_factory
        # fetches the feeds and adds their new articles (index.feeds.refresh, wired in cita/)
        self.refresher = refresher
        self._refresh_task: asyncio.Task | None = None
        self.gate = guards.Gate(cooldown_s=settings.cooldown_s, max_pending=settings.max_pending,
                                workers=ANSWER_WORKERS)
        self.channel_policy = guards.ChannelPolicy(settings.channels)
        self.conversations = Conversations()
        self.feedback = FeedbackLog(settings.feedback_path)
        self.executor = ThreadPoolExecutor(max_workers=ANSWER_WORKERS, thread_name_prefix="cita-answer")
        self._rebuild_lock = asyncio.Lock()
        self._sync_task: asyncio.Task | None = None
        self._unfetchable: set[int] = set()
        self._warned_channels: dict[int, float] = {}
        self.stopping = False
        # /ask, /sources, /help and /timeline only where Cita answers: servers, and DMs when CITA_ANSWER_DMS is
        # on; installed to servers only (not to users' accounts)
        for command in (self.ask, self.sources, self.help_, self.timeline):
            command.allowed_contexts = app_commands.AppCommandContext(
                guild=True, dm_channel=settings.answer_dms, private_channel=False)
            command.allowed_installs = app_commands.AppInstallationType(guild=True, user=False)

    # -- lifecycle ----------------------------------------------------------------------------

    async def cog_load(self) -> None:
        self.bot.tree.error(self._on_app_command_error)

    async def cog_unload(self) -> None:
        for task in (self._refresh_task, self._sync_task):
            if task is not None:
                task.cancel()
        self.executor.shutdown(wait=False, cancel_futures=True)

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        me = self.bot.user
        log.info("connected to Discord as %s (%s) in %d servers", me, me.id if me else "?", len(self.bot.guilds))
        if self._sync_task is None:
            # after connecting and in the background: a rate limit on it never keeps the bot offline
            self._sync_task = asyncio.create_task(self.sync_commands())
        if self.settings.refresh_minutes > 0 and self.refresher is not None and self._refresh_task is None:
            self._refresh_task = asyncio.create_task(self._refresh_every(self.settings.refresh_minutes * 60))

    def commands_hash(self) -> str:
        definition = [c.to_dict(self.bot.tree) for c in self.bot.tree.get_commands()]
        return hashlib.sha256(json.dumps(definition, sort_keys=True).encode()).hexdigest()

    def _hash_path(self):
        return self.settings.data_dir / "discord" / f"commands-{self.bot.application_id}.sha256"

    async def sync_commands(self) -> bool:
        """Register the slash commands with Discord when their definition changed since the last
        sync (a hash kept in the data dir), from the process that runs shard 0 only. Returns
        whether it synced."""
        shard_ids = getattr(self.bot, "shard_ids", None)
        if shard_ids is not None and 0 not in shard_ids:
            return False
        digest = self.commands_hash()
        path = self._hash_path()
        try:
            if path.read_text().strip() == digest:
                log.info("slash commands unchanged since the last sync: not registering them again")
                return False
        except OSError:
            pass
        try:
            synced = await self.bot.tree.sync()
        except discord.RateLimited as e:
            log.warning("Discord rate-limits registering the slash commands (%.0f s): they will be registered "
                        "at the next start; mentions work meanwhile", e.retry_after)
            return False
        except discord.HTTPException as e:
            log.warning("could not register the slash commands (%s); mentions still work", e)
            return False
        log.info("slash commands registered: %s", ", ".join(c.name for c in synced))
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(digest + "\n")
        except OSError as e:
            log.warning("could not remember the slash commands' hash in %s: %s", path, e)
        return True

    async def drain(self) -> None:
        """Stop taking questions and wait (up to DRAIN_S) for the answers in progress to be sent."""
        if self.stopping:
            return
        self.stopping = True
        loop = asyncio.get_running_loop()
        deadline = loop.time() + DRAIN_S
        while self.gate.pending and loop.time() < deadline and not self.bot.is_closed():
            await asyncio.sleep(0.05)

    # -- running the answerer off the event loop ----------------------------------------------

    async def compute_answer(self, question: str, context: list[str] | None, today=None):
        """`today`: the day the question was asked (the message's date, UTC), for its dates."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, functools.partial(self.answerer.ask, question,
                                                                           context=context, today=today))

    async def answer_or_error(self, question: str, context: list[str] | None, today=None):
        """(answer, None) or (None, short error message); never raises."""
        try:
            return await self.compute_answer(question, context, today), None
        except QuestionError as e:
            return None, str(e)
        except StoreError as e:
            log.warning("index unavailable while answering: %s", e)
            return None, f"I can't read the index right now: {e}"
        except Exception:
            log.exception("answering %r failed", question)
            return None, ANSWER_FAILED

    # -- sending ------------------------------------------------------------------------------

    @staticmethod
    def render(answer, embeds: bool) -> list[replies.Reply]:
        return replies.answer_replies(answer) if embeds else replies.answer_text_replies(answer)

    @staticmethod
    def _reference(message: discord.Message | None) -> dict:
        if message is None:
            return {}
        return {"reference": message.to_reference(fail_if_not_exists=False), "mention_author": False}

    def perms(self, channel) -> guards.Perms:
        """The bot's permissions in a server channel, as `guards` needs them (all in a DM)."""
        guild = getattr(channel, "guild", None)
        if guild is None or guild.me is None or isinstance(channel, discord.PartialMessageable):
            return guards.Perms()
        try:
            p = channel.permissions_for(guild.me)
        except Exception:  # a channel discord.py cannot compute for: assume the invite's permissions
            return guards.Perms()
        if not p.view_channel:
            return guards.Perms(False, False, False, False, False)
        return guards.Perms(send=p.send_messages, send_in_threads=p.send_messages_in_threads,
                            create_threads=p.create_public_threads, read_history=p.read_message_history,
                            embed_links=p.embed_links)

    def _warn_once(self, channel_id: int, text: str, *args) -> None:
        """A warning per channel per hour at most (a channel that denies the bot keeps asking)."""
        now = time.monotonic()
        if now - self._warned_channels.get(channel_id, -1e9) > 3600:
            self._warned_channels[channel_id] = now
            log.warning(text, *args)

    async def send_text(self, channel, text: str, *, reference: discord.Message | None = None) -> None:
        """A short message in `channel` (as a reply to `reference` where the bot may), or nothing
        where it may not post: no request Discord would refuse."""
        plan = guards.plan_delivery(self.perms(channel), in_thread=isinstance(channel, discord.Thread),
                                    open_thread=False, reply=reference is not None)
        if plan.where == "nowhere":
            self._warn_once(channel.id, "cannot post in channel %s: missing %s", channel.id, ", ".join(plan.missing))
            return
        try:
            await send_replies([replies.text_reply(text)], channel.send,
                               **self._reference(reference if plan.reply else None))
        except discord.HTTPException as e:
            log.warning("could not send a message to channel %s: %s", getattr(channel, "id", "?"), e)

    @contextlib.asynccontextmanager
    async def working(self, channel):
        """Shows "Cita is typing…" in `channel` until the block ends. Unlike
        `Messageable.typing()`, a failed typing request is ignored instead of failing the block."""

        async def keep_typing():
            while True:
                with contextlib.suppress(discord.HTTPException):
                    await channel.typing()
                await asyncio.sleep(TYPING_EVERY_S)

        task = asyncio.create_task(keep_typing())
        try:
            yield
        finally:
            task.cancel()

    # -- messages: mentions, thread follow-ups, DMs --------------------------------------------

    def _bot_ids(self, guild) -> frozenset[int]:
        ids = {self.bot.user.id} if self.bot.user else set()
        role = guild.self_role if guild is not None else None
        if role is not None:
            ids.add(role.id)
        return frozenset(ids)

    def _in_bot_thread(self, channel) -> bool:
        return isinstance(channel, discord.Thread) and channel.owner_id == (
            self.bot.user.id if self.bot.user else None)

    def facts(self, message: discord.Message, channel) -> guards.MessageFacts:
        """The plain facts `guards.classify` decides on."""
        me = self.bot.user
        bot_ids = self._bot_ids(message.guild)
        ask = self.settings.ask_channels
        parent = getattr(channel, "parent", None)
        in_ask_forum_post = (isinstance(channel, discord.Thread) and isinstance(parent, discord.ForumChannel)
                             and parent.id in ask)
        ref = message.reference
        replied = None if ref is None else (ref.resolved if isinstance(ref.resolved, discord.Message)
                                            else ref.cached_message)
        return guards.MessageFacts(
            content=message.content, bot_ids=bot_ids,
            from_a_bot=message.author.bot or (me is not None and message.author.id == me.id),
            ordinary=message.type in (discord.MessageType.default, discord.MessageType.reply),
            in_dm=message.guild is None,
            mentioned=bool(bot_ids & (set(message.raw_mentions) | set(message.raw_role_mentions))),
            in_bot_thread=self._in_bot_thread(channel),
            channel_allowed=message.guild is None or self.channel_policy.permits(channel.id, _parent_id(channel)),
            replies_to_bot=self._replies_to_bot(message),
            replies_to_someone=replied is not None and not replied.author.bot,
            in_ask_channel=(isinstance(channel, discord.TextChannel) and channel.id in ask) or (
                self._in_bot_thread(channel) and _parent_id(channel) in ask),
            in_ask_forum_post=in_ask_forum_post,
            starts_post=in_ask_forum_post and message.id == channel.id)

    def _replies_to_bot(self, message: discord.Message) -> bool:
        """A reply to the bot's message: Discord puts the bot only in the payload (`mentions`
        when the reply pings, `referenced_message`), never in the text."""
        ref = message.reference
        me = self.bot.user
        if ref is None or me is None or message.type is not discord.MessageType.reply:
            return False
        replied = ref.resolved if isinstance(ref.resolved, discord.Message) else ref.cached_message
        if replied is not None:
            return replied.author.id == me.id
        return any(u.id == me.id for u in message.mentions)

    async def _channel_of(self, message: discord.Message):
        """The message's channel; a server channel discord.py does not have in its cache (a thread
        that was archived, reopened by this very message) is fetched, once."""
        channel = message.channel
        if message.guild is None or not isinstance(channel, discord.PartialMessageable):
            return channel
        if channel.id in self._unfetchable:
            return channel
        try:
            return await self.bot.fetch_channel(channel.id)
        except discord.HTTPException as e:
            self._unfetchable.add(channel.id)
            log.info("cannot fetch channel %s (%s); its messages are ignored", channel.id, e)
            return channel

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        if self.bot.user is None or message.author.bot:
            return
        channel = await self._channel_of(message)
        facts = self.facts(message, channel)
        kind = guards.classify(facts, answer_dms=self.settings.answer_dms,
                               answer_in_threads=self.settings.answer_in_threads)
        if kind is guards.Kind.IGNORE:
            return
        if kind is guards.Kind.DM_DECLINED:
            await self.send_text(channel, guards.DM_DECLINED)
            return
        in_thread = isinstance(channel, discord.Thread)
        plan = guards.plan_delivery(
            self.perms(channel), in_thread=in_thread, reply=kind is not guards.Kind.FOLLOWUP,
            open_thread=(isinstance(channel, discord.TextChannel) and (
                kind is guards.Kind.ASK_CHANNEL
                or (kind in (guards.Kind.MENTION, guards.Kind.REPLY) and self.settings.answer_in_threads))))
        if plan.where == "nowhere":  # nothing can be posted here: no work, no refused requests
            self._warn_once(channel.id, "not answering in channel %s: missing %s", channel.id, ", ".join(plan.missing))
            parent = getattr(channel, "parent", None)
            if in_thread and parent is not None:
                await self.send_text(parent, guards.lacking_message(plan.missing, f"in {channel.mention}"))
            return
        if self.stopping:
            await self.send_text(channel, STOPPING, reference=message)
            return
        content = message.content
        if kind is guards.Kind.FORUM_POST:  # the post's title is part of the question
            title = channel.name.strip()
            content = content if content.strip().startswith(title) else f"{title}\n{content}"
        try:
            question = guards.question_from_message(content, bot_ids=facts.bot_ids,
                                                    has_attachments=bool(message.attachments),
                                                    max_chars=self.settings.max_question_chars)
            ticket = self.gate.admit(message.author.id)
        except guards.Refused as r:
            await self.send_text(channel, r.message, reference=message)
            return
        with ticket:
            try:
                await self._answer_message(message, channel, question, kind, plan)
            except Exception:
                log.exception("handling a question in channel %s failed", channel.id)
                await self.send_text(channel, ANSWER_FAILED, reference=message)

    async def _reply_context(self, message: discord.Message, channel, plan: guards.Delivery) -> list[str] | None:
        """A reply's context: the question of the answer it replies to (the title of the answer's
        embed, or the first line of a text answer)."""
        ref = message.reference
        replied = ref.resolved if isinstance(ref.resolved, discord.Message) else ref.cached_message
        if replied is None and self.perms(channel).read_history and ref.message_id:
            with contextlib.suppress(discord.HTTPException):
                replied = await channel.fetch_message(ref.message_id)
        if replied is None:
            return None
        if replied.embeds and replied.embeds[0].title:
            earlier = replied.embeds[0].title
        else:
            earlier = (replied.content or "").strip().split("\n")[0].strip("*_ ")
        return [earlier] if earlier else None

    async def _answer_message(self, message: discord.Message, channel, question: str, kind: guards.Kind,
                              plan: guards.Delivery) -> None:
        thread: discord.Thread | None = None
        reference: discord.Message | None = message if plan.reply else None
        context = None
        if kind is guards.Kind.FORUM_POST:  # answered in the post itself; its follow-ups continue there
            thread = channel
            reference = None
            self.conversations.start(thread.id, [Turn(question)])
        elif kind is guards.Kind.FOLLOWUP:
            thread = channel
            if not self.conversations.knows(thread.id):
                turns = await self._turns_from_history(thread, before=message) if self.perms(thread).read_history else []
                self.conversations.start(thread.id, turns)
            context = self.conversations.context(thread.id)
            # remembered now, not after answering: a quick next question already has it as context
            self.conversations.record(thread.id, Turn(question))
        elif kind is guards.Kind.REPLY:
            context = await self._reply_context(message, channel, plan)
        if plan.where == "thread":
            thread = await self._open_thread(message, question, context)
            if thread is not None:
                reference = None
            else:  # could not open one: answer here if the bot may
                fallback = guards.plan_delivery(self.perms(channel), in_thread=False, open_thread=False)
                if fallback.where == "nowhere":
                    return
                reference = message if fallback.reply else None
        target = thread or channel
        async with self.working(target):
            answer, error = await self.answer_or_error(question, context, message.created_at.date())
        items = [replies.text_reply(error)] if answer is None else self.render(answer, plan.embeds)
        try:
            await send_replies(items, target.send, on_sent=self._remembering(answer), **self._reference(reference))
        except discord.HTTPException as e:
            log.warning("could not send the answer to %s: %s", target.id, e)
            if e.code in AUTOMOD_CODES:
                text = AUTOMOD_BLOCKED
            elif isinstance(e, discord.Forbidden) and target is not channel:
                text = "I couldn't post the answer in the thread; check my permissions there."
            else:  # Discord kept failing (5xx after retries, a rate limit too long to wait for)
                text = f"Discord didn't accept my answer (HTTP {e.status}); please ask again in a moment."
            if e.code in AUTOMOD_CODES and target is thread:  # the thread is open to the asker: say it there
                await self.send_text(thread, text)
            else:
                await self.send_text(channel, text, reference=message)
            return

    def _remembering(self, answer) -> Callable[[discord.Message], None] | None:
        """What remembers each message of an answer for its 👍/👎 as it is sent."""
        if answer is None:
            return None
        answered = AnsweredQuestion.from_answer(answer)
        return lambda message: self.feedback.remember_answer([message.id], answered)

    async def _open_thread(self, message: discord.Message, question: str,
                           context: list[str] | None = None) -> discord.Thread | None:
        """A thread on the question (or the one that already exists on it), remembered with the
        question as its first turn; None if Discord refuses."""
        try:
            thread = await message.create_thread(name=replies.clip(question, THREAD_NAME_LIMIT),
                                                 auto_archive_duration=1440)
        except discord.HTTPException as e:
            thread = None
            if e.code == THREAD_EXISTS:  # another Cita process, or a person, opened it first: use it
                thread = message.guild.get_thread(message.id)
                if thread is None:
                    with contextlib.suppress(discord.HTTPException):
                        thread = await self.bot.fetch_channel(message.id)
            if not isinstance(thread, discord.Thread):
                log.info("answering inline: could not open a thread in %s (%s)", message.channel.id, e)
                return None
        self.conversations.start(thread.id, [Turn(q) for q in (context or [])] + [Turn(question)])
        return thread

    async def _turns_from_history(self, thread: discord.Thread, *, before: discord.Message) -> list[Turn]:
        """The earlier questions of a bot thread this process does not remember (after a
        restart): the thread's starter message, then the people's messages in it."""
        questions: list[str] = []
        bot_ids = self._bot_ids(thread.guild)
        try:
            starter = thread.starter_message
            if isinstance(thread.parent, discord.ForumChannel):
                starter = None  # a post's first message is in the thread itself: the history has it
            elif starter is None and thread.parent is not None:
                starter = await thread.parent.fetch_message(thread.id)
            if starter is not None:
                if starter.author.id == (self.bot.user.id if self.bot.user else None):
                    if starter.embeds and starter.embeds[0].title:
                        questions.append(starter.embeds[0].title)
                else:
                    questions.append(guards.strip_mentions(starter.content, bot_ids))
        except discord.HTTPException:
            pass
        try:
            history = [m async for m in thread.history(limit=HISTORY_LIMIT, before=before)]
        except discord.HTTPException:
            history = []
        for m in reversed(history):
            if not m.author.bot and m.content.strip():
                questions.append(guards.strip_mentions(m.content, bot_ids))
        return [Turn(" ".join(q.split())) for q in questions if q.strip()]

    # -- reactions: feedback ------------------------------------------------------------------

    @commands.Cog.listener()
    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        await self._rate(payload, removed=False)

    @commands.Cog.listener()
    async def on_raw_reaction_remove(self, payload: discord.RawReactionActionEvent) -> None:
        await self._rate(payload, removed=True)

    async def _rate(self, payload: discord.RawReactionActionEvent, *, removed: bool) -> None:
        if self.bot.user is None or payload.user_id == self.bot.user.id:
            return
        record = functools.partial(self.feedback.record, message_id=payload.message_id, emoji=str(payload.emoji),
                                   user_id=payload.user_id, channel_id=payload.channel_id,
                                   guild_id=payload.guild_id, removed=removed)
        try:
            entry = await asyncio.to_thread(record)
        except OSError as e:
            log.warning("could not record feedback in %s: %s", self.settings.feedback_path, e)
            return
        if entry is not None:
            log.info("feedback %s %s on message %s", entry["rating"], entry["action"], payload.message_id)

    # -- slash commands -----------------------------------------------------------------------

    async def _refuse(self, interaction: discord.Interaction, text: str) -> None:
        """A short private message: the interaction's response; once it has one (a defer), the
        text replaces the "thinking" message (private when the defer was)."""
        if interaction.response.is_done():
            await send_replies([replies.text_reply(text)], interaction.edit_original_response)
        else:
            await send_replies([replies.text_reply(text)],
                               functools.partial(interaction.response.send_message, ephemeral=True))

    async def _respond(self, interaction: discord.Interaction, items: list[replies.Reply], *,
                       ephemeral: bool = False,
                       on_sent: Callable[[discord.Message], None] | None = None) -> list[discord.Message]:
        """After a defer: the first piece replaces the "thinking" message (edit_original_response,
        Discord's supported way), the rest are follow-ups. Once the 15-minute token has expired,
        everything goes to the channel instead, when the bot may post there (never for a private
        reply)."""
        if not interaction.is_expired():
            try:
                return await send_replies(
                    items, functools.partial(interaction.followup.send, wait=True, ephemeral=ephemeral),
                    first=interaction.edit_original_response, on_sent=on_sent)
            except discord.HTTPException as e:
                if e.code not in TOKEN_GONE:
                    raise
        channel = interaction.channel
        if ephemeral or channel is None:
            log.warning("the interaction token of /%s expired; its result is only in the log",
                        getattr(interaction.command, "name", "?"))
            return []
        plan = guards.plan_delivery(self.perms(channel), in_thread=isinstance(channel, discord.Thread),
                                    open_thread=False, reply=False)
        if plan.where == "nowhere":
            self._warn_once(channel.id, "cannot post a late result in channel %s: missing %s", channel.id,
                            ", ".join(plan.missing))
            return []
        note = replies.text_reply(f"{interaction.user.mention}, here is the result of your "
                                  f"/{getattr(interaction.command, 'name', 'command')}:")
        sent = (await send_replies([note, *items], channel.send))[1:]
        for message in sent if on_sent is not None else ():
            on_sent(message)
        return sent

    async def _admit(self, interaction: discord.Interaction, text: str):
        """The checks /ask and /timeline share: DMs, channels, stopping, the question itself,
        cooldown and queue. (text, ticket) when admitted; otherwise the user is told why and None."""
        if interaction.guild is None and not self.settings.answer_dms:
            reason = guards.DM_DECLINED
        elif interaction.guild is not None and not self.channel_policy.permits(
                interaction.channel_id, _parent_id(interaction.channel)) and (
                interaction.channel_id not in self.settings.ask_channels):
            reason = guards.CHANNEL_NOT_ALLOWED
        elif self.stopping:
            reason = STOPPING
        else:
            try:
                text = guards.validate_question(text, max_chars=self.settings.max_question_chars)
                return text, self.gate.admit(interaction.user.id)
            except guards.Refused as r:
                reason = r.message
        await self._refuse(interaction, reason)
        return None

    @app_commands.command(name="ask", description="Ask a question about the news articles; "
                          "the answer quotes them, with sources")
    @app_commands.describe(question="Your question, in any language the articles use")
    async def ask(self, interaction: discord.Interaction, question: str) -> None:
        channel = interaction.channel
        admitted = await self._admit(interaction, question)
        if admitted is None:
            return
        question, ticket = admitted
        with ticket:
            await interaction.response.defer(thinking=True)
            context = None
            in_bot_thread = self._in_bot_thread(channel)
            if in_bot_thread:
                context = self.conversations.context(channel.id)
                self.conversations.record(channel.id, Turn(question))
            answer, error = await self.answer_or_error(question, context, interaction.created_at.date())
            if answer is None:
                await self._respond(interaction, [replies.text_reply(error)])
                return
            # an interaction's messages need no Embed Links (only channel messages do)
            sent = await self._respond(interaction, self.render(answer, True), on_sent=self._remembering(answer))
            app = interaction.app_permissions
            if (not in_bot_thread and self.settings.answer_in_threads and sent
                    and isinstance(channel, discord.TextChannel)
                    and app.create_public_threads and app.send_messages_in_threads):
                # a thread on the answer, for follow-up questions
                try:
                    # the answer message carries no guild; start the thread through the channel
                    thread = await channel.get_partial_message(sent[0].id).create_thread(
                        name=replies.clip(question, THREAD_NAME_LIMIT), auto_archive_duration=1440)
                except (discord.HTTPException, ValueError) as e:
                    log.info("no follow-up thread for /ask in %s: %s", channel.id, e)
                else:
                    self.conversations.start(thread.id, [Turn(question)])

    @app_commands.command(name="sources", description="List the indexed news articles")
    @app_commands.describe(page="Page number (10 articles per page)")
    async def sources(self, interaction: discord.Interaction,
                      page: app_commands.Range[int, 1, 100000] = 1) -> None:
        await interaction.response.defer(thinking=True, ephemeral=True)
        try:
            _, manifest = await asyncio.to_thread(self.answerer.library.store.current)
        except StoreError as e:
            await self._respond(interaction, [replies.text_reply(f"I can't read the index right now: {e}")],
                                ephemeral=True)
            return
        try:
            feeds = await asyncio.to_thread(FeedList(self.settings.data_dir).load)
        except FeedError as e:
            log.warning("%s", e)
            feeds = []
        await self._respond(interaction, [replies.sources_reply(manifest.get("articles", []), page, feeds=feeds)],
                            ephemeral=True)

    @app_commands.command(name="help", description="How to ask Cita questions")
    async def help_(self, interaction: discord.Interaction) -> None:
        item = replies.help_reply(max_question_chars=self.settings.max_question_chars,
                                  answer_in_threads=self.settings.answer_in_threads,
                                  answer_dms=self.settings.answer_dms)
        await send_replies([item], functools.partial(interaction.response.send_message, ephemeral=True))

    @app_commands.command(name="reindex", description="Rebuild the index from the articles folder "
                          "(Manage Server only)")
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.guild_only()
    async def reindex(self, interaction: discord.Interaction) -> None:
        if await self._refused_admin(interaction, NOT_ALLOWED_TO_REINDEX, self.builder_factory,
                                     "Rebuilding is not available in this process."):
            return
        async with self._rebuild_lock:
            # private while the token lasts; a rebuild that outlives it (15 minutes) reports in the channel
            await interaction.response.defer(thinking=True, ephemeral=True)
            log.info("rebuild requested by %s in guild %s", interaction.user.id, interaction.guild_id)
            try:
                summary = await asyncio.to_thread(self._rebuild)
            except (StoreError, NothingIndexed) as e:
                text = f"The rebuild failed: {e}"
            except Exception:
                log.exception("rebuild failed")
                text = "The rebuild failed unexpectedly; the error has been logged."
            else:
                text = f"Index rebuilt from `{self.settings.articles_dir.name}/`: {summary.line()}"
                if summary.skipped:
                    text += "\nSkipped: " + "; ".join(f"{s.source} ({s.reason})" for s in summary.skipped[:5])
                    if len(summary.skipped) > 5:
                        text += f"; and {len(summary.skipped) - 5} more"
                log.info("rebuild done: %s", summary.line())
            await self._respond(interaction, [replies.text_reply(text)], ephemeral=not interaction.is_expired())

    async def _refused_admin(self, interaction: discord.Interaction, not_allowed: str, work,
                             unavailable: str) -> bool:
        """Refuse an admin command (and say why) unless the member may manage the server, this
        process can do the work and no rebuild or refresh is running."""
        # Discord's default_permissions is only a hint that server admins can change: check here.
        if interaction.guild is None or not interaction.permissions.manage_guild:
            reason = not_allowed
        elif work is None:
            reason = unavailable
        elif self._rebuild_lock.locked():
            reason = REINDEX_RUNNING
        else:
            return False
        await self._refuse(interaction, reason)
        return True

    def _rebuild(self):
        builder = self.builder_factory()
        try:
            summary = builder.rebuild([self.settings.articles_dir])
        finally:
            builder.close()
        self.answerer.library.view(refresh=True)  # serve the new generation from the next question
        return summary

    # -- feeds: the scheduled refresh and /refresh ---------------------------------------------

    async def _refresh_every(self, seconds: float) -> None:
        """Refresh the feeds now and then every `seconds`, in a worker thread of its own (answers
        go on meanwhile, from the generation being replaced until the new one is published)."""
        while not self.bot.is_closed() and not self.stopping:
            try:
                await self.refresh_feeds("scheduled")
            except Exception:
                log.exception("the scheduled feed refresh failed")
            await asyncio.sleep(seconds)

    async def refresh_feeds(self, why: str) -> str | None:
        """Run one refresh (None when a rebuild or refresh is already running); its report."""
        if self.refresher is None or self._rebuild_lock.locked():
            return None
        async with self._rebuild_lock:
            log.info("feed refresh (%s)", why)
            result = await asyncio.to_thread(self._refresh)
        lines = [r.line() for r in result.reports]
        if result.build is not None:
            lines.append(result.build.line())
        elif result.build_error:
            lines.append(f"nothing indexed: {result.build_error}")
        else:
            lines.append("nothing new to index")
        log.info("feed refresh done: %s", " | ".join(lines))
        return "\n".join(lines)

    def _refresh(self):
        result = self.refresher()
        if result.build is not None:
            self.answerer.library.view(refresh=True)  # serve the new articles from the next question
        return result

    @app_commands.command(name="refresh", description="Fetch the news feeds now and index their new articles "
                          "(Manage Server only)")
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.guild_only()
    async def refresh(self, interaction: discord.Interaction) -> None:
        if await self._refused_admin(interaction, NOT_ALLOWED_TO_REFRESH, self.refresher,
                                     "Refreshing feeds is not available in this process."):
            return
        await interaction.response.defer(thinking=True, ephemeral=True)
        try:
            report = await self.refresh_feeds(f"/refresh by {interaction.user.id}")
        except (StoreError, NothingIndexed) as e:
            report = f"The refresh failed: {e}"
        except Exception:
            log.exception("feed refresh failed")
            report = "The refresh failed unexpectedly; the error has been logged."
        if report is None:
            report = REINDEX_RUNNING
        await self._respond(interaction, [replies.text_reply(report)], ephemeral=not interaction.is_expired())

    @app_commands.command(name="timeline", description="The dated quotes about a topic, in date order")
    @app_commands.describe(topic="What to follow over time, in any language the articles use",
                           page="Page number (6 events per page)")
    async def timeline(self, interaction: discord.Interaction, topic: str,
                       page: app_commands.Range[int, 1, 1000] = 1) -> None:
        admitted = await self._admit(interaction, topic)
        if admitted is None:
            return
        topic, ticket = admitted
        with ticket:
            await interaction.response.defer(thinking=True)
            loop = asyncio.get_running_loop()
            try:
                timeline = await loop.run_in_executor(self.executor, functools.partial(
                    build_timeline, self.answerer, topic, today=interaction.created_at.date()))
            except QuestionError as e:
                items = [replies.text_reply(str(e))]
            except StoreError as e:
                log.warning("index unavailable for a timeline: %s", e)
                items = [replies.text_reply(f"I can't read the index right now: {e}")]
            except Exception:
                log.exception("timeline of %r failed", topic)
                items = [replies.text_reply(ANSWER_FAILED)]
            else:
                items = replies.timeline_replies(timeline, page)
            await self._respond(interaction, items)

    async def _on_app_command_error(self, interaction: discord.Interaction, error: Exception) -> None:
        if isinstance(error, app_commands.CheckFailure):
            text = str(error) or "You can't use this command here."
        else:
            log.error("slash command /%s failed", getattr(interaction.command, "name", "?"),
                      exc_info=error)
            text = ANSWER_FAILED
        with contextlib.suppress(discord.HTTPException):
            await self._refuse(interaction, text)
