"""The loaded knowledge base cached on disk, keyed on a digest of everything it came from.

Loading a KB parses and validates ~50 YAML files (~0.15 s, and it imports jsonschema);
unpickling the result takes ~5 ms. The key is a SHA-256 over the content of every file
under the KB folder and its overlays (path and bytes), the engine's version and the
source of the modules that build or define a loaded KB: any change to any of them gives
a new key, so a cached KB is never stale. The cache only saves time: when its folder
cannot be created, read or written (read-only, full, no home), or an entry does not
unpickle, the KB is loaded from its files as usual; the result is the same either way.

The same folder keeps the Python code generated for rule sets and case schemas, compiled
(:func:`compiled_code`), keyed on its source and the interpreter.

Where: ``$PARTWAYS_CACHE_DIR``, else ``$XDG_CACHE_HOME/partways``, else
``~/.cache/partways``. ``PARTWAYS_CACHE_DIR=off`` turns it off.
"""

from __future__ import annotations

import contextlib
import copyreg
import gc
import hashlib
import marshal
import os
import pickle
import sys
from pathlib import Path
from types import CodeType, MappingProxyType
from typing import Any

# Modules whose code shapes a loaded KnowledgeBase (its classes, parsing and validation).
_SOURCES = ("knowledge.py", "expr.py", "errors.py", "_yaml.py", "_validate.py", "limits.py",
            "version.py", "schemas/kb.schema.json")
_ENGINE = Path(__file__).resolve().parent


def _proxy(data: dict[str, Any]) -> MappingProxyType[str, Any]:
    return MappingProxyType(data)


# KB tables hold their rows as read-only mappings, which pickle cannot store by itself.
copyreg.pickle(MappingProxyType, lambda m: (_proxy, (dict(m),)))


def cache_dir() -> Path | None:
    """The cache folder, or ``None`` when caching is off."""
    where = os.environ.get("PARTWAYS_CACHE_DIR")
    if where is not None:
        return None if where.strip().lower() in ("", "off", "0", "no") else Path(where)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "partways"


def digest(roots: tuple[str, ...]) -> str:
    """SHA-256 over the engine's KB-shaping sources and every file under ``roots``."""
    h = hashlib.sha256(f"{sys.version_info[:2]}|".encode())
    for name in _SOURCES:
        h.update(name.encode() + b"\0")
        with contextlib.suppress(OSError):
            h.update((_ENGINE / name).read_bytes())
    for root in roots:
        h.update(b"\1" + root.encode() + b"\0")
        base = Path(root)
        for path in sorted(p for p in base.rglob("*") if p.is_file()
                           and "__pycache__" not in p.parts):
            h.update(str(path.relative_to(base)).encode() + b"\0")
            h.update(path.read_bytes())
    return h.hexdigest()


#: How many entries of each kind the folder keeps: every edit of a KB or an overlay makes a
#: new key, so without a bound the folder would grow for ever (~0.45 MB a KB). The least
#: recently used go first (a hit marks its entry used).
KEEP = {"kb": 16, "code": 256}


def load(key: str) -> Any | None:
    """The cached object for ``key``, or ``None`` (absent, unreadable, or not unpickling)."""
    data = read("kb", f"{key}.pickle")
    if data is None:
        return None
    collecting = gc.isenabled()
    try:
        # no cyclic collections while tens of thousands of objects are made, each of
        # which would scan them all again (~5 ms of a cold start); nothing is garbage yet
        gc.disable()
        return pickle.loads(data)
    except Exception:  # truncated, from another version: load anew
        return None
    finally:
        if collecting:
            gc.enable()


def store(key: str, value: Any) -> None:
    """Write ``value`` for ``key`` atomically; any failure is ignored (the cache is optional)."""
    with contextlib.suppress(Exception):  # not picklable: skip caching
        write("kb", f"{key}.pickle", pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))


def read(kind: str, name: str) -> bytes | None:
    """The bytes of entry ``kind-name``, or ``None`` (caching off, absent, unreadable)."""
    folder = cache_dir()
    if folder is None:
        return None
    path = folder / f"{kind}-{name}"
    try:
        data = path.read_bytes()
    except OSError:
        return None
    _used(path)
    return data


def write(kind: str, name: str, data: bytes) -> None:
    """Write entry ``kind-name`` atomically, then drop the least recently used entries of
    its kind beyond ``KEEP``; any failure (read-only, full, not a folder) is ignored."""
    folder = cache_dir()
    if folder is None:
        return
    tmp = None
    try:
        import tempfile  # only a miss writes (tempfile imports shutil, random...)

        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{kind}-", suffix=".tmp", dir=folder)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, folder / f"{kind}-{name}")
        tmp = None
        _prune(folder, kind)
    except Exception:
        pass
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def _used(path: Path) -> None:
    with contextlib.suppress(OSError):  # a read-only folder: the entry just ages
        os.utime(path)


def _prune(folder: Path, kind: str) -> None:
    entries = []
    for entry in os.scandir(folder):
        if entry.name.startswith(f"{kind}-") and entry.is_file(follow_symlinks=False):
            with contextlib.suppress(OSError):  # another process pruned it first
                entries.append((entry.stat().st_mtime_ns, entry.name))
    entries.sort(reverse=True)
    for _, name in entries[KEEP[kind]:]:
        with contextlib.suppress(OSError):
            os.unlink(folder / name)


# ----------------------------------------------------------------------------- generated code

_CODE: dict[tuple[str, str], CodeType] = {}


def compiled_code(source: str, filename: str) -> CodeType:
    """``compile(source)``, remembered: a parameter set compiles to the same source as
    another whenever its values differ but not their kinds (what-if and flip try many),
    the values living in the namespace; compiling is most of the cost of a rule set."""
    key = (source, filename)
    hit = _CODE.get(key)
    if hit is None:
        if len(_CODE) >= 512:
            _CODE.clear()
        hit = _CODE[key] = _compile_kept(source, filename)
    return hit


def _compile_kept(source: str, filename: str) -> CodeType:
    """``compile(source)``, the code kept on disk in the KB cache's folder (keyed on the
    source and the interpreter): a cold command loads it instead of compiling. As with
    the KB cache, any failure to read or write only costs the compile."""
    key = hashlib.sha256(f"{sys.version}|{filename}|{source}".encode()).hexdigest()[:40]
    name = f"{key}.marshal"
    data = read("code", name)
    if data is not None:
        with contextlib.suppress(Exception):  # truncated, from elsewhere: compile
            code = marshal.loads(data)
            if isinstance(code, CodeType) and code.co_filename == filename:
                return code
    code = compile(source, filename, "exec")
    write("code", name, marshal.dumps(code))
    return code
