"""Loaders: every supported format, and every kind of bad input skipped with one clear reason."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from index.articles import fetch_url, load_file, load_paths, parse_html, parse_jsonl

ROOT = Path(__file__).resolve().parents[2]
SEED = next((ROOT / "seeds").glob("*.txt"))
MB = 1_000_000

STORY = ("Estados Unidos pidió a México resultados concretos y verificables contra el fentanilo. "
         "El Gobierno mexicano respondió que ya trabaja en ello con las agencias de seguridad.")

HTML = """<!doctype html>
<html lang="es"><head>
<title>Noticias Ejemplo | EU pide resultados</title>
<meta property="og:title" content="EU pide a México resultados concretos">
<meta name="author" content="Ana Pérez">
<meta property="article:published_time" content="2026-01-16T10:00:00Z">
<link rel="canonical" href="https://news.example.com/2026/01/eu-pide-resultados">
</head><body>
<nav><a href="/">Inicio</a> | <a href="/mundo">Mundo</a> | <a href="/deportes">Deportes</a></nav>
<article>
<h1>EU pide a México resultados concretos</h1>
<p>Estados Unidos pidió a México resultados concretos y verificables de la lucha contra las redes
de narcoterroristas y el fentanilo, según informó la Oficina de Asuntos del Hemisferio Occidental.</p>
<p>Además, indicó que el progreso gradual para afrontar los desafíos de seguridad fronteriza es
inaceptable, y pidió acciones tangibles antes de la reunión ministerial de febrero.</p>
</article>
<footer>Suscríbete al boletín. © 2026 Noticias Ejemplo. Todos los derechos reservados.</footer>
</body></html>
"""

EMPTY_PAGE = """<!doctype html><html><head><title>Inicio</title></head>
<body><nav><a href="/">Inicio</a> | <a href="/mundo">Mundo</a></nav><footer>©</footer></body></html>"""


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


# -- formats ----------------------------------------------------------------------------------

def test_txt_title_is_the_first_non_empty_line(tmp_path):
    path = write(tmp_path / "story.txt", "\n\n   \nEU pide resultados a México\n\n" + STORY + "\n")
    [article], skipped = load_file(path, max_bytes=MB)
    assert skipped == []
    assert article.title == "EU pide resultados a México"
    assert STORY in article.text
    assert article.language == "es"
    assert article.source == str(path)
    assert len(article.id) == 16 and len(article.content_hash) == 16


def test_md_title_drops_the_heading_marks(tmp_path):
    path = write(tmp_path / "story.md", "# EU pide resultados a México\n\n" + STORY)
    [article], _ = load_file(path, max_bytes=MB)
    assert article.title == "EU pide resultados a México"


def test_seed_article_loads_with_its_headline_as_title():
    [article], skipped = load_file(SEED, max_bytes=MB)
    assert skipped == []
    assert article.title.startswith("EU pide a México resultados concretos")
    assert article.text == SEED.read_text(encoding="utf-8")
    assert article.language == "es"


def test_id_follows_the_key_and_hash_follows_the_content(tmp_path):
    a = write(tmp_path / "a" / "story.txt", "Titular\n\n" + STORY)
    [first], _ = load_file(a, max_bytes=MB, key="k1")
    [same_key], _ = load_file(a, max_bytes=MB, key="k1")
    a.write_text("Titular\n\n" + STORY + " Una frase más al final del texto.", encoding="utf-8")
    [changed], _ = load_file(a, max_bytes=MB, key="k1")
    assert first == same_key
    assert changed.id == first.id
    assert changed.content_hash != first.content_hash


def test_html_extracts_text_title_date_author_and_canonical_url(tmp_path):
    path = write(tmp_path / "story.html", HTML)
    [article], skipped = load_file(path, max_bytes=MB)
    assert skipped == []
    assert article.title == "EU pide a México resultados concretos"
    assert article.published == "2026-01-16"
    assert article.author == "Ana Pérez"
    assert article.source == "https://news.example.com/2026/01/eu-pide-resultados"
    assert "según informó la Oficina de Asuntos del Hemisferio Occidental." in " ".join(article.text.split())
    assert "Deportes" not in article.text and "derechos reservados" not in article.text


def test_html_paragraphs_stay_separate_sentences(tmp_path):
    """The headline has no full stop: it must not be glued to the first sentence of the body."""
    from index.text import sentence_spans

    [article], _ = parse_html(HTML, source="story.html")
    first = [article.text[a:b] for a, b in sentence_spans(article.text)]
    assert "EU pide a México resultados concretos" in first
    assert any(s.startswith("Estados Unidos pidió") for s in first)


def test_jsonl_records_become_articles(tmp_path):
    records = [
        {"title": "EU pide resultados", "text": STORY, "url": "https://news.example.com/a",
         "published": "2026-01-16", "source": "Noticias Ejemplo"},
        {"title": "Sin URL", "text": "The United States made clear that incremental progress is unacceptable.",
         "source": "Agencia"},
        {"text": "Un artículo sin título ni fuente, pero con texto suficiente para indexarlo."},
    ]
    path = write(tmp_path / "feed.jsonl", "\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n")
    articles, skipped = load_file(path, max_bytes=MB)
    assert skipped == []
    assert [a.title for a in articles] == ["EU pide resultados", "Sin URL",
                                           "Un artículo sin título ni fuente, pero con texto suficiente para indexarlo."]
    first, second, third = articles
    assert (first.source, first.published, first.language) == ("https://news.example.com/a", "2026-01-16", "es")
    assert second.source == "Agencia" and second.language == "en"
    assert third.source == f"{path}:3"
    assert len({a.id for a in articles}) == 3


def test_bad_jsonl_lines_are_skipped_by_line_and_the_rest_kept():
    lines = [
        json.dumps({"title": "Bueno", "text": STORY}),
        "{not json",
        json.dumps(["a", "list"]),
        json.dumps({"title": "Sin texto"}),
        json.dumps({"title": "Texto corto", "text": "hola"}),
        json.dumps({"title": 7, "text": STORY + " Otra."}),
        "",
        json.dumps({"title": "También bueno", "text": STORY + " Y otra frase distinta."}),
    ]
    articles, skipped = parse_jsonl("\n".join(lines), source="feed.jsonl")
    assert [a.title for a in articles] == ["Bueno", "También bueno"]
    assert [(s.source, s.reason) for s in skipped] == [
        ("feed.jsonl:2", "not valid JSON"),
        ("feed.jsonl:3", "record has no 'text'"),
        ("feed.jsonl:4", "record has no 'text'"),
        ("feed.jsonl:5", "record has no 'text'"),
        ("feed.jsonl:6", "title, url, published, source and author must be strings"),
    ]


def test_crlf_and_bom_are_normalised(tmp_path):
    path = write(tmp_path / "win.txt", b"\xef\xbb\xbfTitular\r\n\r\n" + STORY.encode() + b"\r\n")
    [article], _ = load_file(path, max_bytes=MB)
    assert article.title == "Titular"
    assert "\r" not in article.text and not article.text.startswith("\ufeff")


# -- bad input --------------------------------------------------------------------------------

def make_bad_corpus(root: Path) -> dict[str, str]:
    """A folder with two good articles and one file of each bad kind; returns name -> reason part."""
    write(root / "good.txt", "Titular bueno\n\n" + STORY)
    write(root / "sub" / "good.md", "# Otro titular\n\nThe United States made clear that incremental "
          "progress in facing border security challenges is unacceptable.")
    expected = {
        "empty.txt": "empty file",
        "blank.md": "empty file",
        "image.txt": "binary file",
        "latin1.txt": "not valid UTF-8",
        "big.txt": "over the size limit",
        "report.pdf": "unsupported file type '.pdf'",
        "noext": "unsupported file type '(none)'",
        "menu.html": "no article text",
        "tiny.txt": "no article text",
        "dangling.txt": "unreadable",
        "bad.jsonl:1": "not valid JSON",
        "pipe.txt": "not a regular file",
    }
    write(root / "empty.txt", b"")
    write(root / "blank.md", "  \n\n\t\n")
    write(root / "image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4)
    write(root / "latin1.txt", ("Titular\n\n" + STORY).encode("latin-1"))
    write(root / "big.txt", "Titular\n\n" + (STORY + "\n") * 200)  # ~35 kB > the 20 kB limit below
    write(root / "report.pdf", "%PDF-1.4 " + STORY)
    write(root / "noext", STORY)
    write(root / "menu.html", EMPTY_PAGE)
    write(root / "tiny.txt", "Hola.")
    (root / "dangling.txt").symlink_to(root / "gone.txt")
    write(root / "bad.jsonl", "{oops\n")
    os.mkfifo(root / "pipe.txt")  # opening it would block forever
    if os.geteuid() != 0:  # root reads anything: chmod 000 proves nothing then
        write(root / "locked.txt", "Titular\n\n" + STORY + " Cerrado.")
        (root / "locked.txt").chmod(0)
        expected["locked.txt"] = "unreadable"
    (root / "folder.txt").mkdir()  # a folder with a supported-looking name is walked, not read
    write(root / ".hidden.txt", "Titular oculto\n\n" + STORY + " Oculto.")  # dotfiles are ignored
    return expected


def test_each_bad_file_is_skipped_with_one_clear_reason_and_the_rest_loaded(tmp_path):
    root = tmp_path / "articles"
    expected = make_bad_corpus(root)
    articles, skipped = load_paths([root], max_bytes=20_000)
    assert sorted(a.title for a in articles) == ["Otro titular", "Titular bueno"]
    reasons = {Path(s.source).name: s.reason for s in skipped}
    assert len(skipped) == len(reasons), "one line per bad file"
    assert set(reasons) == set(expected)
    for name, part in expected.items():
        assert part in reasons[name], (name, reasons[name])
    # sources are relative to the folder given, so ids survive moving the checkout
    assert {a.source for a in articles} == {"articles/good.txt", "articles/sub/good.md"}


def test_unreadable_file_when_not_root(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root can read a chmod 000 file; the dangling symlink case covers unreadable")
    path = write(tmp_path / "locked.txt", "Titular\n\n" + STORY)
    path.chmod(0)
    try:
        articles, [skipped] = load_file(path, max_bytes=MB)
    finally:
        path.chmod(0o644)
    assert articles == [] and "unreadable" in skipped.reason


def test_missing_path_is_skipped(tmp_path):
    articles, [skipped] = load_paths([tmp_path / "nowhere"], max_bytes=MB)
    assert articles == [] and skipped.reason == "no such file or folder"


def test_syndicated_copies_are_one_article(tmp_path):
    write(tmp_path / "a" / "story.txt", "Titular\n\n" + STORY)
    write(tmp_path / "a" / "copy.txt", "Titular\n\n" + STORY)
    articles, skipped = load_paths([tmp_path / "a"], max_bytes=MB)
    assert len(articles) == 1
    assert [s.reason for s in skipped] == ["duplicate of an article already loaded"]


def test_two_files_with_the_same_name_in_different_folders_are_two_articles(tmp_path):
    a = write(tmp_path / "a" / "story.txt", "Titular A\n\n" + STORY)
    b = write(tmp_path / "b" / "story.txt", "Titular B\n\nThe United States made clear that incremental "
              "progress in facing border security challenges is unacceptable.")
    articles, skipped = load_paths([a, b], max_bytes=MB)
    assert skipped == []
    assert sorted(x.title for x in articles) == ["Titular A", "Titular B"]
    assert len({x.id for x in articles}) == 2


def test_fetch_url_rejects_what_is_not_http():
    articles, [skipped] = fetch_url("ftp://example.com/story", max_bytes=MB)
    assert articles == [] and skipped.reason == "not an http(s) URL"


def test_fetch_url_that_cannot_be_reached_is_skipped():
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    articles, [skipped] = fetch_url(f"http://127.0.0.1:{port}/story", max_bytes=MB, timeout=5)
    assert articles == [] and skipped.reason.startswith("could not fetch")


def test_html_in_the_encoding_it_declares(tmp_path):
    page = HTML.replace("<head>", '<head><meta charset="iso-8859-1">', 1)
    path = write(tmp_path / "latin1.html", page.encode("latin-1"))
    [article], skipped = load_file(path, max_bytes=MB)
    assert skipped == [] and "Estados Unidos pidió a México" in article.text
    undeclared = write(tmp_path / "undeclared.html", HTML.encode("latin-1"))
    articles, [bad] = load_file(undeclared, max_bytes=MB)
    assert articles == [] and "not valid text in the encoding" in bad.reason


@pytest.fixture
def site(tmp_path):
    """A few pages served on 127.0.0.1, each with the Content-Type a real server would send."""
    import http.server
    import threading

    pages = {
        "/story": ("text/html; charset=utf-8", HTML.encode()),
        "/latin1": ("text/html; charset=ISO-8859-1", HTML.encode("latin-1")),
        "/latin1-meta": ("text/html", HTML.replace("<head>", '<head><meta charset="windows-1252">', 1)
                         .encode("cp1252")),
        "/report.pdf": ("application/pdf", b"%PDF-1.4\n" + bytes(range(256)) * 8),
        "/menu": ("text/html", EMPTY_PAGE.encode()),
        "/big": ("text/html", HTML.replace("</article>", "<p>" + STORY * 400 + "</p></article>").encode()),
    }

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path == "/moved":
                self.send_response(301)
                self.send_header("Location", "/story")
                self.end_headers()
                return
            if self.path not in pages:
                self.send_error(404)
                return
            ctype, body = pages[self.path]
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_fetch_url_extracts_the_article_and_keeps_the_url_as_key(site):
    [article], skipped = fetch_url(f"{site}/story", max_bytes=MB)
    assert skipped == []
    assert article.title == "EU pide a México resultados concretos"
    assert article.source == "https://news.example.com/2026/01/eu-pide-resultados"  # canonical
    assert article.published == "2026-01-16" and article.author == "Ana Pérez"
    [moved], _ = fetch_url(f"{site}/moved", max_bytes=MB)
    assert moved.text == article.text and moved.id != article.id, "keyed on the URL asked for"


def test_fetch_url_decodes_the_declared_charset(site):
    for path in ("/latin1", "/latin1-meta"):  # in the HTTP header, or only in <meta charset>
        [article], _ = fetch_url(f"{site}{path}", max_bytes=MB)
        assert "Estados Unidos pidió a México" in article.text and "\ufffd" not in article.text


@pytest.mark.parametrize("path, reason", [
    ("/report.pdf", "not a web page (application/pdf)"),
    ("/menu", "no article text found in the page"),
    ("/missing", "could not fetch (Not Found)"),
    ("/big", "page over the size limit"),
])
def test_fetch_url_skips_what_is_not_an_article(site, path, reason):
    articles, [skipped] = fetch_url(f"{site}{path}", max_bytes=20_000)
    assert articles == [] and skipped.source == f"{site}{path}"
    assert reason in skipped.reason


def test_a_folder_given_as_dot_keeps_its_name(tmp_path, monkeypatch):
    folder = tmp_path / "noticias"
    write(folder / "story.txt", "Titular\n\n" + STORY)
    [by_name], _ = load_paths([folder], max_bytes=MB)
    monkeypatch.chdir(folder)
    [by_dot], _ = load_paths([Path(".")], max_bytes=MB)
    assert by_dot.source == by_name.source == "noticias/story.txt"
    assert by_dot.id == by_name.id


def test_jsonl_records_with_the_same_title_are_two_articles(tmp_path):
    lines = [json.dumps({"title": "Última hora", "text": STORY}),
             json.dumps({"title": "Última hora", "text": "The United States made clear that incremental "
                                                          "progress is unacceptable."})]
    path = write(tmp_path / "feed.jsonl", "\n".join(lines))
    articles, skipped = load_paths([path], max_bytes=MB)
    assert skipped == [] and len(articles) == 2 and len({a.id for a in articles}) == 2
