"""`python -m tasks.db.fsworker ARCHIVE DEST [SHA256]`: filestore.extract in a process of
its own, at the lowest CPU priority, beside a restore's pg_restore and COPY streams.

A process, not a thread: a starved low-priority thread still holds the GIL whenever it is
descheduled mid-bytecode, and the restore's own COPY streams (splitload) then wait for it —
that priority inversion made split restores slower instead of faster. Not multiprocessing:
its spawn mode re-runs `python -m invoke`'s unguarded __main__, and fork is unsafe in a
process that runs threads. Prints one JSON line: the tree's stats, or the expected error.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    from ..core.errors import StackError
    from .filestore import extract

    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, 0, 10)
    with contextlib.suppress(AttributeError, OSError):
        # Better still: only CPU time that everything else leaves idle.
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    archive, dest = Path(argv[0]), Path(argv[1])
    try:
        stats = extract(archive, dest, expect_sha256=argv[2] if len(argv) > 2 else None)
    except StackError as e:
        kind = type(e).__name__
        out = {"error": kind, "message": e.message, "hint": e.hint, "details": e.details}
        print(json.dumps(out))
        return 3
    print(json.dumps({"files": stats.files, "bytes": stats.bytes}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
