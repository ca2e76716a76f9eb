"""A real HTTP server on 127.0.0.1 serving news feeds and pages, well-behaved and hostile, for the
feed tests. Routes are set per test: `server.route(path, body, ...)`; every request is recorded
(path, headers) so tests can check conditional GETs, the User-Agent and the pace per host."""

from __future__ import annotations

import gzip
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    content_type: str = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    etag: str = ""  # answer 304 when the request carries this ETag
    gzip: bool = False  # send the body gzip-compressed (Content-Encoding: gzip)
    trickle: float = 0.0  # seconds between single bytes (a slow response)
    endless: bool = False  # never stop sending
    hang: float = 0.0  # seconds to wait before answering at all


class FeedServer:
    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[tuple[float, str, dict[str, str]]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):
                server.requests.append((time.monotonic(), self.path, {k.lower(): v for k, v in self.headers.items()}))
                route = server.routes.get(self.path.split("?")[0])
                if route is None:
                    self._send(404, b"not found", "text/plain")
                    return
                if route.hang:
                    time.sleep(route.hang)
                if route.etag and self.headers.get("If-None-Match") == route.etag:
                    self.send_response(304)
                    self.send_header("ETag", route.etag)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                headers = dict(route.headers)
                if route.etag:
                    headers["ETag"] = route.etag
                try:
                    if route.endless or route.trickle:
                        self.send_response(route.status)
                        self.send_header("Content-Type", route.content_type)
                        for k, v in headers.items():
                            self.send_header(k, v)
                        self.end_headers()
                        self.wfile.write(route.body)
                        while True:
                            self.wfile.write(b"<item><title>more</title></item>" if route.endless else b" ")
                            self.wfile.flush()
                            time.sleep(route.trickle or 0.001)
                    body = gzip.compress(route.body) if route.gzip else route.body
                    if route.gzip:
                        headers["Content-Encoding"] = "gzip"
                    self._send(route.status, body, route.content_type, headers)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def _send(self, status, body, content_type, headers=None):
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def route(self, path: str, body: bytes | str = b"", **kw) -> str:
        self.routes[path] = Route(body.encode() if isinstance(body, str) else body, **kw)
        return self.base + path

    def hits(self, path: str) -> list[dict[str, str]]:
        return [h for _, p, h in self.requests if p.split("?")[0] == path]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def page(title: str, body: str, date: str = "2026-11-20") -> str:
    paragraphs = "".join(f"<p>{p}</p>" for p in body.split("\n\n"))
    return (f"<html><head><title>{title}</title><meta property=\"article:published_time\" content=\"{date}\">"
            f"</head><body><nav>Inicio | Noticias</nav><article><h1>{title}</h1>{paragraphs}</article>"
            f"<footer>© El Diario</footer></body></html>")


def rss(title: str, items: list[tuple[str, str]]) -> str:
    """RSS 2.0 with (title, link) items."""
    entries = "".join(f"<item><title>{t}</title><link>{link}</link><guid>{link}</guid>"
                      f"<pubDate>Fri, 20 Nov 2026 10:00:00 GMT</pubDate><description>Resumen.</description></item>"
                      for t, link in items)
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{title}</title>'
            f"<link>http://example.org/</link><description>Noticias</description>{entries}</channel></rss>")


def atom(title: str, items: list[tuple[str, str]]) -> str:
    entries = "".join(f'<entry><title>{t}</title><link href="{link}"/><id>{link}</id>'
                      f"<updated>2026-11-21T09:00:00Z</updated></entry>" for t, link in items)
    return (f'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
            f"<title>{title}</title><id>urn:cita:test</id><updated>2026-11-21T09:00:00Z</updated>{entries}</feed>")


def json_feed(title: str, items: list[tuple[str, str]]) -> str:
    import json

    return json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": title,
                       "items": [{"id": link, "url": link, "title": t, "date_published": "2026-11-22T08:00:00Z"}
                                 for t, link in items]})
