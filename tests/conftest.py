"""Shared fixtures: the real bundled model, and the seed index built once per session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["ANONYMIZED_TELEMETRY"] = "False"

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
SHARED = ROOT.parent / "shared"


def pytest_collection_modifyitems(items):
    """A test that needs the real model (the `e5` fixture, directly or through the seed index) is
    slow whether or not it says so: `scripts/test --fast` leaves it out."""
    for item in items:
        if "e5" in getattr(item, "fixturenames", ()) and not item.get_closest_marker("slow"):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def e5():
    """The bundled multilingual-e5-small (one engine handle per test session)."""
    from index.embedding import load_embedder

    return load_embedder("multilingual-e5-small")


@pytest.fixture(scope="session")
def hash_embedder():
    """The model-free HashEmbedder (CITA_EMBED_MODEL=hash-test), through load_embedder like the real
    one: for tests of everything but the model's quality (the fast lane, `scripts/test --fast`)."""
    from index.embedding import load_embedder

    return load_embedder("hash-test")


def make_settings(data_dir: Path, **overrides):
    """Settings for a test: everything default but the data dir (no .env, no environment)."""
    from cita.settings import load_settings

    return load_settings(env={"CITA_DATA_DIR": str(data_dir)}).replace(**overrides)


@pytest.fixture
def settings_for():
    return make_settings


@pytest.fixture(scope="session")
def seed_data_dir(tmp_path_factory, e5) -> Path:
    """A data dir holding an index of the seed articles (built once; treat it as read-only)."""
    from cita.app import make_builder

    data_dir = tmp_path_factory.mktemp("seed-index")
    builder = make_builder(make_settings(data_dir), e5)
    builder.rebuild([SEEDS])
    builder.close()
    return data_dir


@pytest.fixture(scope="session")
def seed_answerer(seed_data_dir, e5):
    """An Answerer over the seed index, extractive (no LLM)."""
    from cita.app import make_answerer

    return make_answerer(make_settings(seed_data_dir), e5)


@pytest.fixture(scope="session")
def hash_seed_data_dir(tmp_path_factory, hash_embedder) -> Path:
    """The seed index built with the HashEmbedder (in well under a second; read-only)."""
    from cita.app import make_builder

    data_dir = tmp_path_factory.mktemp("seed-index-hash")
    builder = make_builder(make_settings(data_dir, embed_model="hash-test"), hash_embedder)
    builder.rebuild([SEEDS])
    builder.close()
    return data_dir


@pytest.fixture(scope="session")
def hash_seed_answerer(hash_seed_data_dir, hash_embedder):
    """An Answerer over the HashEmbedder's seed index, extractive (no LLM)."""
    from cita.app import make_answerer

    return make_answerer(make_settings(hash_seed_data_dir, embed_model="hash-test"), hash_embedder)
