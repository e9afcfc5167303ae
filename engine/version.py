"""The versions an assessment carries: the package's and the output contract's."""

from __future__ import annotations

__version__ = "0.1.0"

#: Version of the assessment JSON contract (``kb/assessment.schema.json``). A change
#: that removes or retypes a field bumps the major number; a new field the minor one.
#: History (:data:`SCHEMA_HISTORY`): the newest entry is the current version.
SCHEMA_VERSION = "1.1"

#: What each contract version added or changed, oldest first.
SCHEMA_HISTORY: tuple[tuple[str, str], ...] = (
    ("1.0", "the first versioned contract"),
    ("1.1", "optional: the remediation layer (repairs), evidence not counted (uncounted, "
            "status not_counted), the batch's portfolio block, and a graph node's rules "
            "(every rule that concluded a keyed fact when several did)"),
)
