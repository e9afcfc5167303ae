"""The loaded KB cached on disk: keyed on every file it came from, optional, never
changing a result."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

import partways
from partways import _kbcache, knowledge

from _paths import EXAMPLES

OVERLAY = EXAMPLES / "overlay-strict-payments"
CASE = EXAMPLES / "harbor-dental-late-payer.yaml"


@pytest.fixture
def fresh(monkeypatch: pytest.MonkeyPatch) -> None:
    """No KB loaded in this process yet."""
    monkeypatch.setattr(knowledge, "_CACHE", {})


def entries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob("kb-*.pickle"))


def assess_json(overlays: list[Path]) -> str:
    kb = partways.load_kb(overlays=overlays)
    return partways.assess(CASE, kb, engine="python").to_json()


def test_a_cached_kb_gives_the_same_output(fresh: None, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARTWAYS_CACHE_DIR", "off")
    expected = assess_json([OVERLAY])
    monkeypatch.setenv("PARTWAYS_CACHE_DIR", str(tmp_path))
    knowledge._CACHE.clear()
    assert assess_json([OVERLAY]) == expected  # loaded from files, then stored
    assert len(entries(tmp_path)) == 1
    knowledge._CACHE.clear()
    stored = _kbcache.load(entries(tmp_path)[0][3:-7])
    assert isinstance(stored, partways.KnowledgeBase)
    assert assess_json([OVERLAY]) == expected  # from the cache


def test_any_change_to_a_kb_file_is_a_new_key(fresh: None, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARTWAYS_CACHE_DIR", str(tmp_path / "cache"))
    overlay = tmp_path / "overlay"
    shutil.copytree(OVERLAY, overlay)
    kb = partways.load_kb(overlays=[overlay])
    params = overlay / "parameters.yaml"
    text = params.read_text("utf-8")
    match = re.search(r"^  (\w+):\n(?:    .*\n)*?    default: (\d+)$", text, re.M)
    assert match, "the overlay sets a parameter default"
    name, value = match.group(1), int(match.group(2))
    assert kb.parameters[name].default == value
    key = _kbcache.digest(kb.roots)
    params.write_text(text[:match.start(2)] + str(value + 1) + text[match.end(2):], "utf-8")
    assert _kbcache.digest(kb.roots) != key
    knowledge._CACHE.clear()
    assert partways.load_kb(overlays=[overlay]).parameters[name].default == value + 1
    assert len(entries(tmp_path / "cache")) == 2


@pytest.mark.parametrize("where", ["a-file", "a-file/below", "corrupt"])
def test_an_unusable_cache_is_ignored(fresh: None, tmp_path: Path, where: str,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARTWAYS_CACHE_DIR", "off")
    expected = assess_json([])
    knowledge._CACHE.clear()
    (tmp_path / "a-file").write_text("not a folder", "utf-8")
    folder = tmp_path / where
    if where == "corrupt":
        folder.mkdir()
        key = _kbcache.digest((str(knowledge.default_kb_dir().resolve()),))
        (folder / f"kb-{key}.pickle").write_bytes(b"\x80\x05garbage")
    monkeypatch.setenv("PARTWAYS_CACHE_DIR", str(folder))
    assert assess_json([]) == expected


def test_a_read_only_cache_folder_is_used_for_reading_only(
        fresh: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARTWAYS_CACHE_DIR", str(tmp_path))
    expected = assess_json([])
    writes: list[str] = []

    def read_only(*_: object) -> None:
        writes.append("x")
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr(_kbcache.os, "replace", read_only)
    knowledge._CACHE.clear()
    assert assess_json([]) == expected  # read from the cache: nothing written
    assert writes == []
    shutil.rmtree(tmp_path)
    tmp_path.mkdir()
    knowledge._CACHE.clear()
    assert assess_json([]) == expected  # cannot write: loaded from files all the same
    assert writes == ["x"] and entries(tmp_path) == []


def test_the_cache_keeps_a_bounded_number_of_entries(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # every edit of a KB or an overlay is a new key: the folder keeps the most recently
    # used entries of each kind, not every one ever written
    monkeypatch.setenv("PARTWAYS_CACHE_DIR", str(tmp_path))
    monkeypatch.setitem(_kbcache.KEEP, "kb", 3)
    for i in range(5):
        _kbcache.store(f"k{i}", {"n": i})
        os.utime(tmp_path / f"kb-k{i}.pickle", (1_000 + i, 1_000 + i))
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "kb-k2.pickle", "kb-k3.pickle", "kb-k4.pickle"]
    assert _kbcache.load("k2") == {"n": 2}  # a hit counts as a use...
    _kbcache.store("k5", {"n": 5})
    # ... so the least recently used (k3), not the oldest written (k2), goes next
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "kb-k2.pickle", "kb-k4.pickle", "kb-k5.pickle"]
    # kinds are bounded apart: compiled code does not push a KB out
    monkeypatch.setitem(_kbcache.KEEP, "code", 1)
    for i in range(3):
        _kbcache.write("code", f"c{i}.marshal", b"x")
    assert len(list(tmp_path.glob("code-*"))) == 1
    assert len(list(tmp_path.glob("kb-*"))) == 3
