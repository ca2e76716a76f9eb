"""Cita's configuration: read once from the environment and `.env` into one typed object.

Every key is documented in `.env.example` (a test checks it against `Settings.model_fields`).
Nothing else in Cita reads `os.environ`. A key is `CITA_` + the field name in capitals unless the
field says otherwise (`CHROMA_URL`, `DISCORD_TOKEN`), so adding a setting is one field here and
one line in `.env.example`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AliasGenerator, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

CHECKOUT = Path(__file__).resolve().parents[1]


class SettingsError(ValueError):
    """A setting has a value Cita cannot use."""


def env_name(field: str) -> str:
    """The environment variable of a settings field (when the field gives no other name)."""
    return "CITA_" + field.upper()


Ids = Annotated[frozenset[int], NoDecode]  # comma- or space-separated in the environment, not JSON


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        alias_generator=AliasGenerator(validation_alias=env_name),
        validate_by_name=True, validate_by_alias=True,  # Settings(cooldown_s=...) in code and tests
        case_sensitive=True, env_ignore_empty=True, extra="ignore", frozen=True,
    )

    data_dir: Path = CHECKOUT / "data"
    articles_dir: Path = CHECKOUT / "seeds"
    prompts_dir: Path = CHECKOUT / "prompts"
    embed_model: str = "multilingual-e5-small"
    chroma_url: str = Field("", validation_alias="CHROMA_URL")
    chunk_tokens: int = 256
    chunk_overlap_tokens: int = 48
    chunk_vectors: Literal["embedded", "sentence-mean"] = "embedded"
    max_file_mb: float = 5.0
    abstain_threshold: float | None = None  # None: calibrated for the model
    # Feeds (index/feeds.py)
    refresh_minutes: float = 0.0  # the bot refreshes the feeds this often; 0: never
    allow_private_urls: bool = False  # feeds and pages on loopback/private/link-local addresses
    fetch_timeout_s: float = 10.0  # per read; a whole response gets three times this
    # Discord
    discord_token: SecretStr = Field(SecretStr(""), validation_alias="DISCORD_TOKEN")
    channels: Ids = frozenset()
    ask_channels: Ids = frozenset()  # text or forum channels where every new message or post is a question
    answer_in_threads: bool = True
    answer_dms: bool = False
    max_question_chars: int = 500
    cooldown_s: float = 10.0
    max_pending: int = 8
    shard_count: int = 0
    shard_ids: Ids = frozenset()
    discord_api_url: str = ""
    # Optional LLM (any OpenAI-compatible endpoint)
    llm_base_url: str = ""
    llm_model: str = ""
    llm_api_key: SecretStr = SecretStr("")
    llm_timeout_s: float = 20.0
    log_level: str = "INFO"

    @model_validator(mode="before")
    @classmethod
    def _blank_is_unset(cls, values: Any) -> Any:
        """Values are stripped; a key set to nothing (as in a copied `.env.example`) keeps its default."""
        if not isinstance(values, dict):
            return values
        out = {}
        for key, value in values.items():
            if isinstance(value, str):
                value = value.strip()
                if not value:
                    continue
            out[key] = value
        return out

    @field_validator("channels", "ask_channels", "shard_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part for part in value.replace(" ", ",").split(",") if part]
        return value

    @field_validator("data_dir", "articles_dir", "prompts_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        if self.chunk_overlap_tokens >= self.chunk_tokens:
            raise SettingsError("CITA_CHUNK_OVERLAP_TOKENS must be smaller than CITA_CHUNK_TOKENS")
        if self.chroma_url and not self.chroma_url.startswith(("http://", "https://")):
            raise SettingsError(f"CHROMA_URL must look like http://host:port, not {self.chroma_url!r}")
        return self

    @classmethod
    def env_names(cls) -> dict[str, str]:
        """Field name -> its environment variable, for every setting."""
        return {name: field.validation_alias for name, field in cls.model_fields.items()}

    @property
    def llm_enabled(self) -> bool:
        return bool(self.llm_base_url and self.llm_model)

    @property
    def feedback_path(self) -> Path:
        return self.data_dir / "feedback.jsonl"

    def replace(self, **changes: Any) -> Settings:
        """A copy with some fields changed (by field name), validated like the environment's values."""
        try:
            return type(self).model_validate({**dict(self), **changes})
        except ValidationError as e:
            raise _settings_error(e) from None


def _settings_error(error: ValidationError) -> SettingsError:
    """The first problem as one short line naming the key (never pydantic's multi-line report)."""
    problem = error.errors(include_url=False)[0]
    cause = (problem.get("ctx") or {}).get("error")
    if isinstance(cause, SettingsError):
        return cause
    key = str(problem["loc"][0]) if problem["loc"] else "a setting"
    value = problem.get("input")
    kind = problem["type"]
    if kind in ("int_parsing", "float_parsing", "int_from_float", "finite_number"):
        return SettingsError(f"{key} must be a number, not {value!r}")
    if kind == "bool_parsing":
        return SettingsError(f"{key} must be true or false, not {value!r}")
    if kind == "literal_error":
        expected = problem["ctx"]["expected"].replace("'", "")
        return SettingsError(f"{key} must be {expected}, not {value!r}")
    return SettingsError(f"{key}: {problem['msg']} (got {value!r})")


def _dotenv(dotenv_path: Path | None) -> Path | None:
    path = dotenv_path or (Path.cwd() / ".env")
    if not path.exists():
        path = CHECKOUT / ".env"
    return path if path.exists() else None


def load_settings(env: dict[str, str] | None = None, dotenv_path: Path | None = None) -> Settings:
    """Build the settings from `env` alone when given (tests, benchmarks); otherwise from `.env`
    (in the working directory, else the checkout) overridden by the process environment.
    A bad value raises SettingsError with one line naming the key."""
    try:
        if env is not None:
            return Settings.model_validate(env)  # model_validate reads no environment
        return Settings(_env_file=_dotenv(dotenv_path))
    except ValidationError as e:
        raise _settings_error(e) from None
