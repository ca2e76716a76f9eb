"""Feeds end to end: `cita feeds` and `cita index refresh` against RSS, Atom and JSON feeds and
their pages served by a real HTTP server on 127.0.0.1, well-behaved and hostile. Each failing
feed or page is reported with its reason and skipped; nothing crashes, nothing indexed is lost."""

from __future__ import annotations

import gzip
import json
import time

import pytest

from index.feeds import FeedError, parse_feed
from index.web import Fetcher, FetchError

from .conftest import run_cita
from .feed_server import FeedServer, atom, json_feed, page, rss

pytestmark = pytest.mark.slow
ALLOW = {"CITA_ALLOW_PRIVATE_URLS": "true", "CITA_FETCH_TIMEOUT_S": "1"}

STORIES = {
    "lluvias": ("Las lluvias inundan el puerto de Valencia",
                "Las lluvias torrenciales inundaron el puerto de Valencia durante la madrugada del martes.\n\n"
                "El servicio de emergencias evacuó a 240 vecinos de las calles más bajas del barrio marítimo."),
    "tren": ("El tren de alta velocidad llega a Murcia",
             "El primer tren de alta velocidad llegó a la estación de Murcia con 300 pasajeros a bordo.\n\n"
             "El ministerio calcula que el trayecto hasta Madrid durará dos horas y cuarenta minutos."),
    "museo": ("Bilbao abre un museo de la ría",
              "El ayuntamiento de Bilbao abrió un museo dedicado a la historia industrial de la ría.\n\n"
              "La entrada será gratuita los domingos y el museo espera 80.000 visitantes al año."),
    "puente": ("Zaragoza cierra el puente de piedra por obras",
               "Zaragoza cerró al tráfico el puente de piedra para reparar los pilares dañados por la crecida.\n\n"
               "Las obras costarán 3,2 millones de euros y terminarán antes del verano, según el consistorio."),
}


@pytest.fixture
def server():
    srv = FeedServer()
    for key, (title, body) in STORIES.items():
        srv.route(f"/news/{key}.html", page(title, body))
    yield srv
    srv.close()


def cita(data_dir, *args, **env):
    out = run_cita(*args, data_dir=data_dir, **{**ALLOW, **env})
    assert "Traceback" not in out.stderr, out.stderr
    return out


def link(server, key):
    return f"{server.base}/news/{key}.html"


def lines_by_feed(stdout: str) -> dict[str, str]:
    return {line.split(": ", 1)[0]: line.split(": ", 1)[1] for line in stdout.splitlines() if line.startswith("http")}


def test_rss_atom_and_json_feeds_are_followed_refreshed_and_answered(server, warm_data_dir):
    rss_url = server.route("/rss.xml", rss("El Diario", [(STORIES["lluvias"][0], link(server, "lluvias"))]),
                           content_type="application/rss+xml", etag='"v1"')
    # a home page that links to its Atom feed
    server.route("/atom.xml", atom("La Gaceta", [(STORIES["tren"][0], link(server, "tren"))]),
                 content_type="application/atom+xml")
    home = server.route("/", '<html><head><link rel="alternate" type="application/atom+xml" href="/atom.xml">'
                             "</head><body>La Gaceta</body></html>")
    json_url = server.route("/feed.json", json_feed("El Norte", [(STORIES["museo"][0], link(server, "museo")),
                                                                 (STORIES["lluvias"][0], link(server, "lluvias"))]),
                            content_type="application/feed+json")
    data = warm_data_dir
    for url in (rss_url, home, json_url):
        out = cita(data, "feeds", "add", url)
        assert out.returncode == 0, out.stderr
    assert f"added: {server.base}/atom.xml (La Gaceta)" in cita(data, "feeds", "add", home).stdout.replace(
        "already followed", "added"), "the home page's feed link is found"
    listing = json.loads(cita(data, "feeds", "list", "--json").stdout)["feeds"]
    assert [f["url"] for f in listing] == [rss_url, f"{server.base}/atom.xml", json_url]

    out = cita(data, "index", "refresh")
    assert out.returncode == 0, out.stderr
    lines = lines_by_feed(out.stdout)
    assert lines[rss_url].startswith("1 new, 0 unchanged, 0 failed"), out.stdout
    assert lines[f"{server.base}/atom.xml"].startswith("1 new"), out.stdout
    # the same story in two feeds is indexed once
    assert lines[json_url].startswith("1 new, 1 unchanged"), out.stdout
    status = json.loads(cita(data, "index", "status", "--json", "--articles").stdout)
    assert status["articles"] == 3
    assert {a["source"] for a in status["article_list"]} == {link(server, k) for k in ("lluvias", "tren", "museo")}
    every = [h for _, _, h in server.requests]
    assert all(h["user-agent"].startswith("Cita/") for h in every)

    answer = json.loads(cita(data, "ask", "--json", "¿Cuántos vecinos fueron evacuados en Valencia?").stdout)
    assert not answer["abstained"] and "240 vecinos" in " ".join(c["quote"] for c in answer["citations"])

    # a second refresh: the RSS feed answers 304 to its ETag, the others have nothing new
    server.route("/news/tren.html", page("cambiada", "Esta página no se vuelve a pedir."))
    again = cita(data, "index", "refresh")
    assert again.returncode == 0, again.stderr
    lines = lines_by_feed(again.stdout)
    assert lines[rss_url] == "not modified (304), nothing new"
    assert server.hits("/rss.xml")[-1].get("if-none-match") == '"v1"'
    assert lines[json_url].startswith("0 new, 2 unchanged")
    assert "nothing new to index" in again.stdout
    assert len(server.hits("/news/tren.html")) == 1

    # a new entry appears: indexed without re-fetching the old ones
    server.route("/rss.xml", rss("El Diario", [(STORIES["puente"][0], link(server, "puente")),
                                               (STORIES["lluvias"][0], link(server, "lluvias"))]),
                 content_type="application/rss+xml", etag='"v2"')
    third = cita(data, "index", "refresh", "--json")
    got = json.loads(third.stdout)
    assert got["feeds"][0]["new"] == 1 and got["feeds"][0]["unchanged"] == 1
    assert got["build"]["articles"] == 4 and got["build"]["segments"] == 2
    assert len(server.hits("/news/lluvias.html")) == 1

    removed = cita(data, "feeds", "remove", "2")
    assert removed.returncode == 0 and "atom.xml" in removed.stdout
    assert len(json.loads(cita(data, "feeds", "list", "--json").stdout)["feeds"]) == 2
    text = cita(data, "feeds", "list").stdout
    assert "El Diario" in text and "last refreshed" in text


def test_failing_and_hostile_feeds_are_reported_and_skipped(server, warm_data_dir):
    good = server.route("/good.xml", rss("Bien", [(STORIES["puente"][0], link(server, "puente")),
                                                  (STORIES["tren"][0], f"{server.base}/news/missing.html"),
                                                  (STORIES["museo"][0], f"{server.base}/news/error.html")]),
                        content_type="application/rss+xml")
    server.route("/news/error.html", "boom", status=500)
    laughs = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">'
              '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;">]><rss version="2.0"><channel><title>&lol3;</title>'
              "</channel></rss>")
    external = ('<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
                '<rss version="2.0"><channel><title>&xxe;</title></channel></rss>')
    many = rss("Muchas", [(f"Noticia {i}", f"{server.base}/news/n{i}.html") for i in range(3000)])
    cases = {
        "/e500.xml": dict(body="error", status=500),
        "/malformed.xml": dict(body="<rss version='2.0'><channel><title>roto</titl", content_type="application/rss+xml"),
        "/laughs.xml": dict(body=laughs, content_type="application/rss+xml"),
        "/external.xml": dict(body=external, content_type="application/rss+xml"),
        "/bomb.xml": dict(body=b"<rss>" + b" " * 40_000_000, gzip=True, content_type="application/rss+xml"),
        "/endless.xml": dict(body='<rss version="2.0"><channel>', endless=True, content_type="application/rss+xml"),
        "/slow.xml": dict(body="<rss", trickle=0.5, content_type="application/rss+xml"),
        "/hang.xml": dict(body="", hang=5),
        "/ftp.xml": dict(status=302, headers={"Location": "ftp://127.0.0.1/feed.xml"}),
        "/file.xml": dict(status=301, headers={"Location": "file:///etc/passwd"}),
        "/many.xml": dict(body=many, content_type="application/rss+xml"),
    }
    for path, kw in cases.items():
        server.route(path, **kw)
    data = warm_data_dir
    feeds = [good] + [server.base + p for p in cases]
    # `feeds add` checks a feed first: the hostile ones are refused there with their reason
    refused = {}
    for url in feeds:
        out = cita(data, "feeds", "add", url)
        if out.returncode:
            refused[url] = out.stderr.strip()
    assert set(refused) == {server.base + p for p in cases if p != "/many.xml"}, refused
    assert "HTTP 500" in refused[server.base + "/e500.xml"]
    assert "entities" in refused[server.base + "/laughs.xml"]
    assert "entities" in refused[server.base + "/external.xml"]
    assert "compression bomb" in refused[server.base + "/bomb.xml"]
    assert "not an http(s) URL" in refused[server.base + "/ftp.xml"]
    assert "not an http(s) URL" in refused[server.base + "/file.xml"]
    for path in ("/endless.xml", "/slow.xml"):
        assert "longer than 3 s" in refused[server.base + path] or "size limit" in refused[server.base + path]
    assert "timed out" in refused[server.base + "/hang.xml"]

    # feeds that were fine when added and turn hostile later: written into the list directly
    listing = data / "feeds.json"
    state = json.loads(listing.read_text())
    for url in refused:
        state["feeds"].append({"url": url, "title": url, "seen": []})
    listing.write_text(json.dumps(state))
    start = time.monotonic()
    out = cita(data, "index", "refresh", timeout=600)
    took = time.monotonic() - start
    assert out.returncode == 0, out.stderr
    lines = lines_by_feed(out.stdout)
    assert lines[good].startswith("1 new, 0 unchanged, 2 failed"), lines[good]
    assert "HTTP 404" in lines[good] and "HTTP 500" in lines[good]
    for url, why in refused.items():
        assert lines[url].startswith("failed ("), (url, lines[url])
    assert lines[server.base + "/many.xml"].startswith("0 new, 0 unchanged, 30 failed, 2970 left for the next refresh")
    status = json.loads(cita(data, "index", "status", "--json").stdout)
    assert status["articles"] == 1
    # at most one request per second to one host
    times = sorted(t for t, _, _ in server.requests if t >= start)
    assert len(times) >= 40 and took >= len(times) - 1
    gaps = [round(b - a, 2) for a, b in zip(times, times[1:])]
    assert min(gaps) >= 0.95, f"one request per second per host: {gaps}"


def test_private_addresses_are_refused_unless_allowed(server, warm_data_dir):
    url = server.route("/rss.xml", rss("El Diario", [(STORIES["lluvias"][0], link(server, "lluvias"))]),
                       content_type="application/rss+xml")
    out = run_cita("feeds", "add", url, data_dir=warm_data_dir)
    assert out.returncode == 1
    assert "127.0.0.1 is a loopback address" in out.stderr and "CITA_ALLOW_PRIVATE_URLS" in out.stderr
    assert not server.requests, "nothing was requested"
    # a feed on an allowed host whose entries point inside: those entries are refused
    fetcher = Fetcher(allow_private=False)
    for target in ("http://127.0.0.1:9/", "http://10.0.0.8/", "http://169.254.169.254/latest/meta-data/",
                   "http://[::1]/", "http://192.168.1.1/"):
        with pytest.raises(FetchError, match="address"):
            fetcher.get(target)


def test_an_address_that_changes_after_the_check_is_refused_before_anything_is_sent(server, monkeypatch):
    """DNS rebinding: the name looked public when checked, then the connection reached 127.0.0.1."""
    import index.web

    url = server.route("/secret", page("Interno", "Un servicio interno que un feed no debe alcanzar."))
    monkeypatch.setattr(index.web, "refuse_address", lambda host, allow_private: None)
    with pytest.raises(FetchError, match="loopback address"):
        Fetcher(allow_private=False).get(url)
    assert not server.requests, "no request reached the internal address"
    assert Fetcher(allow_private=True).get(url).status == 200  # allowed when configured (the tests)


def test_parsing_refuses_what_is_not_a_feed():
    for body, why in ((b"\x00\x01\x02binary", "not a feed"), (b"{}", "JSON Feed version"),
                      (b"<html><body>hola</body></html>", "not an RSS"),
                      (b"[" * 100_000 + b"]" * 100_000, "not an RSS")):
        with pytest.raises(FeedError, match=why):
            parse_feed(body, "http://example.org/")
    assert parse_feed(gzip.decompress(gzip.compress(b'{"version": "https://jsonfeed.org/version/1", "items": []}')),
                      "http://x/").entries == []
