"""docs/api.md: every Python block runs, in order, from the repository root."""

from __future__ import annotations

import os
import re

from _paths import ROOT


def test_api_doc_examples_run() -> None:
    text = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert len(blocks) >= 6
    namespace: dict[str, object] = {}
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        for i, block in enumerate(blocks):
            exec(compile(block, f"docs/api.md block {i + 1}", "exec"), namespace)
    finally:
        os.chdir(cwd)
