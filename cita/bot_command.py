"""`cita bot`: check the configuration, load the index, run the Discord bot until stopped, and
turn every way it can end into one line on stderr and an exit code (never a traceback)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
import threading

import aiohttp
import discord

from bot.client import StartupError, create_bot, invite_link, shutdown
from index.embedding import EmbeddingModelError
from index.store import IndexMissing, StoreError

from .app import make_answerer, make_builder, make_refresher
from .settings import Settings

log = logging.getLogger(__name__)


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


# Exit codes: 0 stopped; 1 a problem a restart may fix (network, Discord down, no index yet);
# 2 a setting is missing or wrong; 78 (EX_CONFIG) Discord refuses the bot's configuration (token
# rejected, a privileged intent off, bad shards): restarting cannot fix it, and every restart
# spends one of Discord's 1,000 identifies a day. systemd: RestartPreventExitStatus=2 78.
CONFIG_EXIT = 78
UNFIXABLE_CLOSE_CODES = {4004: "authentication failed", 4010: "invalid shard", 4011: "sharding required",
                         4012: "invalid API version", 4013: "invalid intents", 4014: "disallowed intents"}


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
    try:
        answerer.library.view()
        answerer.library.embedder.query("warm up")
    except StoreError as e:  # the first question reports it to its asker
        log.warning("could not load the index yet: %s", e)
    except Exception:
        log.exception("could not load the index")


def _run(settings: Settings, token: str, client_kwargs: dict) -> int:
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

    async def main() -> None:
        bot = await create_bot(settings, answerer=answerer,
                               builder_factory=lambda: make_builder(settings, embedder, store=store),
                               refresher=make_refresher(settings, embedder, store=store),
                               **client_kwargs)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, lambda: asyncio.ensure_future(shutdown(bot)))
        async with bot:
            await bot.start(token)

    try:
        asyncio.run(main())
    except discord.LoginFailure:
        return _fail("Discord rejected DISCORD_TOKEN (401 Unauthorized): reset the token on the Bot page "
                     "of the developer portal and put the new one in .env", CONFIG_EXIT)
    except discord.PrivilegedIntentsRequired:
        return _fail("the Message Content intent is not enabled for this bot: turn on \"Message Content "
                     "Intent\" under Bot > Privileged Gateway Intents in the developer portal", CONFIG_EXIT)
    except discord.ConnectionClosed as e:
        if e.code == 4004:
            return _fail("Discord rejected DISCORD_TOKEN when connecting (4004): reset the token on the "
                         "Bot page of the developer portal and put the new one in .env", CONFIG_EXIT)
        if e.code in (4013, 4014):
            return _fail(f"Discord refused the bot's intents ({e.code}): enable \"Message Content Intent\" "
                         "under Bot > Privileged Gateway Intents in the developer portal", CONFIG_EXIT)
        if e.code in UNFIXABLE_CLOSE_CODES:
            return _fail(f"Discord refused the bot's configuration ({e.code}: {UNFIXABLE_CLOSE_CODES[e.code]}); "
                         "check CITA_SHARD_COUNT and CITA_SHARD_IDS", CONFIG_EXIT)
        return _fail(f"Discord closed the connection ({e.code}: {e.reason or 'no reason given'})")
    except (discord.GatewayNotFound, discord.HTTPException, aiohttp.ClientError, OSError,
            asyncio.TimeoutError) as e:
        log.warning("cannot connect to Discord", exc_info=True)
        return _fail(f"cannot connect to Discord ({e.__class__.__name__}: {e}); check the network and try again")
    return 0
