"""A stand-in for an OpenAI-compatible API on 127.0.0.1 that replays queued replies.

It speaks real HTTP, so the code under test goes through llama-index's OpenAILike and the
openai client exactly as it would against OpenAI, Ollama or llama.cpp. Each POST to
/v1/chat/completions takes the next queued Reply; with none queued it answers HTTP 500.
Every request body is recorded in `requests` so tests can look at the prompt that was sent.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Reply:
    content: str | None = ""  # the assistant message (None: a null content)
    status: int = 200
    raw: bytes | None = None  # a body sent as is instead of a chat completion
    delay_s: float = 0.0  # wait this long before answering (a hang when longer than the time-out)


class StandIn:
    def __init__(self, model: str = "stand-in") -> None:
        self.model = model
        self.replies: deque[Reply] = deque()
        self.requests: list[dict] = []
        self._stop = threading.Event()
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # keep test output quiet
                pass

            def _send(self, status: int, body: bytes) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (time-out)
                    pass

            def do_GET(self) -> None:
                if self.path.rstrip("/").endswith("/models"):
                    self._send(200, json.dumps({"object": "list", "data": [
                        {"id": standin.model, "object": "model", "owned_by": "test"}]}).encode())
                else:
                    self._send(404, b'{"error": {"message": "not found"}}')

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                try:
                    standin.requests.append(json.loads(body))
                except ValueError:
                    standin.requests.append({"unparsed": body.decode("utf-8", "replace")})
                if not self.path.rstrip("/").endswith("/chat/completions"):
                    self._send(404, b'{"error": {"message": "not found"}}')
                    return
                try:
                    reply = standin.replies.popleft()
                except IndexError:
                    reply = Reply(status=500, raw=b'{"error": {"message": "no reply queued"}}')
                if reply.delay_s:
                    standin._stop.wait(reply.delay_s)
                if reply.raw is not None:
                    self._send(reply.status, reply.raw)
                    return
                self._send(reply.status, json.dumps(completion(standin.model, reply.content)).encode())

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        # polling every 20 ms, not 0.5 s: shutdown() waits for one poll, and every test stops a server
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02},
                                       name="openai-standin", daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def queue(self, *replies: Reply | str) -> None:
        for r in replies:
            self.replies.append(Reply(content=r) if isinstance(r, str) else r)

    def __enter__(self) -> "StandIn":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self.server.shutdown()
        self.server.server_close()


def completion(model: str, content: str | None) -> dict:
    return {
        "id": f"chatcmpl-{time.monotonic_ns()}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": content}}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }
