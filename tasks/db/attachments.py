"""Attachments whose file is not in the filestore: Odoo shows them as broken images and
PDFs. Counted at backup (in the dump's snapshot, against the tree just archived) and again
at verify (against the restored tree): a verified set has no more than its source had."""

from __future__ import annotations

from pathlib import Path

SAMPLE = 5  # names kept, to say which


def missing_files(cur, filestore: Path) -> dict:
    """{"referenced", "missing", "sample"} for ir_attachment.store_fname under
    ``filestore``; names stream from a server-side cursor (memory stays flat for millions).
    {} where there is no ir_attachment table with a store_fname column."""
    cur.execute(
        "SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema() "
        "AND table_name = 'ir_attachment' AND column_name = 'store_fname'"
    )
    if cur.fetchone() is None:
        return {}
    referenced = missing = 0
    sample: list[str] = []
    conn = cur.connection
    with conn.cursor(name="stack_store_fnames") as names:
        names.itersize = 10_000
        names.execute(
            "SELECT DISTINCT store_fname FROM ir_attachment WHERE store_fname IS NOT NULL"
        )
        for (name,) in names:
            referenced += 1
            # store_fname is "<2 hex>/<sha1>"; anything else is not under the filestore.
            parts = Path(name).parts
            if ".." in parts or Path(name).is_absolute() or not (filestore / name).is_file():
                missing += 1
                if len(sample) < SAMPLE:
                    sample.append(name)
    return {"referenced": referenced, "missing": missing, "sample": sample}
