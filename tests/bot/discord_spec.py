"""Discord's own description of its HTTP API (`../shared/discord/openapi.json`, from
discord/discord-api-spec, MIT) as a request validator for the stand-in.

`check(method, path, body)` finds the operation for a request path (`/channels/123/messages`),
validates the JSON body against that operation's request schema with `jsonschema` (the spec's
`$ref`s resolved within the document) and returns Discord's answer to an invalid body: HTTP 400
with code 50035 and the failing field, in Discord's error format. Snowflakes are accepted as
strings (the spec) or integers (discord.py sends some ids as JSON numbers, which Discord takes).

What a schema cannot say (the 6,000 characters across a message's embeds, an empty message) is
checked by `message_problem`.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

ROOT = Path(__file__).resolve().parents[2]
# the nearest shared/ beside the checkout or above it (a worktree may sit a level deeper)
SPEC_PATH = next((p / "shared" / "discord" / "openapi.json" for p in ROOT.parents
                  if (p / "shared" / "discord" / "openapi.json").is_file()),
                 ROOT.parent / "shared" / "discord" / "openapi.json")
API_PREFIX = "/api/v10"

EMBED_TOTAL_LIMIT = 6000
CONTENT_LIMIT = 2000  # a bot's message; the spec's 4,000 is for Nitro users


@dataclass(frozen=True)
class Invalid:
    """Discord's answer to a request it refuses: status, JSON body, and a one-line summary."""

    status: int
    body: dict
    summary: str


@dataclass(frozen=True)
class _Operation:
    method: str
    template: str
    pattern: re.Pattern
    schema: dict | None
    literal_segments: int


@functools.lru_cache(maxsize=1)
def _spec() -> dict:
    spec = json.loads(SPEC_PATH.read_text(encoding="utf-8"))
    spec = copy.deepcopy(spec)
    snowflake = spec["components"]["schemas"]["SnowflakeType"]
    spec["components"]["schemas"]["SnowflakeType"] = {
        "anyOf": [snowflake, {"type": "integer", "minimum": 0}]}
    return spec


@functools.lru_cache(maxsize=1)
def _root() -> Draft202012Validator:
    # the whole document as the root resource, so "#/components/schemas/..." resolves
    return Draft202012Validator(_spec())


@functools.lru_cache(maxsize=1)
def _operations() -> list[_Operation]:
    ops = []
    for template, item in _spec()["paths"].items():
        regex = "".join("[^/]+" if part.startswith("{") else re.escape(part)
                        for part in re.split(r"(\{[^}]+\})", template))
        literal = sum(1 for seg in template.split("/") if seg and not seg.startswith("{"))
        for method, op in item.items():
            if not isinstance(op, dict) or method == "parameters":
                continue
            schema = (op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema"))
            ops.append(_Operation(method.upper(), template, re.compile(regex), schema, literal))
    # "/webhooks/{id}/{token}/messages/@original" before "/webhooks/{id}/{token}/messages/{message_id}"
    ops.sort(key=lambda o: -o.literal_segments)
    return ops


def operation(method: str, path: str) -> _Operation | None:
    """The spec's operation for a request (path without the /api/v10 prefix), or None."""
    for op in _operations():
        if op.method == method and op.pattern.fullmatch(path):
            return op
    return None


def _error_body(field_path: list, code: str, message: str) -> dict:
    errors: dict = {"_errors": [{"code": code, "message": message}]}
    for key in reversed(field_path):
        errors = {str(key): errors}
    return {"code": 50035, "errors": errors if field_path else {"_errors": errors["_errors"]},
            "message": "Invalid Form Body"}


_CODES = {"maxLength": "BASE_TYPE_MAX_LENGTH", "minLength": "BASE_TYPE_MIN_LENGTH", "required": "BASE_TYPE_REQUIRED",
          "enum": "BASE_TYPE_CHOICES", "maxItems": "BASE_TYPE_MAX_LENGTH", "minItems": "BASE_TYPE_MIN_LENGTH",
          "type": "BASE_TYPE_BAD_TYPE", "maximum": "NUMBER_TYPE_MAX", "minimum": "NUMBER_TYPE_MIN"}


def check(method: str, path: str, body) -> Invalid | None:
    """None when the body is valid for its operation (or the spec describes none); else
    Discord's 400/50035 naming the failing field."""
    op = operation(method, path)
    if op is None or op.schema is None or body is None:
        return None
    validator = _root().evolve(schema=op.schema)
    error = best_match(validator.iter_errors(body))
    if error is None:
        return None
    error = _most_specific(error)
    field = list(error.absolute_path)
    if error.validator == "required":
        missing = re.match(r"'([^']+)' is a required property", error.message)
        if missing:
            field.append(missing.group(1))
    code = _CODES.get(str(error.validator), "BASE_TYPE_INVALID")
    message = _message(error)
    where = ".".join(str(p) for p in field) or "(body)"
    return Invalid(400, _error_body(field, code, message), f"{method} {op.template}: {where}: {message}")


# in a union (anyOf/oneOf), a failure deep inside the branch that fits beats "not valid under any"
_SHALLOW = {"type", "const", "enum", "anyOf", "oneOf"}


def _leaves(error):
    if not error.context:
        yield error
        return
    for sub in error.context:
        yield from _leaves(sub)


def _most_specific(error):
    if not error.context:
        return error
    return max(_leaves(error), key=lambda e: (len(e.absolute_path), e.validator not in _SHALLOW))


def _message(error) -> str:
    v, value = error.validator, error.validator_value
    if v == "maxLength" or v == "maxItems":
        return f"Must be {value} or fewer in length."
    if v == "minLength" or v == "minItems":
        return f"Must be {value} or more in length."
    if v == "required":
        return "This field is required"
    if v == "enum":
        return f"Value must be one of {value}."
    if v in ("maximum", "minimum"):
        return f"Int value should be {'less' if v == 'maximum' else 'greater'} than or equal to {value}."
    text = error.message
    return text if len(text) <= 200 else text[:200] + "…"


def _text(value) -> str:
    return value.strip() if isinstance(value, str) else ""


def embed_chars(embed: dict) -> int:
    """The characters Discord counts toward the 6,000 of a message: title, description, field
    names and values, footer text and author name."""
    n = len(_text(embed.get("title"))) + len(_text(embed.get("description")))
    for f in embed.get("fields") or []:
        n += len(_text(f.get("name"))) + len(_text(f.get("value")))
    n += len(_text((embed.get("footer") or {}).get("text")))
    n += len(_text((embed.get("author") or {}).get("name")))
    return n


def message_problem(body: dict, *, editing: bool = False) -> Invalid | None:
    """What the schema cannot say about a message body: the embeds' 6,000 characters in total,
    and (when creating) a message with nothing in it (50006)."""
    content = body.get("content")
    if isinstance(content, str) and len(content) > CONTENT_LIMIT:  # the schema allows 4,000 (Nitro users)
        return Invalid(400, _error_body(["content"], "BASE_TYPE_MAX_LENGTH",
                                        f"Must be {CONTENT_LIMIT} or fewer in length."),
                       f"content is {len(content)} characters > {CONTENT_LIMIT}")
    embeds = body.get("embeds") or []
    total = sum(embed_chars(e) for e in embeds if isinstance(e, dict))
    if total > EMBED_TOTAL_LIMIT:
        return Invalid(400, _error_body(["embeds"], "MAX_EMBED_SIZE_EXCEEDED",
                                        f"Embed size exceeds maximum size of {EMBED_TOTAL_LIMIT}"),
                       f"embeds total {total} characters > {EMBED_TOTAL_LIMIT}")
    for i, e in enumerate(embeds):
        for j, f in enumerate((e or {}).get("fields") or []):
            for key in ("name", "value"):
                if key in f and not _text(f.get(key)):
                    return Invalid(400, _error_body(["embeds", i, "fields", j, key], "BASE_TYPE_REQUIRED",
                                                    "This field is required"),
                                   f"embeds.{i}.fields.{j}.{key} is blank")
    if editing:
        return None
    has_something = (_text(body.get("content")) or any(embed_chars(e) or e.get("image") or e.get("thumbnail")
                                                        for e in embeds if isinstance(e, dict))
                     or body.get("sticker_ids") or body.get("attachments") or body.get("poll")
                     or body.get("components"))
    if not has_something:
        return Invalid(400, {"code": 50006, "message": "Cannot send an empty message"}, "empty message (50006)")
    return None
