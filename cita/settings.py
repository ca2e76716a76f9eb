"""Cita's configuration: read once from the environment and `.env` into one typed object.

Every key is documented in `.env.example`. Nothing else in Cita reads `os.environ`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from dotenv import dotenv_values

CHECKOUT = Path(__file__).resolve().parents[1]


class SettingsError(ValueError):
    """A setting has a value Cita cannot use."""


def _bool(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off", ""}:
        return False
    raise SettingsError(f"{name} must be true or false, not {raw!r}")


def _number(name: str, raw: str, kind=float):
    try:
        return kind(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number, not {raw!r}") from None


def _ids(name: str, raw: str) -> frozenset[int]:
    out = set()
    for part in raw.replace(" ", ",").split(","):
        if part:
            out.add(_number(name, part, int))
    return frozenset(out)


@dataclass(frozen=True)
class Settings:
    data_dir: Path = CHECKOUT / "data"
    articles_dir: Path = CHECKOUT / "seeds"
    prompts_dir: Path = CHECKOUT / "prompts"
    embed_model: str = "multilingual-e5-small"
    chroma_url: str = ""
    chunk_tokens: int = 256
    chunk_overlap_tokens: int = 48
    chunk_vectors: str = "embedded"
    max_file_mb: float = 5.0
    abstain_threshold: float | None = None  # None: calibrated for the model
    # Discord
    discord_token: str = field(default="", repr=False)
    channels: frozenset[int] = frozenset()
    answer_in_threads: bool = True
    answer_dms: bool = False
    max_question_chars: int = 500
    cooldown_s: float = 10.0
    max_pending: int = 8
    shard_count: int = 0
    shard_ids: frozenset[int] = frozenset()
    discord_api_url: str = ""
    # Optional LLM (any OpenAI-compatible endpoint)
    llm_base_url: str = ""
    llm_model: str = ""
    llm_api_key: str = field(default="", repr=False)
    llm_timeout_s: float = 20.0
    log_level: str = "INFO"

    @property
    def llm_enabled(self) -> bool:
        return bool(self.llm_base_url and self.llm_model)

    @property
    def feedback_path(self) -> Path:
        return self.data_dir / "feedback.jsonl"


def load_settings(env: dict[str, str] | None = None, dotenv_path: Path | None = None) -> Settings:
    """Build the settings from `env` (default: `.env` in the working directory or checkout,
    overridden by the process environment)."""
    if env is None:
        path = dotenv_path or (Path.cwd() / ".env")
        if not path.exists():
            path = CHECKOUT / ".env"
        env = {k: v for k, v in dotenv_values(path).items() if v is not None} if path.exists() else {}
        env.update(os.environ)

    def get(key: str, default: str = "") -> str:
        return env.get(key, default).strip()

    kw: dict = {}
    paths = {"CITA_DATA_DIR": "data_dir", "CITA_ARTICLES_DIR": "articles_dir", "CITA_PROMPTS_DIR": "prompts_dir"}
    for key, attr in paths.items():
        if get(key):
            kw[attr] = Path(get(key)).expanduser().resolve()
    strings = {
        "CITA_EMBED_MODEL": "embed_model",
        "CITA_CHUNK_VECTORS": "chunk_vectors",
        "CHROMA_URL": "chroma_url",
        "DISCORD_TOKEN": "discord_token",
        "CITA_DISCORD_API_URL": "discord_api_url",
        "CITA_LLM_BASE_URL": "llm_base_url",
        "CITA_LLM_MODEL": "llm_model",
        "CITA_LLM_API_KEY": "llm_api_key",
        "CITA_LOG_LEVEL": "log_level",
    }
    for key, attr in strings.items():
        if get(key):
            kw[attr] = get(key)
    ints = {
        "CITA_CHUNK_TOKENS": "chunk_tokens",
        "CITA_CHUNK_OVERLAP_TOKENS": "chunk_overlap_tokens",
        "CITA_MAX_QUESTION_CHARS": "max_question_chars",
        "CITA_MAX_PENDING": "max_pending",
        "CITA_SHARD_COUNT": "shard_count",
    }
    for key, attr in ints.items():
        if get(key):
            kw[attr] = _number(key, get(key), int)
    floats = {
        "CITA_MAX_FILE_MB": "max_file_mb",
        "CITA_ABSTAIN_THRESHOLD": "abstain_threshold",
        "CITA_COOLDOWN_S": "cooldown_s",
        "CITA_LLM_TIMEOUT_S": "llm_timeout_s",
    }
    for key, attr in floats.items():
        if get(key):
            kw[attr] = _number(key, get(key))
    for key, attr in {"CITA_ANSWER_IN_THREADS": "answer_in_threads", "CITA_ANSWER_DMS": "answer_dms"}.items():
        if get(key):
            kw[attr] = _bool(key, get(key))
    for key, attr in {"CITA_CHANNELS": "channels", "CITA_SHARD_IDS": "shard_ids"}.items():
        if get(key):
            kw[attr] = _ids(key, get(key))
    settings = Settings(**kw)
    if settings.chunk_overlap_tokens >= settings.chunk_tokens:
        raise SettingsError("CITA_CHUNK_OVERLAP_TOKENS must be smaller than CITA_CHUNK_TOKENS")
    if settings.chunk_vectors not in ("embedded", "sentence-mean"):
        raise SettingsError(f"CITA_CHUNK_VECTORS must be embedded or sentence-mean, not {settings.chunk_vectors!r}")
    if settings.chroma_url and not settings.chroma_url.startswith(("http://", "https://")):
        raise SettingsError(f"CHROMA_URL must look like http://host:port, not {settings.chroma_url!r}")
    return settings
