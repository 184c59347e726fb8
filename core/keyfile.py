"""The key that encrypts secrets at rest (OAuth tokens, `xcfb connect` connections): XCFB_TOKEN_KEY when
set, else a key file under XCFB_HOME, made on first use and readable by its owner only -- so a newcomer's
`xcfb connect` works on the embedded defaults, and production sets the variable."""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet

KEY_FILE = "secret.key"


def key_from_file(home: Path) -> str:
    path = home / KEY_FILE
    home.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(descriptor, "w") as file:  # first use: only this process writes it
        file.write(Fernet.generate_key().decode())
    return path.read_text().strip()
