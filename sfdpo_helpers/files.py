"""Files that survive a kill: atomic writes, atomic folders, JSON lines, and content fingerprints.

Every write goes to a temporary name in the same folder, is fsynced, then renamed into place: a
process killed in the middle of a write leaves the previous file (or folder) untouched.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file, fsync and rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".tmp-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600 files; results are meant to be shared
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def write_jsonl(rows: list[dict], path: str | Path) -> None:
    """Write rows as JSON lines, atomically."""
    atomic_write_text(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


@contextlib.contextmanager
def atomic_dir(target: str | Path, replace: bool = False):
    """Yield a staging folder next to ``target``; on success it is fsynced and renamed to ``target``.

    If ``target`` exists it is kept (another process won a race) unless ``replace``. On an error, or a
    kill, only the staging folder (``.<name>.tmp-*``, ignored by readers) is left behind.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        yield staging
        for f in staging.rglob("*"):
            if f.is_file():
                with open(f, "rb") as handle:
                    os.fsync(handle.fileno())
        if target.exists() and replace:
            shutil.rmtree(target)
        if target.exists():
            shutil.rmtree(staging)
        else:
            os.replace(staging, target)
        _fsync_dir(target.parent)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def fingerprint(*parts, length: int = 16) -> str:
    """A short SHA-256 hex digest of ``parts`` (bytes as they are, anything else as sorted JSON)."""
    h = hashlib.sha256()
    for part in parts:
        data = part if isinstance(part, bytes) else json.dumps(part, sort_keys=True, default=str).encode("utf-8")
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    return h.hexdigest()[:length]


def saved_model_sample(folder: str | Path, n_blocks: int = 64, block: int = 1 << 16) -> list[bytes]:
    """What identifies a saved model folder without loading it: each file's name and bytes (config, generation
    config, tokenizer, chat template), and for a file larger than ``n_blocks`` blocks (the weights) evenly spaced
    blocks of it. Nothing for a name that is not a folder (a hub id, ``tiny``, ``embedded``: the name says it)."""
    folder = Path(folder)
    files = sorted(f for f in folder.iterdir() if f.is_file() and not f.name.startswith(".")) if folder.is_dir() else []
    sample = []
    for path in files:
        size = os.path.getsize(path)
        sample.append(f"{path.name} {size}".encode())
        if size <= n_blocks * block:
            sample.append(path.read_bytes())
            continue
        with open(path, "rb") as f:
            for i in range(n_blocks):
                f.seek(i * max(0, size - block) // max(1, n_blocks - 1))
                sample.append(f.read(block))
    return sample
