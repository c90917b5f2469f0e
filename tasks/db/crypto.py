"""Client-side encryption of backup artifacts: age format (pyrage), streamed.

Public recipients live in stack.toml; the private identity only in the environment's
.env file or a Docker secret (BACKUP_AGE_IDENTITY), read into memory when restoring.
"""

from __future__ import annotations

from pathlib import Path

from ..core.errors import BadInput, CheckFailed
from ..core.secrets import Secrets

SUFFIX = ".age"
IDENTITY_KEY = "BACKUP_AGE_IDENTITY"


def recipients(keys: tuple[str, ...]):
    import pyrage

    out = []
    for k in keys:
        try:
            out.append(pyrage.x25519.Recipient.from_str(k))
        except Exception:
            raise BadInput(
                f"[backup] encrypt.recipients: {k[:12]}... is not an age public key",
                hint="generate one with `age-keygen` (it starts with age1)",
            ) from None
    return out


def encrypt_in_place(path: Path, recips) -> Path:
    """path -> path.age; the plaintext is removed once the ciphertext is complete."""
    import pyrage

    out = path.with_name(path.name + SUFFIX)
    with path.open("rb") as r, out.open("wb") as w:
        pyrage.encrypt_io(r, w, recips)
    path.unlink()
    return out


def identity(secrets: Secrets):
    import pyrage

    s = secrets.require(IDENTITY_KEY, "this backup set is encrypted")
    try:
        return pyrage.x25519.Identity.from_str(s.reveal().strip())
    except Exception:
        raise BadInput(
            f"secret {IDENTITY_KEY} is not an age identity", hint="it starts with AGE-SECRET-KEY-"
        ) from None


def decrypt_to(src: Path, dest: Path, ident) -> None:
    import pyrage

    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        with src.open("rb") as r, dest.open("wb") as w:
            pyrage.decrypt_io(r, w, [ident])
    except pyrage.DecryptError as e:
        raise CheckFailed(
            f"{src}: cannot decrypt ({e})",
            hint=f"is {IDENTITY_KEY} the identity for this set's recipients?",
        ) from None
