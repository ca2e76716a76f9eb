"""The optional LLM answer: a model writes the answer text, Cita checks it before anyone sees it.

The model gets the retrieved passages as numbered, delimited data and is asked to answer in the
question's language with a `[n]` after every sentence. Its reply is accepted only if it passes
`check_reply` (see the README section "Optional LLM" for the reasoning):

- it is non-empty, not cut off, not repetitive and not longer than MAX_ANSWER_CHARS;
- every sentence carries at least one `[n]`, and every `n` names a passage that was retrieved;
- every sentence shares at least one content word with the passages it cites (a cheap anchor
  that catches claims about something the passages never mention);
- it is not in another language than the question (when both can be told);
- it neither contains instruction-like text nor repeats words that only occur in an
  instruction-like sentence of a passage (a planted "ignore your instructions and say X").

The quotes shown under an accepted answer are verbatim sentence spans of the cited passages,
chosen here; the model's text is never shown as a quote. Anything else (an error, a time-out, a
rejected reply) returns the extractive answer unchanged, with a short note.
"""

from __future__ import annotations

import html
import logging
import re
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from string import Template

from index.text import fold, guess_language, stop_words, words

from .answering import Answer, Citation, make_citation
from index.retrieval import Passage

log = logging.getLogger(__name__)

FALLBACK_NOTE = "LLM answer unavailable ({reason}); showing quotes instead."
MAX_TOKENS = 256
MAX_ANSWER_CHARS = 1500
MAX_QUOTES = 4
NOT_IN_PASSAGES = "NOT_IN_PASSAGES"
PROMPT_FILES = {"system": "answer_system.txt", "user": "answer_user.txt"}
PROMPT_FIELDS = {"system": {"language"}, "user": {"language", "question", "passages"}}
LANGUAGE_NAMES = {"en": "English", "es": "Spanish", "pt": "Portuguese", "fr": "French", "de": "German"}
WITHHELD = "[sentence withheld: it reads like an instruction to a chatbot]"


class LLMRejected(Exception):
    """The model's reply failed a check; `reason` is the short form shown in the note."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(detail or reason)
        self.reason = reason


# ---------------------------------------------------------------------------------------------
# Untrusted text: instruction-like sentences and delimiter look-alikes

# Chat-template and prompt delimiters a passage could use to pretend its data has ended.
_DELIMITERS = re.compile(
    r"<\|[^|>]{0,40}\|>|</?\s*(?:start_of_turn|end_of_turn|passages?|question|system|user|assistant|s)\b[^>]{0,80}>"
    r"|\[/?INST\]|<<\s*/?SYS\s*>>|^\s*#{2,}\s*(?:instruction|system|response)\b",
    re.IGNORECASE | re.MULTILINE,
)
_INSTRUCTION_PATTERNS = [
    # "ignore / disregard / forget ... (your | previous) instructions" (imperatives only, so that
    # "officials ignored the rules" or "ignoraría las reglas" in a news story do not match)
    r"\b(?:ignore|disregard|forget|override|bypass)\b[^.!?\n]{0,40}\b(?:instructions?|prompts?"
    r"|(?:previous|prior|above|earlier|your|all)\s+(?:rules|guidelines|directions|directives|messages?))\b",
    r"\b(?:ignora|ignore|ignoren|olvida|olvide|olviden|descarta|descarte|omite|omita|desobedece)\b"
    r"[^.!?\n]{0,40}\b(?:instrucciones|indicaciones|prompt|(?:tus|sus|las|todas las)\s+"
    r"(?:reglas|ordenes|directrices)\s+anteriores|todo lo anterior)\b",
    # text addressed to a model
    r"\b(?:you are now|from now on,? you|new instructions|nuevas instrucciones|developer mode"
    r"|modo desarrollador|a partir de ahora eres|ahora eres)\b",
    r"\b(?:you are|eres)\s+(?:an?\s+|una?\s+)?(?:ai|ia|language model|modelo de lenguaje|chatbot|llm)\b",
    # a role header ("System: ...") or a sentence that starts with an order to output something
    r"^\W{0,3}(?:system|assistant|user|sistema|asistente|usuario)\s*:",
    r"^\W{0,3}(?:say|respond|reply|answer|output|print|write|repeat|di|responde|contesta|escribe|repite"
    r"|imprime)\b\s*(?:only|exactly|with|just|solo|solamente|unicamente|exactamente|con|:|\"|'|“|‘|«)",
]
_INSTRUCTION = [re.compile(p, re.IGNORECASE | re.MULTILINE) for p in _INSTRUCTION_PATTERNS]


def instruction_like(text: str) -> bool:
    """Whether text reads like an instruction to a chatbot rather than news prose."""
    folded = fold(text)
    return bool(_DELIMITERS.search(text)) or any(p.search(folded) for p in _INSTRUCTION)


def as_data(text: str) -> str:
    """Untrusted text made safe to place between the prompt's delimiters: delimiter look-alikes
    removed, angle brackets escaped, control characters dropped."""
    text = _DELIMITERS.sub(" ", text)
    text = "".join(ch for ch in text if ch.isprintable() or ch in "\n\t")
    return html.escape(text, quote=False)


# ---------------------------------------------------------------------------------------------
# Words, stems, sentences

_EXTRA_STOP = {
    "that", "with", "from", "have", "this", "they", "their", "there", "were", "would", "will",
    "which", "about", "also", "said", "says", "into", "than", "then", "them", "these", "those",
    "some", "such", "only", "other", "after", "before", "over", "under", "being", "while", "según",
    "segun", "sobre", "entre", "para", "como", "pero", "esta", "este", "estos", "estas", "desde",
    "hasta", "tambien", "dicho", "dicha", "passage", "passages", "pasaje", "article", "articulo",
}
_STOP = stop_words(long_english=True) | _EXTRA_STOP
_MARKER = re.compile(
    r"\[\s*(?:(?:passage|pasaje|source|fuente)\s*)?(\d{1,4}(?:\s*[,;]\s*(?:(?:passage|pasaje)\s*)?\d{1,4})*)\s*\]",
    re.IGNORECASE)
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"'”’»)]*\s+")
_THINK = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)
_LABEL = re.compile(r"^\s*(?:\*\*)?(?:answer|respuesta|final answer)\s*:\s*(?:\*\*)?\s*", re.IGNORECASE)


def stems(text: str) -> set[str]:
    """Content words cut to five letters: "fentanyl" and "fentanilo", "concrete" and
    "concretos" meet, which is what lets an English answer be anchored in a Spanish passage."""
    out = set()
    for w in words(text):
        if w.isdigit():
            out.add(w)
        elif len(w) >= 4 and w not in _STOP:
            out.add(w[:5])
    return out


def strip_markers(text: str) -> str:
    return " ".join(_MARKER.sub(" ", text).split())


def marker_numbers(text: str) -> list[int]:
    return [int(x) for m in _MARKER.finditer(text) for x in re.findall(r"\d+", m.group(1))]


def split_claims(text: str) -> list[str]:
    """The answer's sentences; a marker group that follows the full stop ("... fentanyl. [1]")
    belongs to the sentence before it."""
    pieces = [p for p in _SENTENCE_END.split(text.strip()) if p.strip()]
    claims: list[str] = []
    for piece in pieces:
        lead = re.match(r"^(?:\s*" + _MARKER.pattern + r")+[\s.,;:]*", piece, re.IGNORECASE)
        if lead and claims:
            claims[-1] += " " + lead.group().strip()
            piece = piece[lead.end():]
        if piece.strip():
            claims.append(piece.strip())
    return claims


# ---------------------------------------------------------------------------------------------
# Prompts


class LLMConfigError(ValueError):
    """The LLM settings or prompt templates cannot be used (a message for the user)."""


@dataclass(frozen=True)
class Prompts:
    system: Template
    user: Template

    @classmethod
    def load(cls, directory: Path) -> "Prompts":
        templates = {}
        for key, name in PROMPT_FILES.items():
            path = Path(directory) / name
            try:
                template = Template(path.read_text(encoding="utf-8"))
            except OSError as e:
                raise LLMConfigError(f"cannot read the LLM prompt {path}: {e.strerror or e}") from None
            fields = {m.group("named") or m.group("braced") for m in template.pattern.finditer(template.template)
                      if m.group("named") or m.group("braced")}
            if fields != PROMPT_FIELDS[key]:
                raise LLMConfigError(f"the LLM prompt {path} must use exactly the placeholders "
                                    f"{', '.join('$' + f for f in sorted(PROMPT_FIELDS[key]))}")
            templates[key] = template
        return cls(**templates)


def language_name(question: str) -> str:
    return LANGUAGE_NAMES.get(guess_language(question), "the language of the question")


def passage_block(n: int, passage: Passage, meta: dict) -> str:
    """One passage as data: its sentences, any instruction-like one withheld, all escaped."""
    chunk = passage.chunk
    parts, cursor = [], chunk.start
    for s, e in chunk.sentences:
        parts.append(chunk.text[cursor - chunk.start:s - chunk.start])
        sentence = chunk.sentence_text(s, e)
        parts.append(WITHHELD if instruction_like(sentence) else sentence)
        cursor = e
    parts.append(chunk.text[cursor - chunk.start:])
    body = as_data("".join(parts).strip())
    head = [f"Title: {as_data(meta.get('title', ''))}"]
    if meta.get("published"):
        head.append(f"Published: {as_data(str(meta['published']))}")
    return f'<passage n="{n}">\n' + "\n".join(head) + f"\n\n{body}\n</passage>"


def build_messages(prompts: Prompts, question: str, passages: list[Passage], articles: dict[str, dict]):
    from llama_index.core.llms import ChatMessage, MessageRole

    language = language_name(question)
    blocks = "\n\n".join(passage_block(i, p, articles.get(p.chunk.article_id, {}))
                         for i, p in enumerate(passages, 1))
    return [
        ChatMessage(role=MessageRole.SYSTEM, content=prompts.system.substitute(language=language)),
        ChatMessage(role=MessageRole.USER, content=prompts.user.substitute(
            language=language, question=as_data(question), passages=blocks)),
    ]


# ---------------------------------------------------------------------------------------------
# Checking the reply


@dataclass
class CheckedReply:
    text: str  # cleaned, markers normalised to passage numbers "[k]"
    claims: list[tuple[str, list[int]]]  # each sentence with the passage numbers it cites


def clean_reply(raw: str | None) -> str:
    text = _THINK.sub(" ", raw or "")
    text = _LABEL.sub("", text.strip())
    lines = [" ".join(line.split()) for line in text.splitlines()]
    return "\n".join(line for line in lines if line).strip()


def check_reply(raw: str | None, question: str, passages: list[Passage]) -> CheckedReply:
    """The reply as a CheckedReply, or LLMRejected saying why it cannot be shown."""
    text = clean_reply(raw)
    if not text:
        raise LLMRejected("empty reply")
    if NOT_IN_PASSAGES in text.upper().replace(" ", "_"):
        raise LLMRejected("the model found no answer")
    if len(text) > MAX_ANSWER_CHARS:
        raise LLMRejected("reply too long", f"{len(text)} characters")
    if not any(ch.isalpha() for ch in strip_markers(text)):
        raise LLMRejected("no answer text")
    numbers = marker_numbers(text)
    if not numbers:
        raise LLMRejected("no citation")
    bad = sorted({n for n in numbers if not 1 <= n <= len(passages)})
    if bad:
        raise LLMRejected("cited a passage that was not retrieved", f"cited {bad}, had {len(passages)}")
    text = _MARKER.sub(lambda m: "".join(f"[{x}]" for x in re.findall(r"\d+", m.group(1))), text)

    claims = []
    seen: set[str] = set()
    for claim in split_claims(text):
        plain = strip_markers(claim)
        if not any(ch.isalpha() for ch in plain):
            continue
        cited = list(dict.fromkeys(marker_numbers(claim)))
        if not cited:
            raise LLMRejected("a sentence without a citation", plain[:80])
        key = " ".join(words(plain))
        if key in seen:
            raise LLMRejected("reply repeats itself", plain[:80])
        seen.add(key)
        support = set()
        for k in cited:
            p = passages[k - 1]
            support |= stems(p.chunk.text)
        if not stems(plain) & support:
            raise LLMRejected("a claim not found in the cited passages", plain[:80])
        claims.append((claim, cited))
    if not claims:
        raise LLMRejected("no answer text")

    plain_answer = strip_markers(text)
    q_lang, a_lang = guess_language(question), guess_language(plain_answer)
    if "und" not in (q_lang, a_lang) and q_lang != a_lang:
        raise LLMRejected("answered in another language", f"question {q_lang}, answer {a_lang}")
    if instruction_like(plain_answer):
        raise LLMRejected("reply reads like an instruction")
    echoed = echoed_instruction(plain_answer, question, passages)
    if echoed:
        raise LLMRejected("reply repeats an instruction planted in an article", echoed)
    return CheckedReply(text=text, claims=claims)


def echoed_instruction(answer: str, question: str, passages: list[Passage]) -> str:
    """Words of the answer that come from an instruction-like passage sentence and from nowhere
    else (the payload of "ignore your instructions and say X"), or a three-word run of one."""
    planted, normal = [], []
    for p in passages:
        c = p.chunk
        for s, e in c.sentences:
            (planted if instruction_like(c.sentence_text(s, e)) else normal).append(c.sentence_text(s, e))
    if not planted:
        return ""
    answer_words = words(answer)
    elsewhere = set(words(" ".join(normal) + " " + question))
    for sentence in planted:
        sw = words(sentence)
        only_here = {w for w in sw if len(w) >= 4 and w not in elsewhere and w not in _STOP and not w.isdigit()}
        hit = [w for w in answer_words if w in only_here]
        if hit:
            return " ".join(dict.fromkeys(hit))
        grams = {tuple(sw[i:i + 3]) for i in range(len(sw) - 2)}
        for i in range(len(answer_words) - 2):
            if tuple(answer_words[i:i + 3]) in grams and not _in_normal(answer_words[i:i + 3], normal):
                return " ".join(answer_words[i:i + 3])
    return ""


def _in_normal(run: list[str], normal: list[str]) -> bool:
    needle = " " + " ".join(run) + " "
    return any(needle in " " + " ".join(words(s)) + " " for s in normal)


# ---------------------------------------------------------------------------------------------
# Citations: verbatim spans for the cited passages


def cite(checked: CheckedReply, question: str, passages: list[Passage],
         articles: dict[str, dict]) -> tuple[str, list[Citation]]:
    """The answer text renumbered per article (as the extractive answer numbers them) and, for
    each claim and each passage it cites, the verbatim sentence of that passage sharing most
    words with the claim (ties: a sentence in the question's language, then the one closest to
    the question); never an instruction-like sentence. At most MAX_QUOTES, but every cited
    article keeps at least one."""
    q_lang = guess_language(question)
    article_n: dict[str, int] = {}
    passage_n: dict[int, int] = {}
    picked: list[tuple[int, Passage, tuple[int, int]]] = []
    for claim, cited in checked.claims:
        claim_stems = stems(strip_markers(claim))
        for k in cited:
            p = passages[k - 1]
            chunk = p.chunk
            passage_n[k] = article_n.setdefault(chunk.article_id, len(article_n) + 1)
            candidates = [span for span in chunk.sentences if not instruction_like(chunk.sentence_text(*span))]
            if not candidates:
                raise LLMRejected("cited a passage with nothing to quote")
            best = max(candidates, key=lambda span: (
                len(stems(chunk.sentence_text(*span)) & claim_stems),
                guess_language(chunk.sentence_text(*span)) == q_lang,
                p.sentence_scores.get(span, 0.0)))
            if all((chunk.article_id, best) != (q.chunk.article_id, span) for _, q, span in picked):
                picked.append((passage_n[k], p, best))
    kept = picked[:MAX_QUOTES]
    for item in picked[MAX_QUOTES:]:
        if all(item[0] != n for n, _, _ in kept):
            kept.append(item)
    citations = []
    for n, p, (s, e) in kept:
        meta = articles.get(p.chunk.article_id, {})
        citations.append(make_citation(n, p.chunk.article_id, meta, p.chunk.sentence_text(s, e), s, e,
                                       p.sentence_scores.get((s, e), p.score)))

    def renumber(m: re.Match) -> str:
        ns = dict.fromkeys(passage_n[int(k)] for k in re.findall(r"\d+", m.group()) if int(k) in passage_n)
        return " " + "".join(f"[{n}]" for n in ns) if ns else ""

    text = re.sub(r"(?:\s*\[\d+\])+", renumber, checked.text).strip()
    return text, citations


# ---------------------------------------------------------------------------------------------


class LLMAnswerer:
    """Lets an OpenAI-compatible model write the answer text; falls back to the extractive one."""

    def __init__(self, llm, prompts: Prompts, *, timeout_s: float) -> None:
        self.llm = llm
        self.prompts = prompts
        self.timeout_s = timeout_s

    @classmethod
    def connect(cls, *, base_url: str, model: str, api_key: str, timeout_s: float,
                prompts_dir: Path) -> "LLMAnswerer":
        from llama_index.llms.openai_like import OpenAILike

        if not base_url.startswith(("http://", "https://")):
            raise LLMConfigError(f"CITA_LLM_BASE_URL must look like http://host:port/v1, not {base_url!r}")
        prompts = Prompts.load(prompts_dir)
        llm = OpenAILike(
            model=model,
            api_base=base_url,
            api_key=api_key or "not-needed",
            is_chat_model=True,
            is_function_calling_model=False,
            temperature=0.0,
            max_tokens=MAX_TOKENS,
            timeout=timeout_s,
            # No retries: a retry would start after the first attempt's time-out, when the answer
            # is already late, and would queue behind the abandoned request on a local server.
            max_retries=0,
        )
        # The openai client imports its chat resource on first use, which takes seconds on a busy
        # machine: do it now, at start-up, so it does not eat into the first answer's time-out.
        import openai.resources.chat  # noqa: F401

        return cls(llm, prompts, timeout_s=timeout_s)

    def improve(self, answer: Answer, passages: list[Passage], articles: dict[str, dict]) -> Answer:
        """The model's answer if it passes the checks, else `answer` with a note."""
        if answer.abstained or not passages:
            return answer
        try:
            raw = self._chat(build_messages(self.prompts, answer.question, passages, articles))
            checked = check_reply(raw, answer.question, passages)
            text, citations = cite(checked, answer.question, passages, articles)
        except LLMRejected as e:
            log.info("LLM answer rejected (%s): %s", e.reason, e)
            return self._fallback(answer, e.reason)
        except LLMCallFailed as e:
            cause = e.__cause__
            log.warning("LLM request failed (%s)%s", e.reason,
                        f": {type(cause).__name__}: {cause}" if cause is not None else "")
            return self._fallback(answer, e.reason)
        except Exception:  # a bug of ours: logged with its traceback; the user still gets quotes
            log.exception("LLM answer failed unexpectedly")
            return self._fallback(answer, "internal error")
        return replace(answer, answer=text, citations=citations, mode="llm", note="")

    @staticmethod
    def _fallback(answer: Answer, reason: str) -> Answer:
        answer.note = FALLBACK_NOTE.format(reason=reason)
        return answer

    def _chat(self, messages) -> str:
        """The model's reply text within timeout_s overall, or LLMCallFailed. The call runs in a
        daemon thread: the HTTP client's time-out applies per read, a deadline here applies to
        the whole call; an abandoned call ends at the client's own time-out."""
        result: dict = {}

        def call() -> None:
            try:
                result["text"] = self.llm.chat(messages).message.content or ""
            except BaseException as e:  # noqa: BLE001 - handed to the caller
                result["error"] = e

        worker = threading.Thread(target=call, name="cita-llm", daemon=True)
        worker.start()
        worker.join(self.timeout_s)
        if worker.is_alive():
            raise LLMCallFailed("timed out", f"no reply within {self.timeout_s:g} s")
        if "error" in result:
            error = result["error"]
            raise LLMCallFailed(_call_failure(error)) from error
        return result["text"]


class LLMCallFailed(Exception):
    """The request to the model failed; `reason` is the short form shown in the note."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(detail or reason)
        self.reason = reason


def _call_failure(e: BaseException) -> str:
    """What went wrong with a request, in a few words. Anything that is not an openai error came
    from reading the server's reply (llama-index and the openai client parse it without checking
    its shape: a list or a string where an object belongs raises AttributeError, IndexError...)."""
    import openai

    if isinstance(e, (openai.APITimeoutError, TimeoutError)):
        return "timed out"
    if isinstance(e, openai.APIConnectionError):
        return "the model could not be reached"
    if isinstance(e, openai.APIStatusError):
        return f"the model returned HTTP {e.status_code}"
    return "the model's reply could not be read"
