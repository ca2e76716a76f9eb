"""Running `cita` as a user does: a real subprocess in a clean environment.

No CITA_*, DISCORD_* or CHROMA_* variable of the test process leaks in, and the working directory
is a temporary one holding an empty `.env`, so a developer's own settings (a `.env` in the checkout
or in the shell) cannot change what a test sees; the code run is this checkout's.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CITA = [sys.executable, "-m", "cita.cli"]


def cita_env(**values) -> dict[str, str]:
    """The environment of a `cita` subprocess: the test process's minus every Cita setting, plus
    `values` (setting names to values; None or "" leaves a setting unset)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CITA_", "DISCORD_", "CHROMA_"))}
    env.update(HF_HUB_OFFLINE="1", ANONYMIZED_TELEMETRY="False", PYTHONUNBUFFERED="1",
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    env.update({k: str(v) for k, v in values.items() if v is not None})
    return env


def clean_cwd(cwd: Path | None = None, data_dir: Path | str | None = None) -> Path:
    """A working directory with an empty `.env` (unless it has one): `cwd` if given, else a folder
    beside the data dir (the test's tmp_path), else a new temporary one."""
    if cwd is None:
        cwd = Path(data_dir).parent / "cwd" if data_dir is not None else Path(tempfile.mkdtemp(prefix="cita-cwd-"))
    cwd = Path(cwd)
    cwd.mkdir(parents=True, exist_ok=True)
    (cwd / ".env").touch()
    return cwd


def _settings_env(data_dir, env: dict) -> dict:
    if data_dir is not None:
        env = {"CITA_DATA_DIR": str(data_dir), **env}
    return env


def run_cita(*args: str, data_dir: Path | str | None = None, cwd: Path | None = None, stdin: str | None = None,
             timeout: float = 600, **env) -> subprocess.CompletedProcess:
    """`cita ARGS` to completion, output captured as text."""
    return subprocess.run([*CITA, *args], cwd=clean_cwd(cwd, data_dir), env=cita_env(**_settings_env(data_dir, env)),
                          input=stdin, capture_output=True, text=True, timeout=timeout)


def popen_cita(*args: str, data_dir: Path | str | None = None, cwd: Path | None = None, **env) -> subprocess.Popen:
    """`cita ARGS` started in the background (stdout and stderr piped, as text)."""
    return subprocess.Popen([*CITA, *args], cwd=clean_cwd(cwd, data_dir), env=cita_env(**_settings_env(data_dir, env)),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
