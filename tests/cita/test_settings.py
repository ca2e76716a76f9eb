"""Settings: one typed object from the environment and .env, every key documented."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cita.settings import Settings, SettingsError, load_settings
from tests.conftest import ROOT


def test_env_example_documents_exactly_the_settings():
    documented = re.findall(r"^([A-Z_]+)=", (ROOT / ".env.example").read_text(), re.M)
    assert len(documented) == len(set(documented)), "a key is documented twice"
    assert set(documented) == set(Settings.env_names().values())


def test_a_key_is_cita_and_the_field_name_unless_the_field_says_otherwise():
    names = Settings.env_names()
    assert names["cooldown_s"] == "CITA_COOLDOWN_S" and names["data_dir"] == "CITA_DATA_DIR"
    assert names["discord_token"] == "DISCORD_TOKEN" and names["chroma_url"] == "CHROMA_URL"


def test_defaults_need_no_configuration():
    s = load_settings(env={})
    assert s == Settings.model_validate({})
    assert s == load_settings(env={key: "" for key in Settings.env_names().values()})  # a copied .env.example
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
    assert s.discord_token.get_secret_value() == "abc.def.ghi"
    assert "abc.def.ghi" not in repr(s) and "abc.def.ghi" not in str(s)  # nor in a log of the settings
    assert "abc.def.ghi" not in s.model_dump_json()


def test_values_are_stripped_and_paths_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    s = load_settings(env={"CITA_DATA_DIR": " rel/data ", "CITA_MAX_PENDING": " 3 ", "CITA_LLM_API_KEY": "sk-1"})
    assert s.data_dir == tmp_path / "rel" / "data"
    assert s.max_pending == 3
    assert s.llm_api_key.get_secret_value() == "sk-1" and "sk-1" not in repr(s)


@pytest.mark.parametrize("env, message", [
    ({"CITA_COOLDOWN_S": "soon"}, "CITA_COOLDOWN_S must be a number"),
    ({"CITA_ANSWER_DMS": "maybe"}, "CITA_ANSWER_DMS must be true or false"),
    ({"CHROMA_URL": "localhost:8000"}, "CHROMA_URL must look like http://host:port"),
    ({"CITA_CHUNK_TOKENS": "40", "CITA_CHUNK_OVERLAP_TOKENS": "40"}, "must be smaller"),
    ({"CITA_CHUNK_VECTORS": "average"}, "CITA_CHUNK_VECTORS must be embedded or sentence-mean"),
    ({"CITA_CHANNELS": "12,general"}, "CITA_CHANNELS must be a number, not 'general'"),
    ({"CITA_MAX_PENDING": "2.5"}, "CITA_MAX_PENDING must be a number"),
])
def test_bad_values_are_one_clear_error(env, message):
    with pytest.raises(SettingsError, match=message) as caught:
        load_settings(env=env)
    assert "\n" not in str(caught.value) and "pydantic" not in str(caught.value)


def test_a_bad_value_in_the_environment_is_the_same_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("CITA_ANSWER_DMS", "maybe")
    with pytest.raises(SettingsError, match="CITA_ANSWER_DMS must be true or false, not 'maybe'"):
        load_settings(dotenv_path=tmp_path / "missing.env")


def test_replace_validates_like_the_environment(tmp_path):
    s = load_settings(env={}).replace(discord_token="abc", channels="1 2", data_dir=tmp_path)
    assert s.discord_token.get_secret_value() == "abc" and s.channels == frozenset({1, 2})
    with pytest.raises(SettingsError, match="must be smaller"):
        s.replace(chunk_overlap_tokens=300)


def test_lists_and_flags():
    s = load_settings(env={"CITA_CHANNELS": "12, 34,56", "CITA_ANSWER_IN_THREADS": "no",
                           "CITA_LLM_BASE_URL": "http://127.0.0.1:9/v1", "CITA_LLM_MODEL": "m"})
    assert s.channels == frozenset({12, 34, 56})
    assert load_settings(env={"CITA_SHARD_IDS": "0 1"}).shard_ids == frozenset({0, 1})
    assert s.answer_in_threads is False
    assert s.llm_enabled
