"""A private temporary SQLite database on disk, for what grows with a client book (the
CSV rows waiting for their client, every client's portfolio measures).

Its page cache is kept small: those tables are written in order and read back a client
at a time, so a larger cache buys no speed (the file stays in the OS cache) and only
grows the process's memory as it fills (2 MB a database made the parent of a 100,000
client batch grow by 4 MB over the first half of the book).
"""

from __future__ import annotations

import sqlite3

CACHE_KIB = 256


def temp_db() -> sqlite3.Connection:
    """A new empty database in a private temporary file, deleted when it is closed."""
    db = sqlite3.connect("", check_same_thread=False)  # "": a private temporary file
    for pragma in ("journal_mode=OFF", "synchronous=OFF", "temp_store=FILE",
                   f"cache_size=-{CACHE_KIB}"):
        db.execute(f"PRAGMA {pragma}")
    return db
