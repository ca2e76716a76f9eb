"""The discord.py client Cita runs on: a `commands.Bot` (or `commands.AutoShardedBot` when sharded)
with the `CitaCog` added to it, the gateway intents and channel permissions Cita needs, and the
invite URL.

`create_bot` is the one place that builds the client; `shutdown` is the one way to stop it (the
answers in progress are sent first). `point_discord_py_at` is the one place that aims discord.py
at another API than Discord's (the test stand-in).
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

import aiohttp
import discord
import yarl
from discord.ext import commands

from .cog import NO_MENTIONS, SYNC_MAX_WAIT_S, CitaCog

if TYPE_CHECKING:
    from cita.settings import Settings

log = logging.getLogger(__name__)

# Cita has no prefix commands (slash commands and mentions only). commands.Bot needs a prefix; this
# one starts no message, so its prefix parser never matches and never reports "command not found".
NO_PREFIX = "\x00cita-has-no-prefix-commands\x00"


def required_intents(*, answer_dms: bool = False) -> discord.Intents:
    """Only the gateway events Cita uses: servers and their channels and threads, messages in
    servers and DMs (a DM gets at least a note), reactions for ratings (in DMs only when it answers
    there), and Message Content (privileged: needed for follow-ups in threads, which do not
    mention the bot). No typing, voice, invites, members, presences or the rest."""
    return discord.Intents(guilds=True, guild_messages=True, dm_messages=True, guild_reactions=True,
                           dm_reactions=answer_dms, message_content=True)


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


async def point_discord_py_at(api_url: str) -> None:
    """Aim discord.py at another HTTP API than Discord's (`CITA_DISCORD_API_URL`, tests only): its
    REST base and the gateway address that API gives (GET /gateway, which needs no token). These
    are process-wide settings of discord.py; nothing else in Cita changes them."""
    base = api_url.rstrip("/")
    discord.http.Route.BASE = base
    async with aiohttp.ClientSession() as session, session.get(base + "/gateway") as response:
        response.raise_for_status()
        url = (await response.json())["url"]
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(url)


async def create_bot(settings: Settings, *, answerer, builder_factory: Callable[[], object] | None = None,
                     refresher: Callable[[], object] | None = None, **client_kwargs) -> commands.Bot:
    """The client with Cita's cog on it, ready for `start(token)`. Call it in the event loop
    that will run the bot."""
    if settings.discord_api_url:
        await point_discord_py_at(settings.discord_api_url)
    # Cita never joins voice: no start-up warnings about voice libraries
    discord.VoiceClient.warn_nacl = False
    discord.VoiceClient.warn_dave = False
    client_kwargs.setdefault("intents", required_intents(answer_dms=settings.answer_dms))
    # a rate limit longer than this raises instead of being waited out (command sync: see the cog)
    client_kwargs.setdefault("max_ratelimit_timeout", SYNC_MAX_WAIT_S)
    client_kwargs.setdefault("allowed_mentions", NO_MENTIONS)
    client_kwargs.setdefault("chunk_guilds_at_startup", False)
    # Discord sends the servers' GUILD_CREATEs in one burst after READY; discord.py waits this
    # long after the last one before on_ready (2 s by default). Cita needs no member lists,
    # and a server that comes later is still served.
    client_kwargs.setdefault("guild_ready_timeout", 0.5)
    client_kwargs.setdefault("help_command", None)
    if settings.shard_count > 0:
        client_kwargs.setdefault("shard_count", settings.shard_count)
        if settings.shard_ids:
            client_kwargs.setdefault("shard_ids", sorted(settings.shard_ids))
        bot: commands.Bot = commands.AutoShardedBot(NO_PREFIX, **client_kwargs)
    else:
        bot = commands.Bot(NO_PREFIX, **client_kwargs)
    await bot.add_cog(CitaCog(bot, settings, answerer=answerer, builder_factory=builder_factory,
                              refresher=refresher))
    return bot


def cita_cog(bot: commands.Bot) -> CitaCog:
    return bot.get_cog(CitaCog.__cog_name__)


async def shutdown(bot: commands.Bot) -> None:
    """Stop taking questions, let the answers in progress be sent (a bounded wait), then close."""
    cog = cita_cog(bot)
    if cog is not None:
        await cog.drain()
    await bot.close()
