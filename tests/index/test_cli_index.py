"""`cita index ...` as a user runs it: a subprocess of the installed command on a temp data dir."""

from __future__ import annotations

import functools
import http.server
import json
import os
import re
import shutil
import subprocess
import threading

import pytest

from .conftest import CITA, SEEDS, cita_env, clean_cwd, run_cita, write_articles
from .test_articles import HTML, STORY, make_bad_corpus

SEED_FILE = next(SEEDS.glob("*.txt"))
SUMMARY = re.compile(r"^articles: (\d+), chunks: (\d+), embedded: (\d+), reused: (\d+), skipped: (\d+), "
                     r"seconds: \d+\.\d( \(unchanged: kept the current generation\))?$", re.M)

pytestmark = pytest.mark.slow


def summary_of(stdout: str) -> dict:
    m = SUMMARY.search(stdout)
    assert m, f"no summary line in {stdout!r}"
    keys = ("articles", "chunks", "embedded", "reused", "skipped")
    return {**dict(zip(keys, map(int, m.groups()[:5]))), "unchanged": bool(m.group(6))}


def status(data_dir, **env) -> dict:
    out = run_cita("index", "status", "--json", data_dir=data_dir, **env)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def no_traceback(out: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in out.stderr + out.stdout


def test_status_before_any_index(tmp_path):
    out = run_cita("index", "status", "--json", data_dir=tmp_path / "data")
    assert out.returncode == 1
    info = json.loads(out.stdout)
    assert info["articles"] == 0 and info["generation"] is None and info["embed_model"] is None
    text = run_cita("index", "status", data_dir=tmp_path / "data")
    assert text.returncode == 1 and "cita index rebuild" in text.stdout
    no_traceback(text)


def test_rebuild_status_and_unchanged_rebuild(warm_data_dir):
    first = run_cita("index", "rebuild", str(SEEDS), data_dir=warm_data_dir)
    assert first.returncode == 0, first.stderr
    no_traceback(first)
    s1 = summary_of(first.stdout)
    assert s1["articles"] == 1 and s1["chunks"] >= 2 and s1["skipped"] == 0 and not s1["unchanged"]

    info = status(warm_data_dir)
    for key in ("articles", "chunks", "embed_model", "generation", "built_at"):
        assert key in info
    assert info["articles"] == 1 and info["chunks"] == s1["chunks"]
    assert info["embed_model"] == "multilingual-e5-small"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", info["built_at"])
    assert info["store"].startswith("embedded Chroma in ")

    again = run_cita("index", "rebuild", str(SEEDS), data_dir=warm_data_dir)
    s2 = summary_of(again.stdout)
    assert again.returncode == 0 and s2["embedded"] == 0 and s2["unchanged"]
    assert status(warm_data_dir)["generation"] == info["generation"]

    listing = run_cita("index", "status", "--articles", data_dir=warm_data_dir)
    assert "EU pide a México" in listing.stdout and f"seeds/{SEED_FILE.name}" in listing.stdout

    as_json = run_cita("index", "rebuild", str(SEEDS), "--json", data_dir=warm_data_dir)
    data = json.loads(as_json.stdout)
    assert data["embedded"] == 0 and data["unchanged"] and data["generation"] == info["generation"]


def test_rebuild_defaults_to_the_articles_folder(warm_data_dir, tmp_path):
    folder = tmp_path / "mis-articulos"
    folder.mkdir()
    shutil.copy(SEED_FILE, folder / SEED_FILE.name)
    out = run_cita("index", "rebuild", data_dir=warm_data_dir, CITA_ARTICLES_DIR=str(folder))
    assert out.returncode == 0, out.stderr
    listing = json.loads(run_cita("index", "status", "--json", "--articles", data_dir=warm_data_dir).stdout)
    assert [a["source"] for a in listing["article_list"]] == [f"mis-articulos/{SEED_FILE.name}"]


def test_bad_files_are_skipped_one_line_each_and_the_rest_indexed(warm_data_dir, tmp_path):
    corpus = tmp_path / "articles"
    expected = make_bad_corpus(corpus)
    out = run_cita("index", "rebuild", str(corpus), data_dir=warm_data_dir, CITA_MAX_FILE_MB="0.02")
    assert out.returncode == 0, out.stderr
    no_traceback(out)
    lines = [line for line in out.stderr.splitlines() if line.startswith("skipped ")]
    assert len(lines) == len(expected)
    for name, reason in expected.items():
        [line] = [line for line in lines if line.startswith(f"skipped articles/{name}: ")]
        assert reason in line
    s = summary_of(out.stdout)
    assert s["articles"] == 2 and s["skipped"] == len(expected)
    assert status(warm_data_dir)["articles"] == 2


def test_nothing_indexable_exits_non_zero_and_says_why(warm_data_dir, tmp_path):
    corpus = tmp_path / "junk"
    corpus.mkdir()
    (corpus / "empty.txt").write_text("")
    (corpus / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00" * 50)
    out = run_cita("index", "rebuild", str(corpus), data_dir=warm_data_dir)
    assert out.returncode == 1
    no_traceback(out)
    assert "no article could be indexed" in out.stderr
    assert "junk/empty.txt: empty file" in out.stderr and "junk/image.txt: binary file" in out.stderr
    missing = run_cita("index", "rebuild", str(tmp_path / "nowhere"), data_dir=warm_data_dir)
    assert missing.returncode == 1 and "no such file or folder" in missing.stderr
    no_traceback(missing)


def test_a_bad_file_never_damages_an_existing_index(warm_data_dir, tmp_path):
    assert run_cita("index", "rebuild", str(SEEDS), data_dir=warm_data_dir).returncode == 0
    before = status(warm_data_dir)
    (tmp_path / "empty.txt").write_text("")
    out = run_cita("index", "add", str(tmp_path / "empty.txt"), data_dir=warm_data_dir)
    assert out.returncode == 1 and "empty.txt: empty file" in out.stderr
    assert status(warm_data_dir) == before


@pytest.fixture
def web(tmp_path):
    """A news site on 127.0.0.1 serving tmp_path/site."""
    site = tmp_path / "site"
    (site / "2026" / "01").mkdir(parents=True)
    page = HTML.replace("https://news.example.com/2026/01/eu-pide-resultados", "{base}/2026/01/eu-pide-resultados")
    handler = functools.partial(QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    (site / "2026" / "01" / "eu-pide-resultados").write_text(page.replace("{base}", base), encoding="utf-8")
    (site / "menu.html").write_text("<html><body><nav><a href='/'>Inicio</a></nav></body></html>")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield base
    server.shutdown()
    server.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def guess_type(self, path):
        return "text/html; charset=utf-8"

    def log_message(self, *args):
        pass


def test_add_url_fetches_extracts_and_indexes_the_article(warm_data_dir, web):
    assert run_cita("index", "rebuild", str(SEEDS), data_dir=warm_data_dir).returncode == 0
    url = f"{web}/2026/01/eu-pide-resultados"
    out = run_cita("index", "add", url, data_dir=warm_data_dir)
    assert out.returncode == 0, out.stderr
    assert summary_of(out.stdout)["articles"] == 2
    listing = json.loads(run_cita("index", "status", "--json", "--articles", data_dir=warm_data_dir).stdout)
    [article] = [a for a in listing["article_list"] if a["source"].startswith("http")]
    assert article == {**article, "source": url, "title": "EU pide a México resultados concretos",
                       "published": "2026-01-16", "author": "Ana Pérez", "language": "es"}

    ask = run_cita("ask", "--json", "¿Qué acciones pidió Estados Unidos antes de la reunión ministerial de febrero?",
                   data_dir=warm_data_dir)
    assert ask.returncode == 0, ask.stderr
    answer = json.loads(ask.stdout)
    assert any(c["source"] == url for c in answer["citations"])

    again = run_cita("index", "add", url, data_dir=warm_data_dir)
    assert again.returncode == 0 and summary_of(again.stdout)["unchanged"]


def test_add_url_without_an_article_or_unreachable_is_skipped_with_its_reason(warm_data_dir, web):
    assert run_cita("index", "rebuild", str(SEEDS), data_dir=warm_data_dir).returncode == 0
    before = status(warm_data_dir)
    out = run_cita("index", "add", f"{web}/menu.html", f"{web}/missing.html", data_dir=warm_data_dir)
    assert out.returncode == 1
    no_traceback(out)
    assert f"{web}/menu.html: no article text found in the page" in out.stderr
    assert f"{web}/missing.html: could not fetch" in out.stderr
    assert status(warm_data_dir) == before
    mixed = run_cita("index", "add", f"{web}/menu.html", f"{web}/2026/01/eu-pide-resultados", data_dir=warm_data_dir)
    assert mixed.returncode == 0
    assert f"skipped {web}/menu.html: no article text found in the page" in mixed.stderr
    assert summary_of(mixed.stdout)["articles"] == 2 and summary_of(mixed.stdout)["skipped"] == 1


def test_add_files_and_remove_them(warm_data_dir, tmp_path):
    assert run_cita("index", "rebuild", str(SEEDS), data_dir=warm_data_dir).returncode == 0
    story = tmp_path / "story.md"
    story.write_text("# Bilbao abre un museo\n\n" + STORY.replace("Estados Unidos", "Canadá"), encoding="utf-8")
    folder = tmp_path / "more"
    write_articles(folder, 2)
    out = run_cita("index", "add", str(story), str(folder), data_dir=warm_data_dir)
    assert out.returncode == 0, out.stderr
    assert summary_of(out.stdout)["articles"] == 4
    listing = json.loads(run_cita("index", "status", "--json", "--articles", data_dir=warm_data_dir).stdout)
    ids = {a["source"]: a["id"] for a in listing["article_list"]}
    assert set(ids) == {f"seeds/{SEED_FILE.name}", "story.md", "more/000_plan.txt", "more/001_plan.txt"}

    out = run_cita("index", "remove", ids["story.md"], "more/000_plan.txt", data_dir=warm_data_dir)
    assert out.returncode == 0, out.stderr
    s = summary_of(out.stdout)
    assert s["articles"] == 2 and s["embedded"] == 0
    assert status(warm_data_dir)["articles"] == 2

    unknown = run_cita("index", "remove", "no-such-article", data_dir=warm_data_dir)
    assert unknown.returncode == 1 and "not in the index: no-such-article" in unknown.stderr
    no_traceback(unknown)


def test_remove_without_an_index_is_a_clear_error(tmp_path):
    out = run_cita("index", "remove", "x", data_dir=tmp_path / "data")
    assert out.returncode == 1 and "cita index rebuild" in out.stderr
    no_traceback(out)


def test_progress_bar_on_a_terminal(warm_data_dir, tmp_path):
    """With stderr on a terminal the build shows a progress bar, then the one-line summary."""
    import fcntl
    import pty
    import struct
    import termios

    corpus = tmp_path / "articles"
    write_articles(corpus, 3)
    primary, secondary = pty.openpty()
    # a terminal 100 columns wide (a fresh pty has 0 columns, and tqdm draws nothing in 0)
    fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    proc = subprocess.Popen([*CITA, "index", "rebuild", str(corpus)], cwd=clean_cwd(data_dir=warm_data_dir),
                            env=cita_env(warm_data_dir),
                            stdout=subprocess.PIPE, stderr=secondary, text=True)
    os.close(secondary)
    chunks = []
    while True:
        try:
            data = os.read(primary, 4096)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    stdout, _ = proc.communicate(timeout=300)
    os.close(primary)
    terminal = b"".join(chunks).decode("utf-8", "replace")
    assert proc.returncode == 0, terminal
    summary = summary_of(stdout)
    assert summary["articles"] == 3 and summary["embedded"] > 0
    assert "embedding" in terminal and f"{summary['embedded']}/{summary['embedded']}" in terminal
