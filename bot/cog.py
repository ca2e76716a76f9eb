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
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from answer.answering import QuestionError
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

Send = Callable[..., Awaitable["discord.Message | None"]]


async def send_replies(items: list[replies.Reply], send: Send, *, first: Send | None = None,
                       **first_kwargs) -> list[discord.Message]:
    """Send `items` one message each, with nothing allowed to ping. `first` sends the first item
    when it goes elsewhere (an interaction's original response); `first_kwargs` go with it only
    (a reply reference). Returns the messages sent (those the send call returned)."""
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
        self._synced = False
        self.stopping = False

    # -- lifecycle ----------------------------------------------------------------------------

    async def cog_load(self) -> None:
        self.bot.tree.error(self._on_app_command_error)

    async def cog_unload(self) -> None:
        if self._refresh_task is not None:
            self._refresh_task.cancel()
        self.executor.shutdown(wait=False, cancel_futures=True)

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        me = self.bot.user
        log.info("connected to Discord as %s (%s) in %d servers", me, me.id if me else "?", len(self.bot.guilds))
        if not self._synced:
            self._synced = True
            await self._sync_commands()
        if self.settings.refresh_minutes > 0 and self.refresher is not None and self._refresh_task is None:
            self._refresh_task = asyncio.create_task(self._refresh_every(self.settings.refresh_minutes * 60))

    async def _sync_commands(self) -> None:
        try:
            synced = await self.bot.tree.sync()
            log.info("slash commands registered: %s", ", ".join(c.name for c in synced))
        except discord.HTTPException as e:
            log.warning("could not register the slash commands (%s); mentions still work", e)

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

    async def compute_answer(self, question: str, context: list[str] | None):
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, functools.partial(self.answerer.ask, question,
                                                                           context=context))

    async def answer_or_error(self, question: str, context: list[str] | None):
        """(answer, None) or (None, short error message); never raises."""
        try:
            return await self.compute_answer(question, context), None
        except QuestionError as e:
            return None, str(e)
        except StoreError as e:
            log.warning("index unavailable while answering: %s", e)
            return None, f"I can't read the index right now: {e}"
        except Exception:
            log.exception("answering %r failed", question)
            return None, ANSWER_FAILED

    # -- sending ------------------------------------------------------------------------------

    def _embeds_allowed(self, channel) -> bool:
        guild = getattr(channel, "guild", None)
        if guild is None or guild.me is None:
            return True
        try:
            return channel.permissions_for(guild.me).embed_links
        except Exception:
            return True

    @staticmethod
    def render(answer, embeds: bool) -> list[replies.Reply]:
        return replies.answer_replies(answer) if embeds else replies.answer_text_replies(answer)

    @staticmethod
    def _reference(message: discord.Message | None) -> dict:
        if message is None:
            return {}
        return {"reference": message.to_reference(fail_if_not_exists=False), "mention_author": False}

    async def send_text(self, channel, text: str, *, reference: discord.Message | None = None) -> None:
        try:
            await send_replies([replies.text_reply(text)], channel.send, **self._reference(reference))
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

    def facts(self, message: discord.Message) -> guards.MessageFacts:
        """The plain facts `guards.classify` decides on."""
        me = self.bot.user
        bot_ids = self._bot_ids(message.guild)
        channel = message.channel
        return guards.MessageFacts(
            content=message.content, bot_ids=bot_ids,
            from_a_bot=message.author.bot or (me is not None and message.author.id == me.id),
            ordinary=message.type in (discord.MessageType.default, discord.MessageType.reply),
            in_dm=message.guild is None,
            mentioned=bool(bot_ids & (set(message.raw_mentions) | set(message.raw_role_mentions))),
            in_bot_thread=self._in_bot_thread(channel),
            channel_allowed=message.guild is None or self.channel_policy.permits(channel.id, _parent_id(channel)))

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        if self.bot.user is None:
            return
        facts = self.facts(message)
        kind = guards.classify(facts, answer_dms=self.settings.answer_dms,
                               answer_in_threads=self.settings.answer_in_threads)
        channel = message.channel
        if kind is guards.Kind.IGNORE:
            return
        if kind is guards.Kind.DM_DECLINED:
            await self.send_text(channel, guards.DM_DECLINED)
            return
        if self.stopping:
            await self.send_text(channel, STOPPING, reference=message)
            return
        try:
            question = guards.question_from_message(message.content, bot_ids=facts.bot_ids,
                                                    has_attachments=bool(message.attachments),
                                                    max_chars=self.settings.max_question_chars)
            ticket = self.gate.admit(message.author.id)
        except guards.Refused as r:
            await self.send_text(channel, r.message, reference=message)
            return
        with ticket:
            try:
                await self._answer_message(message, question, kind)
            except Exception:
                log.exception("handling a question in channel %s failed", channel.id)
                await self.send_text(channel, ANSWER_FAILED, reference=message)

    async def _answer_message(self, message: discord.Message, question: str, kind: guards.Kind) -> None:
        channel = message.channel
        thread: discord.Thread | None = None
        reference: discord.Message | None = message
        context = None
        if kind is guards.Kind.FOLLOWUP:
            thread = channel
            reference = None
            if not self.conversations.knows(thread.id):
                self.conversations.start(thread.id, await self._turns_from_history(thread, before=message))
            context = self.conversations.context(thread.id)
            # remembered now, not after answering: a quick next question already has it as context
            self.conversations.record(thread.id, Turn(question))
        elif (kind is guards.Kind.MENTION and self.settings.answer_in_threads
              and isinstance(channel, discord.TextChannel)):
            thread = await self._open_thread(message, question)
            if thread is not None:
                reference = None
        target = thread or channel
        async with self.working(target):
            answer, error = await self.answer_or_error(question, context)
        items = [replies.text_reply(error)] if answer is None else self.render(answer, self._embeds_allowed(target))
        try:
            sent = await send_replies(items, target.send, **self._reference(reference))
        except discord.HTTPException as e:
            log.warning("could not send the answer to %s: %s", target.id, e)
            if isinstance(e, discord.Forbidden) and target is not channel:
                text = "I couldn't post the answer in the thread; check my permissions there."
            else:  # Discord kept failing (5xx after retries, a rate limit too long to wait for)
                text = f"Discord didn't accept my answer (HTTP {e.status}); please ask again in a moment."
            await self.send_text(channel, text, reference=message)
            return
        if answer is not None:
            self.feedback.remember_answer([m.id for m in sent], AnsweredQuestion.from_answer(answer))

    async def _open_thread(self, message: discord.Message, question: str) -> discord.Thread | None:
        try:
            thread = await message.create_thread(name=replies.clip(question, THREAD_NAME_LIMIT),
                                                 auto_archive_duration=1440)
        except discord.HTTPException as e:
            log.info("answering inline: could not open a thread in %s (%s)", message.channel.id, e)
            return None
        self.conversations.start(thread.id, [Turn(question)])
        return thread

    async def _turns_from_history(self, thread: discord.Thread, *, before: discord.Message) -> list[Turn]:
        """The earlier questions of a bot thread this process does not remember (after a
        restart): the thread's starter message, then the people's messages in it."""
        questions: list[str] = []
        bot_ids = self._bot_ids(thread.guild)
        try:
            starter = thread.starter_message
            if starter is None and thread.parent is not None:
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
        """A short private message: the interaction's response, or a follow-up once it has one."""
        send = interaction.followup.send if interaction.response.is_done() else interaction.response.send_message
        await send_replies([replies.text_reply(text)], functools.partial(send, ephemeral=True))

    @app_commands.command(name="ask", description="Ask a question about the news articles; "
                          "the answer quotes them, with sources")
    @app_commands.describe(question="Your question, in any language the articles use")
    async def ask(self, interaction: discord.Interaction, question: str) -> None:
        channel = interaction.channel
        if interaction.guild is None and not self.settings.answer_dms:
            await self._refuse(interaction, guards.DM_DECLINED)
            return
        if interaction.guild is not None and not self.channel_policy.permits(
                interaction.channel_id, _parent_id(channel)):
            await self._refuse(interaction, guards.CHANNEL_NOT_ALLOWED)
            return
        if self.stopping:
            await self._refuse(interaction, STOPPING)
            return
        try:
            question = guards.validate_question(question, max_chars=self.settings.max_question_chars)
            ticket = self.gate.admit(interaction.user.id)
        except guards.Refused as r:
            await self._refuse(interaction, r.message)
            return
        with ticket:
            await interaction.response.defer(thinking=True)
            context = None
            in_bot_thread = self._in_bot_thread(channel)
            if in_bot_thread:
                context = self.conversations.context(channel.id)
                self.conversations.record(channel.id, Turn(question))
            answer, error = await self.answer_or_error(question, context)
            followup = functools.partial(interaction.followup.send, wait=True)
            if answer is None:
                await send_replies([replies.text_reply(error)], followup)
                return
            embeds_ok = interaction.app_permissions.embed_links or interaction.guild is None
            sent = await send_replies(self.render(answer, embeds_ok), followup)
            self.feedback.remember_answer([m.id for m in sent], AnsweredQuestion.from_answer(answer))
            if (not in_bot_thread and self.settings.answer_in_threads and sent
                    and isinstance(channel, discord.TextChannel)):
                # a thread on the answer, for follow-up questions
                try:
                    # the follow-up message carries no guild; start the thread through the channel
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
        followup = functools.partial(interaction.followup.send, ephemeral=True)
        try:
            _, manifest = await asyncio.to_thread(self.answerer.library.store.current)
        except StoreError as e:
            await send_replies([replies.text_reply(f"I can't read the index right now: {e}")], followup)
            return
        try:
            feeds = await asyncio.to_thread(FeedList(self.settings.data_dir).load)
        except FeedError as e:
            log.warning("%s", e)
            feeds = []
        await send_replies([replies.sources_reply(manifest.get("articles", []), page, feeds=feeds)], followup)

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
        # Discord's default_permissions is only a hint that server admins can change: check here.
        if interaction.guild is None or not interaction.permissions.manage_guild:
            await self._refuse(interaction, NOT_ALLOWED_TO_REINDEX)
            return
        if self.builder_factory is None:
            await self._refuse(interaction, "Rebuilding is not available in this process.")
            return
        if self._rebuild_lock.locked():
            await self._refuse(interaction, REINDEX_RUNNING)
            return
        async with self._rebuild_lock:
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
            await send_replies([replies.text_reply(text)], functools.partial(interaction.followup.send,
                                                                             ephemeral=True))

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
        # Discord's default_permissions is only a hint that server admins can change: check here.
        if interaction.guild is None or not interaction.permissions.manage_guild:
            await self._refuse(interaction, NOT_ALLOWED_TO_REFRESH)
            return
        if self.refresher is None:
            await self._refuse(interaction, "Refreshing feeds is not available in this process.")
            return
        if self._rebuild_lock.locked():
            await self._refuse(interaction, REINDEX_RUNNING)
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
        await send_replies([replies.text_reply(report)], functools.partial(interaction.followup.send, ephemeral=True))

    async def _on_app_command_error(self, interaction: discord.Interaction, error: Exception) -> None:
        if isinstance(error, app_commands.CheckFailure):
            text = str(error) or "You can't use this command here."
        else:
            log.error("slash command /%s failed", getattr(interaction.command, "name", "?"),
                      exc_info=error)
            text = ANSWER_FAILED
        with contextlib.suppress(discord.HTTPException):
            await self._refuse(interaction, text)
