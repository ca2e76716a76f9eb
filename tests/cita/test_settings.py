"""Settings: one typed object from the environment and .env, every key documented."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cita.settings import Settings, SettingsError, load_settings
from tests.conftest import ROOT


def test_env_example_documents_exactly_the_keys_the_code_reads():
    documented = set(re.findall(r"^([A-Z_]+)=", (ROOT / ".env.example").read_text(), re.M))
    read = set(re.findall(r'"((?:CITA|DISCORD|CHROMA)_[A-Z_]+)"', (ROOT / "cita" / "settings.py").read_text()))
    assert documented == read


def test_defaults_need_no_configuration():
    s = load_settings(env={})
    assert s == Settings()
    assert s.embed_model == "multilingual-e5-small"
    assert s.data_dir == ROOT / "data" and s.articles_dir == ROOT / "seeds"
    assert not s.llm_enabled and s.chroma_url == ""


def test_dotenv_file_is_read_and_environment_wins(tmp_path, monkeypatch):
    env_file = tmp_path / ".env"
    env_file.write_text("CITA_DATA_DIR=/srv/cita\nCITA_COOLDOWN_S=3\nDISCORD_TOKEN=abc.def.ghi\n")
    monkeypatch.setenv("CITA_COOLDOWN_S", "7")
    monkeypatch.delenv("CITA_DATA_DIR", raising=False)
    s = load_settings(dotenv_path=env_file)
    assert s.data_dir == Path("/srv/cita")
    assert s.cooldown_s == 7.0
    assert s.discord_token == "abc.def.ghi"
    assert "abc.def.ghi" not in repr(s)  # the token never shows in a repr (or a log of one)


@pytest.mark.parametrize("env, message", [
    ({"CITA_COOLDOWN_S": "soon"}, "CITA_COOLDOWN_S must be a number"),
    ({"CITA_ANSWER_DMS": "maybe"}, "CITA_ANSWER_DMS must be true or false"),
    ({"CHROMA_URL": "localhost:8000"}, "CHROMA_URL must look like http://host:port"),
    ({"CITA_CHUNK_TOKENS": "40", "CITA_CHUNK_OVERLAP_TOKENS": "40"}, "must be smaller"),
    ({"CITA_CHUNK_VECTORS": "average"}, "CITA_CHUNK_VECTORS must be embedded or sentence-mean"),
])
def test_bad_values_are_one_clear_error(env, message):
    with pytest.raises(SettingsError, match=message):
        load_settings(env=env)


def test_lists_and_flags():
    s = load_settings(env={"CITA_CHANNELS": "12, 34,56", "CITA_ANSWER_IN_THREADS": "no",
                           "CITA_LLM_BASE_URL": "http://127.0.0.1:9/v1", "CITA_LLM_MODEL": "m"})
    assert s.channels == frozenset({12, 34, 56})
    assert s.answer_in_threads is False
    assert s.llm_enabled
