"""``to_dict()`` for the small frozen records of the public API."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from typing import Any


def plain(value: Any) -> Any:
    """JSON-ready data: dates as ISO text, tuples as lists, records as mappings."""
    if isinstance(value, dt.date):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        if hasattr(value, "to_dict"):
            return value.to_dict()
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


class Record:
    """Mixin: ``to_dict()`` of a dataclass, its fields as JSON-ready data."""

    def to_dict(self) -> dict[str, Any]:
        return {f.name: plain(getattr(self, f.name))
                for f in dataclasses.fields(self)}  # type: ignore[arg-type]
