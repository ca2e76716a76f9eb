"""Where generations of the index live: embedded Chroma under the data dir, or a Chroma server.

A *generation* is one published state of the index: a manifest (the model, counts) naming the
*segments* that hold its rows. A segment is one set of Chroma collections (chunks, sentences,
background) written once by the build that created it and never changed afterwards; it takes
the id of that build's generation and lives in its directory (or under its name on a server).
Each segment has an *article list* (the manifest entries of the articles written into it, and a
compact key list of them: ids, content hashes, groups, signatures), also written once, before
the generation that names it is published. A generation's manifest holds no article entries:
it names its segments, where each one's list is kept, the articles of those lists that are no
longer live (`dead`: removed or replaced by a newer version) and the wire-copy groups that
changed since a list was written (`groups`), so its size does not grow with the index.
`manifest()` assembles the full manifest (every live article, as before) from these; a manifest
written before article lists existed (every article in it) is read as it is.
A rebuild writes one segment with everything; an add writes a small new segment, its lists and a
small manifest naming the old segments plus the new one; a remove writes only a manifest. Builders publish by switching one pointer atomically; readers look at the pointer and
move to the new generation when it changes. Embedded Chroma is not safe across processes
(chroma-core/chroma #3769, #2399), so every segment has a directory of its own that is written
by one process and only read once published.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import json
import logging
import os
import shutil
import threading
import time
import uuid
from pathlib import Path
from typing import ClassVar, Protocol
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


_last_micros = 0


def new_generation_id() -> str:
    """A new generation's id; ids sort in the order they were made (to the microsecond, and
    strictly increasing within a process, so two builds in one second still sort right:
    cleanup keeps the newest older ones)."""
    global _last_micros
    micros = max(time.time_ns() // 1000, _last_micros + 1)
    _last_micros = micros
    seconds, frac = divmod(micros, 1_000_000)
    return time.strftime("%Y%m%dT%H%M%S", time.gmtime(seconds)) + f"{frac:06d}-" + uuid.uuid4().hex[:6]


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


def _dumps(data) -> str:
    """JSON text of a manifest. orjson (also Chroma's): 0.02 s for the 3 MB manifest of 2,800
    articles that every add writes, where json.dump took 0.5 s and json.dumps 0.1 s."""
    import orjson

    try:
        return orjson.dumps(data).decode("utf-8")
    except TypeError:  # a value orjson does not know: the standard library's encoder
        return json.dumps(data, ensure_ascii=False)


def _loads(raw: bytes):
    import orjson

    return orjson.loads(raw)


def _write_json_atomic(path: Path, data, *, sync_dir: bool = True) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    raw = _dumps(data).encode("utf-8")
    with tmp.open("wb") as f:
        f.write(raw)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    if sync_dir:
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def segments_of(manifest: dict) -> list[str]:
    """The segments a generation reads (a manifest written before segments existed: its own)."""
    return [s["id"] for s in manifest.get("segments") or [{"id": manifest["generation"]}]]


LAYOUT = 2  # manifests with "layout": the articles live in the segments' lists


def has_lists(manifest: dict) -> bool:
    """Whether a stored manifest keeps its articles in the segments' lists (else in itself)."""
    return manifest.get("layout") == LAYOUT


def holders_of(manifest: dict) -> list[str]:
    """The generations whose folders (or server documents) keep the segments' article lists."""
    return [s["list"] for s in manifest.get("segments") or [] if s.get("list")] if has_lists(manifest) else []


class Store(Protocol):
    """What the index needs from a backend (embedded Chroma or a Chroma server).

    `create`/`open` take a segment id (the id of the generation that wrote it) and return its
    (chunks, sentences, background) collections; each is paired with one `release`."""

    description: str
    data_dir: Path

    def current_id(self) -> str | None: ...
    def header(self, generation: str) -> dict: ...
    def manifest(self, generation: str) -> dict: ...
    def current(self) -> tuple[str, dict]: ...
    def current_header(self) -> tuple[str, dict]: ...
    def segment_articles(self, holder: str, segment: str) -> list[dict]: ...
    def segment_keys(self, holder: str, segment: str) -> dict: ...
    def write_lists(self, holder: str, segment: str, articles: list[dict], keys: dict) -> None: ...
    def create(self, segment: str): ...
    def open(self, segment: str): ...
    def publish(self, generation: str, manifest: dict) -> None: ...
    def cleanup(self, keep: int = 1) -> list[str]: ...
    def release(self, segment: str) -> None: ...
    def discard(self, generation: str) -> None: ...
    def generation_ids(self) -> list[str]: ...
    def build_lock(self) -> contextlib.AbstractContextManager: ...


class _StoreBase:
    """What both backends do the same way."""

    data_dir: Path

    def current_id(self) -> str | None:  # pragma: no cover - each backend has its own
        raise NotImplementedError

    def header(self, generation: str) -> dict:  # pragma: no cover
        """The manifest as stored (with article lists: no article entries in it)."""
        raise NotImplementedError

    def _read_list(self, holder: str, segment: str, kind: str):  # pragma: no cover
        raise NotImplementedError

    def write_lists(self, holder: str, segment: str, articles: list[dict], keys: dict) -> None:  # pragma: no cover
        """Save a segment's article list and key list in the generation `holder` being built
        (before it is published; never changed afterwards)."""
        raise NotImplementedError

    def manifest(self, generation: str) -> dict:
        """The full manifest of a published generation: its stored manifest with every live
        article (`articles`, sorted by source, each with its `segment`)."""
        head = self.header(generation)
        if not has_lists(head):
            return head
        dead = head.get("dead") or {}
        groups = head.get("groups") or {}
        articles = []
        for seg in head["segments"]:
            gone = set(dead.get(seg["id"], ()))
            for a in self.segment_articles(seg["list"], seg["id"]):
                if a["id"] in gone:
                    continue
                entry = dict(a)
                entry["segment"] = seg["id"]
                if a["id"] in groups:
                    entry["group"] = groups[a["id"]]
                articles.append(entry)
        articles.sort(key=lambda a: a["source"])
        return {**head, "articles": articles}

    def _list(self, holder: str, segment: str, kind: str):
        """An article list (kind "articles") or key list ("keys"), remembered: lists never change."""
        memo = self.__dict__.setdefault("_lists_memo", {})
        key = (holder, segment, kind)
        found = memo.get(key)
        if found is None:
            found = self._read_list(holder, segment, kind)
            if len(memo) > 64:  # the lists of segments long merged away
                memo.clear()
            memo[key] = found
        return found

    def segment_articles(self, holder: str, segment: str) -> list[dict]:
        return self._list(holder, segment, "articles")

    def segment_keys(self, holder: str, segment: str) -> dict:
        """{"rows": [[id, content_hash, meta digest, group, published, chunks, sentences], ...],
        "minhash": base64 of the rows' signatures (128 little-endian uint32 each; zeros: none)}."""
        return self._list(holder, segment, "keys")

    def _segments_known(self, generation: str) -> list[str]:
        """The segments a published generation reads, and the generations keeping their lists.
        Manifests never change once published, so what this store read or published is
        remembered (an add's cleanup then reads no manifest again)."""
        known = self.__dict__.setdefault("_segments_memo", {})
        if generation not in known:
            self._remember(generation, self.header(generation))
        return known[generation]

    def _remember(self, generation: str, manifest: dict) -> dict:
        with contextlib.suppress(KeyError, TypeError):
            self.__dict__.setdefault("_segments_memo", {})[generation] = segments_of(manifest) + holders_of(manifest)
        return manifest

    def _protected(self, current: str | None, kept: set[str]) -> set[str]:
        """The generations to keep, every segment their manifests read and every generation
        keeping one of those segments' article lists."""
        keep = {g for g in (current, *kept) if g}
        for gen in list(keep):
            with contextlib.suppress(StoreError, KeyError, TypeError):
                keep.update(self._segments_known(gen))
        return keep

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

    def current_header(self) -> tuple[str, dict]:
        """The current generation's stored manifest (no article entries when it has lists)."""
        gen = self.current_id()
        if gen is None:
            raise IndexMissing("there is no index yet: build it with `cita index rebuild`")
        return gen, self.header(gen)


class LocalStore(_StoreBase):
    """Embedded Chroma: data_dir/generations/<id>/chroma, pointer in data_dir/current.json.

    Who has a generation open is recorded so that cleanup never deletes it: a builder writes its
    pid in the generation's builder.pid, a reader leaves a lease file readers/<pid>. Within one
    process several stores (the bot's library and an in-process builder) share one count per
    generation. Readers take their lease, and cleanup deletes, under leases.lock, so a reader
    either holds its lease before cleanup looks or finds the generation already gone.
    """

    # generation dir -> how many stores of this process have it open (chroma shares one
    # System per path between them, closed with the last client)
    _open_here: ClassVar[dict[str, int]] = {}
    _open_guard: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        self.generations = self.data_dir / "generations"
        self.description = f"embedded Chroma in {self.data_dir}"
        self._clients: dict[str, tuple[object, int]] = {}  # generation -> (client, users)
        # the bot reads in one thread while /reindex builds in another, through this one store
        self._lock = threading.RLock()

    def _dir(self, generation: str) -> Path:
        return self.generations / generation

    def current_id(self) -> str | None:
        try:
            data = json.loads((self.data_dir / "current.json").read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as e:
            raise StoreError(f"the index pointer {self.data_dir / 'current.json'} is unreadable: {e}") from None
        gen = data.get("generation") if isinstance(data, dict) else None
        if not isinstance(gen, str) or not gen or "/" in gen or not (self._dir(gen) / "manifest.json").exists():
            return None
        return gen

    def header(self, generation: str) -> dict:
        try:
            return self._remember(generation, _loads((self._dir(generation) / "manifest.json").read_bytes()))
        except (OSError, ValueError) as e:
            raise StoreError(f"generation {generation} has no readable manifest: {e}") from None

    def _list_path(self, holder: str, segment: str, kind: str) -> Path:
        return self._dir(holder) / "lists" / f"{segment}.{kind}.json"

    def _read_list(self, holder: str, segment: str, kind: str):
        try:
            return _loads(self._list_path(holder, segment, kind).read_bytes())
        except (OSError, ValueError) as e:
            raise StoreError(f"the article list of segment {segment} is unreadable: {e}") from None

    def write_lists(self, holder: str, segment: str, articles: list[dict], keys: dict) -> None:
        folder = self._dir(holder) / "lists"
        if not folder.is_dir():
            folder.mkdir(parents=True, exist_ok=True)
            pid_file = self._dir(holder) / "builder.pid"
            if not (self._dir(holder) / "manifest.json").exists() and not pid_file.exists():
                pid_file.write_text(str(os.getpid()))  # a remove's generation: no segment, lists only
        _write_json_atomic(self._list_path(holder, segment, "articles"), articles, sync_dir=False)
        _write_json_atomic(self._list_path(holder, segment, "keys"), keys)

    @contextlib.contextmanager
    def _leases_lock(self, exclusive: bool):
        self.data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.data_dir / "leases.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            yield
        finally:
            os.close(fd)  # closing the descriptor releases the lock

    def _client(self, generation: str):
        """This store's client for a generation, counting one more user of it."""
        with self._lock:
            return self._client_locked(generation)

    def _client_locked(self, generation: str):
        import chromadb

        if generation in self._clients:
            client, users = self._clients[generation]
            self._clients[generation] = (client, users + 1)
            return client
        path = self._dir(generation) / "chroma"
        try:
            client = chromadb.PersistentClient(path=str(path), settings=_chroma_settings())
        except Exception as e:
            raise StoreError(f"generation {generation} cannot be opened: {e}") from None
        self._clients[generation] = (client, 1)
        key = str(self._dir(generation))
        with self._open_guard:
            self._open_here[key] = self._open_here.get(key, 0) + 1
        return client

    def create(self, generation: str):
        gdir = self._dir(generation)
        gdir.mkdir(parents=True, exist_ok=False)
        (gdir / "builder.pid").write_text(str(os.getpid()))
        client = self._client(generation)
        return tuple(client.create_collection(k, metadata={"hnsw:space": "cosine"}) for k in KINDS)

    def open(self, generation: str):
        """The collections of a published generation, leased so that cleanup leaves it alone
        until the matching `release`."""
        with self._lock:
            if generation not in self._clients:
                with self._leases_lock(exclusive=False):
                    if not (self._dir(generation) / "manifest.json").exists():
                        raise StoreError(f"generation {generation} is no longer there (a newer one replaced "
                                         "it); try again")
                    readers = self._dir(generation) / "readers"
                    readers.mkdir(exist_ok=True)
                    (readers / str(os.getpid())).touch()
            client = self._client_locked(generation)
        try:
            return tuple(client.get_collection(k) for k in KINDS)
        except Exception as e:
            raise StoreError(f"generation {generation} cannot be opened: {e}") from None

    def release(self, generation: str) -> None:
        """Done with a generation (each create/open is paired with one release). The last
        release closes this store's client, so the generation can be cleaned up.

        Chroma shares one System per path within a process and stops it with its last client
        (Client.close, chromadb >= 1.1), so another store of this process reading the same
        generation keeps working."""
        with self._lock:
            if generation not in self._clients:
                return
            client, users = self._clients[generation]
            if users > 1:
                self._clients[generation] = (client, users - 1)
                return
            del self._clients[generation]
            with contextlib.suppress(Exception):
                client.close()
            key = str(self._dir(generation))
            with self._open_guard:
                left = self._open_here.get(key, 1) - 1
                if left > 0:
                    self._open_here[key] = left
                else:
                    self._open_here.pop(key, None)
            if left <= 0:
                with contextlib.suppress(FileNotFoundError):
                    (self._dir(generation) / "readers" / str(os.getpid())).unlink()

    def discard(self, generation: str) -> None:
        """Delete an unfinished generation this process was building."""
        with self._lock:
            while generation in self._clients:
                self.release(generation)
        if generation != self.current_id():
            shutil.rmtree(self._dir(generation), ignore_errors=True)

    def publish(self, generation: str, manifest: dict) -> None:
        gdir = self._dir(generation)
        gdir.mkdir(parents=True, exist_ok=True)  # a remove publishes a manifest and no segment
        _write_json_atomic(gdir / "manifest.json", manifest)
        self._remember(generation, manifest)
        with contextlib.suppress(FileNotFoundError):
            (gdir / "builder.pid").unlink()
        _write_json_atomic(self.data_dir / "current.json", {"generation": generation})

    def _in_use(self, generation: str) -> bool:
        gdir = self._dir(generation)
        me = os.getpid()
        with self._open_guard:
            open_here = self._open_here.get(str(gdir), 0) > 0
        if open_here:
            return True
        pid_file = gdir / "builder.pid"
        if pid_file.exists():
            with contextlib.suppress(ValueError, OSError):
                pid = int(pid_file.read_text() or 0)
                if pid != me and _pid_alive(pid):
                    return True
        readers = gdir / "readers"
        if readers.is_dir():
            for lease in readers.iterdir():
                if not lease.name.isdigit() or int(lease.name) == me:
                    continue
                if _pid_alive(int(lease.name)):
                    return True
                with contextlib.suppress(OSError):
                    lease.unlink()  # the process died without releasing it
        return False

    def cleanup(self, keep: int = 1) -> list[str]:
        """Delete generations that are not current, not among the `keep` newest complete older
        ones, and not open in a live process. Returns the ids removed."""
        if not self.generations.is_dir():
            return []
        removed = []
        with self._leases_lock(exclusive=True):
            current = self.current_id()
            complete = sorted(g.name for g in self.generations.iterdir() if (g / "manifest.json").exists())
            older = [g for g in complete if g != current and g < (current or "~")]
            kept = set(older[-keep:]) if keep else set()
            protected = self._protected(current, kept)
            trash = self.data_dir / "trash"
            for gdir in sorted(self.generations.iterdir()):
                gen = gdir.name
                if gen in protected or self._in_use(gen):
                    continue
                trash.mkdir(exist_ok=True)
                try:
                    gdir.rename(trash / f"{gen}.{os.getpid()}")  # atomic: readers see it gone
                except OSError as e:
                    log.warning("could not remove generation %s: %s", gen, e)
                    continue
                removed.append(gen)
        _drop_tables(self.data_dir, removed)
        # the slow part, outside the lock (also what an earlier cleanup left half-deleted)
        trash = self.data_dir / "trash"
        if trash.is_dir():
            for old in trash.iterdir():
                shutil.rmtree(old, ignore_errors=True)
        return removed

    def generation_ids(self) -> list[str]:
        if not self.generations.is_dir():
            return []
        return sorted(g.name for g in self.generations.iterdir())


class ServerStore(_StoreBase):
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

    def header(self, generation: str) -> dict:
        got = self._call(lambda: self._meta().get(ids=[f"manifest:{generation}"], include=["documents"]))
        if not got["ids"]:
            raise StoreError(f"generation {generation} has no manifest on the {self.description}")
        return self._remember(generation, json.loads(got["documents"][0]))

    def _read_list(self, holder: str, segment: str, kind: str):
        got = self._call(lambda: self._meta().get(ids=[f"list:{holder}:{segment}:{kind}"], include=["documents"]))
        if not got["ids"]:
            raise StoreError(f"the article list of segment {segment} is missing on the {self.description}")
        return json.loads(got["documents"][0])

    def write_lists(self, holder: str, segment: str, articles: list[dict], keys: dict) -> None:
        meta = self._meta()
        self._call(meta.upsert, ids=[f"list:{holder}:{segment}:{k}" for k in ("articles", "keys")],
                   documents=[_dumps(articles), _dumps(keys)],
                   metadatas=[{"holder": holder}, {"holder": holder}], embeddings=[[0.0, 0.0], [0.0, 0.0]])

    def create(self, generation: str):
        return tuple(_Guarded(self, self._call(lambda k=k: self._client().create_collection(
            self._name(generation, k), metadata={"hnsw:space": "cosine"}))) for k in KINDS)

    def open(self, generation: str):
        return tuple(_Guarded(self, self._call(lambda k=k: self._client().get_collection(self._name(generation, k))))
                     for k in KINDS)

    def release(self, generation: str) -> None:
        pass

    def discard(self, generation: str) -> None:
        """Drop the collections of an unfinished generation this process was building."""
        if generation == self.current_id():
            return
        for kind in KINDS:
            with contextlib.suppress(StoreError):
                self._call(self._client().delete_collection, self._name(generation, kind))
        with contextlib.suppress(StoreError):
            self._call(self._meta().delete, where={"holder": generation})

    def publish(self, generation: str, manifest: dict) -> None:
        meta = self._meta()
        self._call(meta.upsert, ids=[f"manifest:{generation}"], documents=[_dumps(manifest)],
                   metadatas=[{"generation": generation}], embeddings=[[0.0, 0.0]])
        self._call(meta.upsert, ids=["current"], documents=[generation],
                   metadatas=[{"generation": generation}], embeddings=[[0.0, 0.0]])
        self._remember(generation, manifest)

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
        holders = set()
        got = self._call(meta.get, include=["metadatas"])
        for mid, md in zip(got["ids"], got["metadatas"]):
            if mid.startswith("manifest:"):
                published.add(mid[len("manifest:"):])
            elif mid.startswith("list:"):
                holders.add((md or {}).get("holder") or mid.split(":")[1])
        older = sorted(g for g in published if g != current and g < (current or "~"))
        kept = set(older[-keep:]) if keep else set()
        protected = self._protected(current, kept)
        removed = []
        cutoff = time.strftime("%Y%m%dT%H%M%S", time.gmtime(time.time() - 3600))
        for gen in sorted(set(self.generation_ids()) | published | holders):
            if gen in protected:
                continue
            if gen not in published and gen > cutoff:
                continue  # possibly a build still running elsewhere
            for kind in KINDS:
                with contextlib.suppress(StoreError):
                    self._call(self._client().delete_collection, self._name(gen, kind))
            if gen in holders:
                self._call(meta.delete, where={"holder": gen})
            if gen in published:
                self._call(meta.delete, ids=[f"manifest:{gen}"])
            removed.append(gen)
        _drop_tables(self.data_dir, removed)
        return removed


class _Guarded:
    """A collection on the Chroma server whose calls fail like the store's own: StoreUnavailable
    when the server cannot be reached (it stopped after the collection was opened), StoreError
    when the collection is gone, instead of the HTTP client's exceptions."""

    def __init__(self, store: ServerStore, collection) -> None:
        self._store = store
        self._collection = collection

    def __getattr__(self, name: str):
        attr = getattr(self._collection, name)
        if not callable(attr):
            return attr
        return functools.partial(self._store._call, attr)


def _drop_tables(data_dir: Path, segments: list[str]) -> None:
    """The saved lexical tables (index/lexical.py) of segments that are gone."""
    for seg in segments:
        shutil.rmtree(Path(data_dir) / "lexical" / seg, ignore_errors=True)


def open_store(data_dir: Path, chroma_url: str = "") -> Store:
    return ServerStore(chroma_url, data_dir) if chroma_url else LocalStore(data_dir)
