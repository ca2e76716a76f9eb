"""HTTP for feeds and their pages, done by Cita itself (feedparser has no time-outs by design).

Every request: http(s) only, also after a redirect (at most 5, each checked again); the host's
addresses must be public unless private ones are allowed (CITA_ALLOW_PRIVATE_URLS), so a feed
cannot make Cita fetch a loopback, private, link-local or otherwise reserved address; a
User-Agent naming Cita; a conditional GET when an ETag or Last-Modified is known; a time-out on
every read and a deadline on the whole response (an endless or trickling body stops there); a
size cap on the bytes received and, separately, on the bytes a gzip or deflate body expands to
(a gzip bomb stops at the cap); at most one request per second per host.

The host is checked before connecting (a clear reason for a private host), and the address the
socket really connected to is checked again before anything is sent, so a DNS answer that
changes between the two (DNS rebinding) cannot reach an internal service either.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import zlib
from dataclasses import dataclass, field

USER_AGENT = "Cita/0.1 (a bot that quotes news articles; feed reader)"
MAX_REDIRECTS = 5
READ_BLOCK = 65536


class FetchError(RuntimeError):
    """A request that did not give a usable response; the message is the reason."""


@dataclass
class Response:
    url: str  # after redirects
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    @property
    def charset(self) -> str | None:
        for part in self.headers.get("content-type", "").split(";")[1:]:
            key, _, value = part.partition("=")
            if key.strip().lower() == "charset" and value.strip():
                return value.strip().strip('"')
        return None


def refuse_address(host: str, *, allow_private: bool) -> str | None:
    """Why a host may not be fetched (None when it may): every address it resolves to must be
    a public one."""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError, ValueError) as e:
        return f"cannot resolve {host} ({e.__class__.__name__})"
    if allow_private:
        return None
    for info in infos:
        why = _refuse_ip(host, info[4][0])
        if why:
            return why
    return None


def _refuse_ip(host: str, ip: str) -> str | None:
    addr = ipaddress.ip_address(ip.split("%")[0])
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped:
        addr = addr.ipv4_mapped
    if not addr.is_global or addr.is_multicast:
        kind = ("loopback" if addr.is_loopback else "link-local" if addr.is_link_local
                else "private" if addr.is_private else "reserved")
        return f"{host} is a {kind} address ({addr}); refused unless CITA_ALLOW_PRIVATE_URLS=true"
    return None


class _RefusedPeer(OSError):
    """The socket connected to an address that may not be fetched."""


def _connect_public(address, *args, **kwargs) -> socket.socket:
    """socket.create_connection, then the address it really reached checked before any byte
    (TLS or HTTP) is sent."""
    sock = socket.create_connection(address, *args, **kwargs)
    why = _refuse_ip(str(address[0]), sock.getpeername()[0])
    if why:
        sock.close()
        raise _RefusedPeer(why)
    return sock


class _PublicHTTPConnection(http.client.HTTPConnection):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._create_connection = _connect_public


class _PublicHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._create_connection = _connect_public


class _PublicHTTPHandler(urllib.request.HTTPHandler):
    def http_open(self, req):
        return self.do_open(_PublicHTTPConnection, req)


class _PublicHTTPSHandler(urllib.request.HTTPSHandler):
    def https_open(self, req):
        return self.do_open(_PublicHTTPSConnection, req, context=self._context, check_hostname=self._check_hostname)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Redirects come back as responses: Fetcher follows them itself, checking each target."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


class Fetcher:
    def __init__(self, *, timeout: float = 10.0, deadline: float = 30.0, max_bytes: int = 5_000_000,
                 allow_private: bool = False, per_host_interval: float = 1.0,
                 user_agent: str = USER_AGENT) -> None:
        self.timeout = timeout
        self.deadline = deadline
        self.max_bytes = max_bytes
        self.allow_private = allow_private
        self.per_host_interval = per_host_interval
        self.user_agent = user_agent
        self._last: dict[str, float] = {}
        self._lock = threading.Lock()
        handlers = [_NoRedirect] if allow_private else [_NoRedirect, _PublicHTTPHandler, _PublicHTTPSHandler]
        self._opener = urllib.request.build_opener(*handlers)

    def _wait_turn(self, host: str) -> None:
        """At most one request per `per_host_interval` seconds to one host: the next one starts
        that long after the previous one ended (requests through one Fetcher are serialised)."""
        wait = self._last.get(host, 0.0) + self.per_host_interval - time.monotonic()
        if wait > 0:
            time.sleep(wait)

    def get(self, url: str, *, etag: str = "", modified: str = "", accept: str = "*/*") -> Response:
        """GET a URL (following redirects); raises FetchError with the reason."""
        for _ in range(MAX_REDIRECTS + 1):
            parts = urllib.parse.urlsplit(url)
            if parts.scheme not in ("http", "https"):
                raise FetchError(f"not an http(s) URL: {url[:200]}")
            if not parts.hostname:
                raise FetchError(f"no host in {url[:200]}")
            why = refuse_address(parts.hostname, allow_private=self.allow_private)
            if why:
                raise FetchError(why)
            host = parts.hostname.lower()
            headers = {"User-Agent": self.user_agent, "Accept": accept, "Accept-Encoding": "gzip, deflate"}
            if etag:
                headers["If-None-Match"] = etag
            if modified:
                headers["If-Modified-Since"] = modified
            with self._lock:
                self._wait_turn(host)
                try:
                    response = self._once(url, headers)
                finally:
                    self._last[host] = time.monotonic()
            if response.status in (301, 302, 303, 307, 308):
                target = response.headers.get("location", "")
                if not target:
                    raise FetchError(f"HTTP {response.status} without a Location")
                url = urllib.parse.urljoin(url, target)
                continue
            return response
        raise FetchError(f"more than {MAX_REDIRECTS} redirects")

    def _once(self, url: str, headers: dict[str, str]) -> Response:
        request = urllib.request.Request(url, headers=headers)
        started = time.monotonic()
        try:
            resp = self._opener.open(request, timeout=self.timeout)
        except urllib.error.HTTPError as e:
            resp = e  # 3xx, 304, 4xx, 5xx: a response all the same
        except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as e:
            reason = getattr(e, "reason", None) or e
            if isinstance(reason, _RefusedPeer):
                raise FetchError(str(reason)) from None
            if isinstance(reason, (socket.timeout, TimeoutError)):
                raise FetchError(f"timed out after {self.timeout:g} s") from None
            raise FetchError(f"could not connect ({reason.__class__.__name__ if isinstance(reason, Exception) else reason})") from None
        try:
            status = resp.status if hasattr(resp, "status") and resp.status else resp.code
            got_headers = {k.lower(): v for k, v in resp.headers.items()}
            if status in (301, 302, 303, 304, 307, 308):
                return Response(url, status, b"", got_headers)
            if status >= 400:
                raise FetchError(f"HTTP {status}")
            length = got_headers.get("content-length", "")
            if length.isdigit() and int(length) > self.max_bytes:
                raise FetchError(f"over the size limit ({int(length) / 1e6:.1f} MB > {self.max_bytes / 1e6:g} MB)")
            body = self._read(resp, started)
        finally:
            resp.close()
        body = self._decode(body, got_headers.get("content-encoding", "").lower())
        return Response(resp.geturl() or url, status, body, got_headers)

    def _read(self, resp, started: float) -> bytes:
        chunks, total = [], 0
        while True:
            if time.monotonic() - started > self.deadline:
                raise FetchError(f"the response took longer than {self.deadline:g} s")
            try:
                block = resp.read1(READ_BLOCK) if hasattr(resp, "read1") else resp.read(READ_BLOCK)
            except (socket.timeout, TimeoutError):
                raise FetchError(f"timed out after {self.timeout:g} s without data") from None
            except (http.client.HTTPException, OSError) as e:
                raise FetchError(f"the connection failed while reading ({e.__class__.__name__})") from None
            if not block:
                return b"".join(chunks)
            total += len(block)
            if total > self.max_bytes:
                raise FetchError(f"over the size limit (> {self.max_bytes / 1e6:g} MB)")
            chunks.append(block)

    def _decode(self, body: bytes, encoding: str) -> bytes:
        """A gzip/deflate body expanded, never beyond max_bytes (a gzip bomb stops there)."""
        if encoding in ("", "identity"):
            return body
        if encoding not in ("gzip", "x-gzip", "deflate"):
            raise FetchError(f"unsupported content encoding {encoding!r}")
        wbits = 16 + zlib.MAX_WBITS if "gzip" in encoding else zlib.MAX_WBITS
        try:
            inflater = zlib.decompressobj(wbits)
            out = inflater.decompress(body, self.max_bytes + 1)
        except zlib.error:
            if encoding != "deflate":
                raise FetchError("the compressed body is damaged") from None
            try:  # raw deflate, as some servers send it
                inflater = zlib.decompressobj(-zlib.MAX_WBITS)
                out = inflater.decompress(body, self.max_bytes + 1)
            except zlib.error:
                raise FetchError("the compressed body is damaged") from None
        if len(out) > self.max_bytes or inflater.unconsumed_tail:
            raise FetchError(f"expands to more than {self.max_bytes / 1e6:g} MB (a compression bomb?)")
        return out
