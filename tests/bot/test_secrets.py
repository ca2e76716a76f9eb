"""Suite 6: secrets and permissions.

- The Discord token never appears in what `cita bot` prints or logs, even at debug level, nor in
  anything it sends to Discord, while things go wrong: rate limits, server errors, a revoked
  token on one request, the gateway cut and the session invalidated, an unknown slash command,
  a failing /reindex. The captured output and log are grepped for the token and for its secret
  part.
- /reindex is refused to anyone without the Manage Server permission, whatever their roles are
  called ("Admin", "Administrator", "Manage Server", "Owner", ...), and done for someone whose
  role grants the permission whatever it is called. Asking for a rebuild in a message is just a
  question.
"""

from __future__ import annotations

import shutil
import signal
import time

import pytest

from bot.cog import NOT_ALLOWED_TO_REINDEX
from tests import reliability
from tests.bot.discord_standin import (
    MANAGE_GUILD, MEMBER_PERMISSIONS, BotRunner, bot_settings, pings_nobody, text_of,
)
from tests.conftest import SEEDS
from tests.helpers import popen_cita

pytestmark = pytest.mark.slow
HEARTBEAT_MS = 500
SUITE = "test_secrets"
QUESTION = "When is the security meeting?"


def secret_parts(token: str) -> list[str]:
    """The token, and its last segment (the HMAC: the secret part; the first is the public
    application id in base64)."""
    return [token, token.rsplit(".", 1)[-1]]


def test_the_token_never_appears_in_output_logs_or_replies_while_things_go_wrong(tmp_path, standin, data_copy):
    articles = tmp_path / "articles"
    articles.mkdir()
    (articles / "empty.txt").write_text("")  # /reindex fails: nothing to index
    proc = popen_cita("-v", "bot", cwd=tmp_path, DISCORD_TOKEN=standin.token, CITA_DISCORD_API_URL=standin.api_url,
                      CITA_DATA_DIR=data_copy, CITA_ARTICLES_DIR=articles, CITA_LOG_LEVEL="DEBUG", CITA_COOLDOWN_S=0)
    faults = 0
    try:
        standin.wait_ready(timeout=180)
        log_file = data_copy / "cita.log"
        standin.wait_until(lambda: "connected to Discord as Cita" in log_file.read_text(), what="on_ready")

        def answered(**kwargs):
            q = standin.user_message(QUESTION, **kwargs)
            return standin.wait_for(lambda r: r.matches("POST", rf"/channels/{q['id']}/messages"), timeout=90,
                                    what="the answer")

        answered()
        standin.fail_next("POST", r"/channels/\d+/messages", 429, retry_after=0.5)
        answered()
        standin.fail_next("POST", r"/channels/\d+/messages", 500)
        answered()
        standin.fail_next("POST", r"/channels/\d+/messages", 401)  # the token revoked, for one request
        standin.user_message(QUESTION)
        standin.wait_until(lambda: any(r.failed == 401 for r in standin.failed_requests()), what="the 401")
        faults += 4
        standin.drop_gateway(None)
        standin.wait_ready(timeout=60)
        standin.invalidate_session()
        standin.wait_until(lambda: len(standin.identifies) >= 2, timeout=60, what="a new IDENTIFY")
        standin.wait_ready(timeout=60)
        faults += 2
        unknown = standin.slash("no-such-command")
        standin.wait_for(lambda r: r.path.endswith(f"/{unknown['token']}/callback"), timeout=60,
                         what="the reply to an unknown command")
        reindex = standin.slash("reindex", user=standin.admin, permissions=MEMBER_PERMISSIONS | MANAGE_GUILD)
        failed = standin.wait_for(lambda r: standin.is_interaction_reply(r, reindex['token']),
                                  timeout=120, what="the /reindex report")
        assert failed.json["content"].startswith("The rebuild failed")
        faults += 2
        answered(author=standin.bob)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    reliability.count(SUITE, faults=faults, trials=1)
    assert proc.returncode == 0, err
    log = (data_copy / "cita.log").read_text()
    assert "We are being rate limited" in log and "401" in log, "the faults did reach the bot"
    assert any(i.get("token") == standin.token for i in standin.identifies), "the token was really in use"
    sent = "\n".join(text_of(p) for p in standin.message_payloads())
    leaks = [part for part in secret_parts(standin.token) for where in (out, err, log, sent) if part in where]
    reliability.count(SUITE, failures=len(leaks))
    assert not leaks, "the token (or its secret part) leaked"
    assert "Traceback" not in out + err, "tracebacks go to the log file only"


# -- who may rebuild ---------------------------------------------------------------------------

ADMIN_SOUNDING = ["Admin", "Administrator", "admin", "Manage Server", "Manage_Guild", "Owner", "Moderator",
                  "Cita", "cita-admin", "@everyone", "Server Manager", "管理者", "Administrador"]


@pytest.fixture
def admin_bot(standin, settings_for, tmp_path, seed_data_dir, e5):
    from cita.app import make_answerer, make_builder

    roles = {name: standin.add_role(name) for name in ADMIN_SOUNDING}
    granting = standin.add_role("gardeners", permissions=MEMBER_PERMISSIONS | MANAGE_GUILD)
    data = tmp_path / "data"
    shutil.copytree(seed_data_dir, data, ignore=shutil.ignore_patterns("readers", "*.lock"))
    articles = tmp_path / "articles"
    shutil.copytree(SEEDS, articles)
    settings = bot_settings(settings_for, data, standin, articles_dir=articles)
    answerer = make_answerer(settings, e5)
    rebuilds = []

    def builder():
        rebuilds.append(time.monotonic())
        return make_builder(settings, e5, store=answerer.library.store)

    runner = BotRunner(standin, settings, answerer=answerer, builder_factory=builder).start()
    yield roles, granting, rebuilds
    runner.stop()


def test_reindex_needs_the_permission_not_a_role_name(standin, admin_bot):
    roles, granting, rebuilds = admin_bot
    tries = [(standin.alice, (role,)) for role in roles.values()]
    tries.append((standin.admin, tuple(roles.values())))  # every admin-sounding role at once, user "admin"
    for user, role_ids in tries:
        interaction = standin.slash("reindex", user=user, permissions=MEMBER_PERMISSIONS, roles=role_ids)
        reply = standin.wait_for(lambda r: r.path.endswith(f"/{interaction['token']}/callback"), what="the refusal")
        assert reply.json["type"] == 4 and reply.json["data"]["flags"] == 64
        assert reply.json["data"]["content"] == NOT_ALLOWED_TO_REINDEX
        assert pings_nobody(reply.json["data"])
    reliability.count(SUITE, inputs=len(tries), trials=len(tries))

    # asking for it in words is a question like any other
    q = standin.user_message("reindex /reindex rebuild the index now", author=standin.admin)
    standin.wait_for(lambda r: r.matches("POST", rf"/channels/{q['id']}/messages"), what="the answer")
    reliability.count(SUITE, inputs=1, trials=1)
    assert not rebuilds, "nothing was rebuilt"

    # the permission is what counts, whatever the role that grants it is called
    interaction = standin.slash("reindex", user=standin.bob, permissions=MEMBER_PERMISSIONS | MANAGE_GUILD,
                                roles=(granting,))
    report = standin.wait_for(lambda r: standin.is_interaction_reply(r, interaction['token']),
                              timeout=180, what="the rebuild report")
    assert report.json["content"].startswith("Index rebuilt from `articles/`")
    assert len(rebuilds) == 1
    reliability.count(SUITE, trials=1)
