"""The versions an assessment carries: the package's and the output contract's."""

from __future__ import annotations

__version__ = "0.1.0"

#: Version of the assessment JSON contract (``kb/assessment.schema.json``). A change
#: that removes or retypes a field bumps the major number; a new field the minor one.
SCHEMA_VERSION = "1.0"
