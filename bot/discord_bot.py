"""The Discord bot: a thin discord.py layer over the answerer.

Every decision that is not about Discord lives in plain modules: what to say and how to split it
(`replies`), who may ask when (`guards`), which earlier turns a follow-up carries
(`conversation`), and the rating log (`feedback`). This module wires them to discord.py events
and slash commands. CPU-bound work (answering, rebuilding the index) runs in worker threads so
the event loop keeps heartbeating and serving other users. Every message the bot sends has
`allowed_mentions` set to none, so nothing it quotes or echoes can ping anyone.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import functools
import logging
import signal
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import discord
import yarl
from discord import app_commands

from . import guards, replies
from .conversation import Conversations, Turn
from .feedback import AnsweredQuestion, FeedbackLog
from cita.settings import Settings

log = logging.getLogger(__name__)

NO_MENTIONS = discord.AllowedMentions.none()
ANSWER_WORKERS = 2
THREAD_NAME_LIMIT = 100
TYPING_EVERY_S = 8.0
HISTORY_LIMIT = 20

NOT_ALLOWED_TO_REINDEX = "Only members with the **Manage Server** permission can rebuild the index."
REINDEX_RUNNING = "A rebuild is already running; I'll use the new index as soon as it is published."
ANSWER_FAILED = "Sorry, something went wrong while answering; the error has been logged."
STOPPING = "I'm restarting: ask again in a minute."
DRAIN_S = 15.0  # on shutdown, how long answers in progress may take to be sent


def required_intents() -> discord.Intents:
    """Default intents plus Message Content (privileged: needed for follow-ups in threads, which
    do not mention the bot). Members and presences are not needed."""
    intents = discord.Intents.default()
    intents.message_content = True
    intents.members = False
    intents.presences = False
    return intents


def required_permissions() -> discord.Permissions:
    """What the bot needs in the channels it answers in."""
    return discord.Permissions(view_channel=True, send_messages=True, send_messages_in_threads=True,
                               create_public_threads=True, embed_links=True, read_message_history=True)


class StartupError(RuntimeError):
    """The bot cannot start; the message says what to do."""


def application_id_from_token(token: str) -> int:
    """The application (client) id encoded in the first segment of a bot token."""
    first = (token or "").strip().split(".")[0]
    try:
        raw = base64.urlsafe_b64decode(first + "=" * (-len(first) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raw = ""
    if not first or not raw.isdigit():
        raise StartupError("DISCORD_TOKEN does not look like a bot token: copy it from the Bot page "
                           "of your application in the Discord developer portal")
    return int(raw)


def invite_link(token: str) -> str:
    """The OAuth2 URL that adds the bot to a server with the permissions it needs and its slash
    commands (scopes bot and applications.commands)."""
    return discord.utils.oauth_url(application_id_from_token(token), permissions=required_permissions(),
                                   scopes=("bot", "applications.commands"))


class _Redact(logging.Filter):
    """Replaces the token in any log record (belt and braces: nothing should log it)."""

    def __init__(self, secret: str) -> None:
        super().__init__()
        self.secret = secret

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secret:
            try:
                message = record.getMessage()
            except Exception:  # a malformed record: leave it to the handler
                return True
            if self.secret in message:
                record.msg = message.replace(self.secret, "[token]")
                record.args = None
        return True


def _parent_id(channel) -> int | None:
    return getattr(channel, "parent_id", None)


class CitaMixin:
    """The bot's behaviour; mixed into discord.Client or discord.AutoShardedClient."""

    def __init__(self, settings: Settings, *, answerer, builder_factory: Callable[[], object] | None = None,
                 **client_kwargs) -> None:
        client_kwargs.setdefault("intents", required_intents())
        client_kwargs.setdefault("allowed_mentions", NO_MENTIONS)
        client_kwargs.setdefault("chunk_guilds_at_startup", False)
        # Discord sends the servers' GUILD_CREATEs in one burst after READY; discord.py waits this
        # long after the last one before on_ready (2 s by default). Cita needs no member lists,
        # and a server that comes later is still served.
        client_kwargs.setdefault("guild_ready_timeout", 0.5)
        # Cita never joins voice: no start-up warnings about voice libraries
        discord.VoiceClient.warn_nacl = False
        discord.VoiceClient.warn_dave = False
        super().__init__(**client_kwargs)
        if settings.discord_api_url:  # a stand-in of Discord's API (tests)
            discord.http.Route.BASE = settings.discord_api_url.rstrip("/")
        self.settings = settings
        self.answerer = answerer
        self.builder_factory = builder_factory
        self.tree = app_commands.CommandTree(self)
        self.tree.on_error = self._on_app_command_error
        self.gate = guards.Gate(cooldown_s=settings.cooldown_s, max_pending=settings.max_pending,
                                workers=ANSWER_WORKERS)
        self.channel_policy = guards.ChannelPolicy(settings.channels)
        self.conversations = Conversations()
        self.feedback = FeedbackLog(settings.feedback_path)
        self.executor = ThreadPoolExecutor(max_workers=ANSWER_WORKERS, thread_name_prefix="cita-answer")
        self._rebuild_lock = asyncio.Lock()
        self._stopping = False
        self._register_commands()

    # -- lifecycle ----------------------------------------------------------------------------

    async def setup_hook(self) -> None:
        if self.settings.discord_api_url:
            # the gateway address comes from the same (stand-in) API
            _, url, _ = await self.http.get_bot_gateway()
            discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(url)
        try:
            synced = await self.tree.sync()
            log.info("slash commands registered: %s", ", ".join(c.name for c in synced))
        except discord.HTTPException as e:
            log.warning("could not register the slash commands (%s); mentions still work", e)

    async def on_ready(self) -> None:
        log.info("connected to Discord as %s (%s) in %d servers", self.user, self.user.id if self.user else "?",
                 len(self.guilds))

    async def close(self) -> None:
        """Stop taking questions, let the answers in progress be sent (up to DRAIN_S), close."""
        if not self._stopping:
            self._stopping = True
            loop = asyncio.get_running_loop()
            deadline = loop.time() + DRAIN_S
            while self.gate.pending and loop.time() < deadline and not self.is_closed():
                await asyncio.sleep(0.05)
        await super().close()
        self.executor.shutdown(wait=False, cancel_futures=True)

    # -- running the answerer off the event loop ----------------------------------------------

    async def compute_answer(self, question: str, context: list[str] | None):
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, functools.partial(self.answerer.ask, question,
                                                                           context=context))

    async def answer_or_error(self, question: str, context: list[str] | None):
        """(answer, None) or (None, short error message); never raises."""
        from index.store import StoreError

        from answer.answering import QuestionError

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

    def render(self, answer, embeds: bool) -> list[replies.Reply]:
        return replies.answer_replies(answer) if embeds else replies.answer_text_replies(answer)

    async def send_replies(self, channel, items: list[replies.Reply], *,
                           reference: discord.Message | None = None) -> list[discord.Message]:
        sent = []
        for i, item in enumerate(items):
            kwargs = {"allowed_mentions": NO_MENTIONS}
            if item.content:
                kwargs["content"] = item.content
            if item.embeds:
                kwargs["embeds"] = [discord.Embed.from_dict(e) for e in item.embeds]
            if reference is not None and i == 0:
                kwargs["reference"] = reference.to_reference(fail_if_not_exists=False)
                kwargs["mention_author"] = False
            sent.append(await channel.send(**kwargs))
        return sent

    async def send_text(self, channel, text: str, *, reference: discord.Message | None = None) -> None:
        try:
            await self.send_replies(channel, [replies.text_reply(text)], reference=reference)
        except discord.HTTPException as e:
            log.warning("could not send a message to channel %s: %s", getattr(channel, "id", "?"), e)

    @contextlib.asynccontextmanager
    async def working(self, channel):
        """Shows "Cita is typing…" in `channel` until the block ends (failures are ignored)."""

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

    def _bot_ids(self, guild) -> set[int]:
        ids = {self.user.id} if self.user else set()
        role = guild.self_role if guild is not None else None
        if role is not None:
            ids.add(role.id)
        return ids

    def _in_bot_thread(self, channel) -> bool:
        return isinstance(channel, discord.Thread) and channel.owner_id == (self.user.id if self.user else None)

    async def on_message(self, message: discord.Message) -> None:
        if self.user is None or message.author.bot or message.author.id == self.user.id:
            return
        if message.type not in (discord.MessageType.default, discord.MessageType.reply):
            return
        channel = message.channel
        bot_ids = self._bot_ids(message.guild)
        mentioned = bool(bot_ids & (set(message.raw_mentions) | set(message.raw_role_mentions)))
        if message.guild is None:
            if not self.settings.answer_dms:
                await self.send_text(channel, guards.DM_DECLINED)
                return
            kind = "dm"
        elif self._in_bot_thread(channel) and self.settings.answer_in_threads and (
                mentioned or not guards.looks_like_chat_between_people(message.content, bot_ids=bot_ids)):
            kind = "followup"
        elif mentioned:
            kind = "mention"
        else:
            return
        if message.guild is not None and not self.channel_policy.permits(channel.id, _parent_id(channel)):
            log.debug("ignoring a question in channel %s (not in CITA_CHANNELS)", channel.id)
            return
        if self._stopping:
            await self.send_text(channel, STOPPING, reference=message)
            return
        try:
            question = guards.question_from_message(message.content, bot_ids=bot_ids,
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

    async def _answer_message(self, message: discord.Message, question: str, kind: str) -> None:
        channel = message.channel
        thread: discord.Thread | None = None
        reference: discord.Message | None = message
        context = None
        if kind == "followup":
            thread = channel
            reference = None
            if not self.conversations.knows(thread.id):
                self.conversations.start(thread.id, await self._turns_from_history(thread, before=message))
            context = self.conversations.context(thread.id)
            # remembered now, not after answering: a quick next question already has it as context
            self.conversations.record(thread.id, Turn(question))
        elif kind == "mention" and self.settings.answer_in_threads and isinstance(channel, discord.TextChannel):
            thread = await self._open_thread(message, question)
            if thread is not None:
                reference = None
        target = thread or channel
        async with self.working(target):
            answer, error = await self.answer_or_error(question, context)
        try:
            if answer is None:
                await self.send_replies(target, [replies.text_reply(error)], reference=reference)
                return
            sent = await self.send_replies(target, self.render(answer, self._embeds_allowed(target)),
                                           reference=reference)
        except discord.HTTPException as e:
            log.warning("could not send the answer to %s: %s", target.id, e)
            if isinstance(e, discord.Forbidden) and target is not channel:
                text = "I couldn't post the answer in the thread; check my permissions there."
            else:  # Discord kept failing (5xx after retries, a rate limit too long to wait for)
                text = f"Discord didn't accept my answer (HTTP {e.status}); please ask again in a moment."
            await self.send_text(channel, text, reference=message)
            return
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
                if starter.author.id == (self.user.id if self.user else None):
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

    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        await self._rate(payload, removed=False)

    async def on_raw_reaction_remove(self, payload: discord.RawReactionActionEvent) -> None:
        await self._rate(payload, removed=True)

    async def _rate(self, payload: discord.RawReactionActionEvent, *, removed: bool) -> None:
        if self.user is None or payload.user_id == self.user.id:
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

    def _register_commands(self) -> None:
        bot = self

        @app_commands.command(name="ask", description="Ask a question about the news articles; "
                              "the answer quotes them, with sources")
        @app_commands.describe(question="Your question, in any language the articles use")
        async def ask(interaction: discord.Interaction, question: str) -> None:
            await bot.on_ask(interaction, question)

        @app_commands.command(name="sources", description="List the indexed news articles")
        @app_commands.describe(page="Page number (10 articles per page)")
        async def sources(interaction: discord.Interaction, page: app_commands.Range[int, 1, 100000] = 1) -> None:
            await bot.on_sources(interaction, page)

        @app_commands.command(name="help", description="How to ask Cita questions")
        async def help_(interaction: discord.Interaction) -> None:
            await bot.on_help(interaction)

        @app_commands.command(name="reindex", description="Rebuild the index from the articles folder "
                              "(Manage Server only)")
        @app_commands.default_permissions(manage_guild=True)
        @app_commands.guild_only()
        async def reindex(interaction: discord.Interaction) -> None:
            await bot.on_reindex(interaction)

        for command in (ask, sources, help_, reindex):
            self.tree.add_command(command)

    async def _refuse(self, interaction: discord.Interaction, text: str) -> None:
        if interaction.response.is_done():
            await interaction.followup.send(replies.text_reply(text).content, ephemeral=True,
                                            allowed_mentions=NO_MENTIONS)
        else:
            await interaction.response.send_message(replies.text_reply(text).content, ephemeral=True,
                                                    allowed_mentions=NO_MENTIONS)

    async def on_ask(self, interaction: discord.Interaction, question: str) -> None:
        channel = interaction.channel
        if interaction.guild is None and not self.settings.answer_dms:
            await self._refuse(interaction, guards.DM_DECLINED)
            return
        if interaction.guild is not None and not self.channel_policy.permits(
                interaction.channel_id, _parent_id(channel)):
            await self._refuse(interaction, guards.CHANNEL_NOT_ALLOWED)
            return
        if self._stopping:
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
            if answer is None:
                await interaction.followup.send(replies.text_reply(error).content, allowed_mentions=NO_MENTIONS)
                return
            embeds_ok = interaction.app_permissions.embed_links or interaction.guild is None
            sent = []
            for item in self.render(answer, embeds_ok):
                kwargs = {"allowed_mentions": NO_MENTIONS, "wait": True}
                if item.content:
                    kwargs["content"] = item.content
                if item.embeds:
                    kwargs["embeds"] = [discord.Embed.from_dict(e) for e in item.embeds]
                sent.append(await interaction.followup.send(**kwargs))
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

    async def on_sources(self, interaction: discord.Interaction, page: int) -> None:
        from index.store import StoreError

        await interaction.response.defer(thinking=True, ephemeral=True)
        try:
            _, manifest = await asyncio.to_thread(self.answerer.library.store.current)
        except StoreError as e:
            await interaction.followup.send(replies.text_reply(f"I can't read the index right now: {e}").content,
                                            ephemeral=True, allowed_mentions=NO_MENTIONS)
            return
        item = replies.sources_reply(manifest.get("articles", []), page)
        await interaction.followup.send(embeds=[discord.Embed.from_dict(e) for e in item.embeds], ephemeral=True,
                                        allowed_mentions=NO_MENTIONS)

    async def on_help(self, interaction: discord.Interaction) -> None:
        item = replies.help_reply(max_question_chars=self.settings.max_question_chars,
                                  answer_in_threads=self.settings.answer_in_threads,
                                  answer_dms=self.settings.answer_dms)
        await interaction.response.send_message(embeds=[discord.Embed.from_dict(e) for e in item.embeds],
                                                ephemeral=True, allowed_mentions=NO_MENTIONS)

    async def on_reindex(self, interaction: discord.Interaction) -> None:
        from index.build import NothingIndexed
        from index.store import StoreError

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
            await interaction.followup.send(replies.text_reply(text).content, ephemeral=True,
                                            allowed_mentions=NO_MENTIONS)

    def _rebuild(self):
        builder = self.builder_factory()
        try:
            summary = builder.rebuild([self.settings.articles_dir])
        finally:
            builder.close()
        self.answerer.library.view(refresh=True)  # serve the new generation from the next question
        return summary

    async def _on_app_command_error(self, interaction: discord.Interaction, error: Exception) -> None:
        if isinstance(error, app_commands.CheckFailure):
            text = str(error) or "You can't use this command here."
        else:
            log.error("slash command /%s failed", getattr(interaction.command, "name", "?"),
                      exc_info=error)
            text = ANSWER_FAILED
        with contextlib.suppress(discord.HTTPException):
            await self._refuse(interaction, text)


class CitaBot(CitaMixin, discord.Client):
    """Cita on one gateway connection."""


class ShardedCitaBot(CitaMixin, discord.AutoShardedClient):
    """Cita on several shards (CITA_SHARD_COUNT, optionally only CITA_SHARD_IDS in this process)."""


def make_client(settings: Settings, *, answerer, builder_factory=None, **client_kwargs) -> CitaMixin:
    if settings.shard_count > 0:
        client_kwargs.setdefault("shard_count", settings.shard_count)
        if settings.shard_ids:
            client_kwargs.setdefault("shard_ids", sorted(settings.shard_ids))
        return ShardedCitaBot(settings, answerer=answerer, builder_factory=builder_factory, **client_kwargs)
    return CitaBot(settings, answerer=answerer, builder_factory=builder_factory, **client_kwargs)


# -- the `cita bot` command ---------------------------------------------------------------------

def _fail(message: str, code: int = 1) -> int:
    print(f"cita: {message}", file=sys.stderr)
    return code


def run_bot(settings: Settings, invite_url: bool = False, **client_kwargs) -> int:
    """`cita bot`: run until stopped; or, with invite_url, print the invite URL. Returns the exit
    code. Startup problems (token, index, intents) are one line on stderr, never a traceback."""
    token = settings.discord_token.get_secret_value().strip()
    if token[:4].lower() == "bot ":  # pasted with the header prefix
        token = token[4:].strip()
    if invite_url:
        if not token:
            return _fail("DISCORD_TOKEN is not set: the invite URL needs the application id in the bot "
                         "token (Developer Portal > your application > Bot)", 2)
        try:
            print(invite_link(token))
        except StartupError as e:
            return _fail(str(e), 2)
        return 0
    if not token:
        return _fail("DISCORD_TOKEN is not set: put the bot token in .env (Developer Portal > your "
                     "application > Bot > Reset Token); see the README, section Discord", 2)
    if settings.shard_ids and not settings.shard_count:
        return _fail("CITA_SHARD_IDS needs CITA_SHARD_COUNT (the total number of shards)", 2)
    if any(i >= settings.shard_count for i in settings.shard_ids):
        return _fail(f"CITA_SHARD_IDS must be below CITA_SHARD_COUNT ({settings.shard_count})", 2)

    redact = _Redact(token)
    handlers = list(logging.getLogger().handlers)
    for h in handlers:
        h.addFilter(redact)
    try:
        return _run(settings, token, client_kwargs)
    finally:
        for h in handlers:
            h.removeFilter(redact)


def _load_index(answerer) -> None:
    from index.store import StoreError

    try:
        answerer.library.view()
        answerer.library.embedder.query("warm up")
    except StoreError as e:  # the first question reports it to its asker
        log.warning("could not load the index yet: %s", e)
    except Exception:
        log.exception("could not load the index")


def _run(settings: Settings, token: str, client_kwargs: dict) -> int:
    import aiohttp

    from index.embedding import EmbeddingModelError
    from index.store import IndexMissing, StoreError

    from cita.app import make_answerer, make_builder

    try:
        answerer = make_answerer(settings)
        manifest = answerer.library.check()  # fails now, not at the first question, if there is no index
    except IndexMissing:
        return _fail(f"there is no index yet in {settings.data_dir}: build it with `cita index rebuild`, "
                     "then start the bot again")
    except (StoreError, EmbeddingModelError) as e:
        return _fail(str(e))
    log.info("serving generation %s with %d articles", manifest.get("generation", "?"), len(manifest["articles"]))
    # load the index (chunks, lexical index) while connecting to Discord; a question that comes
    # first waits for it
    threading.Thread(target=_load_index, args=(answerer,), name="cita-load-index", daemon=True).start()
    store = answerer.library.store
    embedder = answerer.library.embedder
    client = make_client(settings, answerer=answerer,
                         builder_factory=lambda: make_builder(settings, embedder, store=store), **client_kwargs)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, lambda: asyncio.ensure_future(client.close()))
        async with client:
            await client.start(token)

    try:
        asyncio.run(main())
    except discord.LoginFailure:
        return _fail("Discord rejected DISCORD_TOKEN (401 Unauthorized): reset the token on the Bot page "
                     "of the developer portal and put the new one in .env")
    except discord.PrivilegedIntentsRequired:
        return _fail("the Message Content intent is not enabled for this bot: turn on \"Message Content "
                     "Intent\" under Bot > Privileged Gateway Intents in the Discord developer portal")
    except discord.ConnectionClosed as e:
        if e.code == 4004:
            return _fail("Discord rejected DISCORD_TOKEN when connecting (4004): reset the token on the "
                         "Bot page of the developer portal and put the new one in .env")
        if e.code in (4013, 4014):
            return _fail(f"Discord refused the bot's intents ({e.code}): enable \"Message Content Intent\" "
                         "under Bot > Privileged Gateway Intents in the developer portal")
        return _fail(f"Discord closed the connection ({e.code}: {e.reason or 'no reason given'})")
    except (discord.GatewayNotFound, discord.HTTPException, aiohttp.ClientError, OSError,
            asyncio.TimeoutError) as e:
        log.warning("cannot connect to Discord", exc_info=True)
        return _fail(f"cannot connect to Discord ({e.__class__.__name__}: {e}); check the network and try again")
    return 0
