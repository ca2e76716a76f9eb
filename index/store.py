"""Where generations of the index live: embedded Chroma under the data dir, or a Chroma server.

A *generation* is one complete build: a Chroma collection plus a manifest (the articles, the
model, counts). Builders write a new generation that no reader has open, then publish it by
switching one pointer atomically; readers look at the pointer and move to the new generation
when it changes. Embedded Chroma is not safe across processes (chroma-core/chroma #3769,
#2399), so every generation has a directory of its own that is written by one process and only
read once published.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import shutil
import time
import uuid
from pathlib import Path
from urllib.parse import urlparse

log = logging.getLogger(__name__)

KINDS = ("chunks", "sentences", "background")  # one collection of each per generation


class StoreError(RuntimeError):
    """The index cannot be read or written."""


class IndexMissing(StoreError):
    """No generation has been published yet."""


class StoreUnavailable(StoreError):
    """The Chroma server cannot be reached."""


class BuildInProgress(StoreError):
    """Another rebuild holds the build lock."""


def new_generation_id() -> str:
    return time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + "-" + uuid.uuid4().hex[:6]


def _chroma_settings():
    from chromadb.config import Settings as ChromaSettings

    return ChromaSettings(anonymized_telemetry=False, allow_reset=False)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _write_json_atomic(path: Path, data: dict) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with tmp.open("w", encoding="utf-8") as f:
        json.dump(data, f, ensure_ascii=False)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


class Store:
    """The interface both backends share."""

    description: str
    data_dir: Path

    def current_id(self) -> str | None: ...
    def manifest(self, generation: str) -> dict: ...
    def create(self, generation: str): ...
    def open(self, generation: str): ...
    def publish(self, generation: str, manifest: dict) -> None: ...
    def cleanup(self, keep: int = 1) -> list[str]: ...
    def release(self, generation: str) -> None: ...

    @contextlib.contextmanager
    def build_lock(self):
        """One rebuild at a time per data dir; released by the kernel even on kill -9."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.data_dir / "build.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise BuildInProgress("another rebuild is running; try again when it finishes") from None
            yield
        finally:
            os.close(fd)

    def current(self) -> tuple[str, dict]:
        gen = self.current_id()
        if gen is None:
            raise IndexMissing("there is no index yet: build it with `cita index rebuild`")
        return gen, self.manifest(gen)


class LocalStore(Store):
    """Embedded Chroma: data_dir/generations/<id>/chroma, pointer in data_dir/current.json."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        self.generations = self.data_dir / "generations"
        self.description = f"embedded Chroma in {self.data_dir}"
        self._clients: dict[str, object] = {}

    def _dir(self, generation: str) -> Path:
        return self.generations / generation

    def current_id(self) -> str | None:
        try:
            data = json.loads((self.data_dir / "current.json").read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as e:
            raise StoreError(f"the index pointer {self.data_dir / 'current.json'} is unreadable: {e}") from None
        gen = data.get("generation")
        if not gen or not (self._dir(gen) / "manifest.json").exists():
            return None
        return gen

    def manifest(self, generation: str) -> dict:
        try:
            return json.loads((self._dir(generation) / "manifest.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise StoreError(f"generation {generation} has no readable manifest: {e}") from None

    def _client(self, generation: str):
        import chromadb

        if generation not in self._clients:
            path = self._dir(generation) / "chroma"
            self._clients[generation] = chromadb.PersistentClient(path=str(path), settings=_chroma_settings())
        return self._clients[generation]

    def create(self, generation: str):
        gdir = self._dir(generation)
        gdir.mkdir(parents=True, exist_ok=False)
        (gdir / "builder.pid").write_text(str(os.getpid()))
        client = self._client(generation)
        return tuple(client.create_collection(k, metadata={"hnsw:space": "cosine"}) for k in KINDS)

    def open(self, generation: str):
        self._lease(generation)
        client = self._client(generation)
        try:
            return tuple(client.get_collection(k) for k in KINDS)
        except Exception as e:
            raise StoreError(f"generation {generation} cannot be opened: {e}") from None

    def _lease(self, generation: str) -> None:
        readers = self._dir(generation) / "readers"
        readers.mkdir(exist_ok=True)
        (readers / str(os.getpid())).touch()

    def release(self, generation: str) -> None:
        """Forget a generation this process no longer reads, so it can be cleaned up."""
        client = self._clients.pop(generation, None)
        if client is not None:
            with contextlib.suppress(Exception):
                client._system.stop()  # noqa: SLF001 - chroma keeps one System per path
            with contextlib.suppress(Exception):
                from chromadb.api.shared_system_client import SharedSystemClient

                SharedSystemClient._identifer_to_system.pop(str(self._dir(generation) / "chroma"), None)  # noqa: SLF001
        with contextlib.suppress(FileNotFoundError):
            (self._dir(generation) / "readers" / str(os.getpid())).unlink()

    def publish(self, generation: str, manifest: dict) -> None:
        gdir = self._dir(generation)
        _write_json_atomic(gdir / "manifest.json", manifest)
        with contextlib.suppress(FileNotFoundError):
            (gdir / "builder.pid").unlink()
        _write_json_atomic(self.data_dir / "current.json", {"generation": generation})

    def _in_use(self, generation: str) -> bool:
        gdir = self._dir(generation)
        pid_file = gdir / "builder.pid"
        if pid_file.exists():
            with contextlib.suppress(ValueError, OSError):
                if _pid_alive(int(pid_file.read_text() or 0)):
                    return True
        readers = gdir / "readers"
        if readers.is_dir():
            for lease in readers.iterdir():
                if lease.name.isdigit() and int(lease.name) != os.getpid() and _pid_alive(int(lease.name)):
                    return True
                if lease.name.isdigit() and int(lease.name) == os.getpid() and generation in self._clients:
                    return True
        return False

    def cleanup(self, keep: int = 1) -> list[str]:
        """Delete generations that are not current, not among the `keep` newest complete older
        ones, and not open in a live process. Returns the ids removed."""
        if not self.generations.is_dir():
            return []
        current = self.current_id()
        complete = sorted(g.name for g in self.generations.iterdir() if (g / "manifest.json").exists())
        older = [g for g in complete if g != current and g < (current or "~")]
        kept = set(older[-keep:]) if keep else set()
        removed = []
        for gdir in sorted(self.generations.iterdir()):
            gen = gdir.name
            if gen == current or gen in kept or self._in_use(gen):
                continue
            shutil.rmtree(gdir, ignore_errors=True)
            removed.append(gen)
        return removed

    def generation_ids(self) -> list[str]:
        if not self.generations.is_dir():
            return []
        return sorted(g.name for g in self.generations.iterdir())


class ServerStore(Store):
    """A Chroma server (`chroma run`): one collection per generation, pointer and manifests in
    the `cita-meta` collection, so several bot processes or machines share one index."""

    META = "cita-meta"

    def __init__(self, url: str, data_dir: Path) -> None:
        parsed = urlparse(url)
        self.host = parsed.hostname or "localhost"
        self.port = parsed.port or (443 if parsed.scheme == "https" else 8000)
        self.ssl = parsed.scheme == "https"
        self.data_dir = Path(data_dir)
        self.description = f"Chroma server at {parsed.scheme}://{self.host}:{self.port}"
        self._client_obj = None

    def _client(self):
        if self._client_obj is None:
            import chromadb

            try:
                self._client_obj = chromadb.HttpClient(host=self.host, port=self.port, ssl=self.ssl,
                                                       settings=_chroma_settings())
            except Exception as e:
                raise StoreUnavailable(f"cannot reach the {self.description}: {e}") from None
        return self._client_obj

    def _call(self, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except StoreError:
            raise
        except Exception as e:
            name = e.__class__.__name__
            if "NotFound" in name or "does not exist" in str(e):
                raise StoreError(f"the index on the {self.description} is incomplete: {e}") from None
            self._client_obj = None
            raise StoreUnavailable(f"cannot reach the {self.description} ({name})") from None

    def _meta(self):
        return self._call(lambda: self._client().get_or_create_collection(self.META))

    @staticmethod
    def _name(generation: str, kind: str) -> str:
        return f"cita-{generation}-{kind}"

    def current_id(self) -> str | None:
        got = self._call(lambda: self._meta().get(ids=["current"], include=["metadatas"]))
        if not got["ids"]:
            return None
        return (got["metadatas"][0] or {}).get("generation") or None

    def manifest(self, generation: str) -> dict:
        got = self._call(lambda: self._meta().get(ids=[f"manifest:{generation}"], include=["documents"]))
        if not got["ids"]:
            raise StoreError(f"generation {generation} has no manifest on the {self.description}")
        return json.loads(got["documents"][0])

    def create(self, generation: str):
        return tuple(self._call(lambda k=k: self._client().create_collection(
            self._name(generation, k), metadata={"hnsw:space": "cosine"})) for k in KINDS)

    def open(self, generation: str):
        return tuple(self._call(lambda k=k: self._client().get_collection(self._name(generation, k)))
                     for k in KINDS)

    def release(self, generation: str) -> None:
        pass

    def publish(self, generation: str, manifest: dict) -> None:
        meta = self._meta()
        self._call(meta.upsert, ids=[f"manifest:{generation}"], documents=[json.dumps(manifest)],
                   metadatas=[{"generation": generation}], embeddings=[[0.0, 0.0]])
        self._call(meta.upsert, ids=["current"], documents=[generation],
                   metadatas=[{"generation": generation}], embeddings=[[0.0, 0.0]])

    def generation_ids(self) -> list[str]:
        names = self._call(lambda: [c if isinstance(c, str) else c.name for c in self._client().list_collections()])
        return sorted({n[len("cita-"):].rsplit("-", 1)[0] for n in names
                       if n.startswith("cita-") and n != self.META})

    def cleanup(self, keep: int = 1) -> list[str]:
        """Drop collections that are not current nor among the `keep` newest older ones.
        Unfinished builds are dropped when they are more than an hour old."""
        current = self.current_id()
        meta = self._meta()
        published = set()
        got = self._call(meta.get, include=["metadatas"])
        for mid, md in zip(got["ids"], got["metadatas"]):
            if mid.startswith("manifest:"):
                published.add(mid[len("manifest:"):])
        older = sorted(g for g in published if g != current and g < (current or "~"))
        kept = set(older[-keep:]) if keep else set()
        removed = []
        cutoff = time.strftime("%Y%m%dT%H%M%S", time.gmtime(time.time() - 3600))
        for gen in self.generation_ids():
            if gen == current or gen in kept:
                continue
            if gen not in published and gen > cutoff:
                continue  # possibly a build still running elsewhere
            for kind in KINDS:
                with contextlib.suppress(StoreError):
                    self._call(self._client().delete_collection, self._name(gen, kind))
            if gen in published:
                self._call(meta.delete, ids=[f"manifest:{gen}"])
            removed.append(gen)
        return removed


def open_store(data_dir: Path, chroma_url: str = "") -> Store:
    return ServerStore(chroma_url, data_dir) if chroma_url else LocalStore(data_dir)
