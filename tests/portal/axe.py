"""axe-core (Deque's accessibility rules) for the browser tests, from the npm registry.

Fetched once with `npm pack` into .cache/ (as the FHIR definitions are), at a pinned version;
the tests run it inside the portal's pages. npm is part of the machine set-up (.ci/run).
"""
from __future__ import annotations

import subprocess
import tarfile
from pathlib import Path

PACKAGE, VERSION = "axe-core", "4.14.1"
CACHE = Path(__file__).resolve().parents[2] / ".cache" / f"{PACKAGE}-{VERSION}"


def axe_source() -> str:
    target = CACHE / "axe.min.js"
    if not target.is_file():
        CACHE.mkdir(parents=True, exist_ok=True)
        tgz = subprocess.run(["npm", "pack", "--silent", f"{PACKAGE}@{VERSION}"], cwd=CACHE, check=True,
                             capture_output=True, text=True, timeout=300).stdout.strip().splitlines()[-1]
        with tarfile.open(CACHE / tgz) as tar:
            part = CACHE / "axe.min.js.part"
            part.write_bytes(tar.extractfile("package/axe.min.js").read())
            part.replace(target)
        (CACHE / tgz).unlink()
    return target.read_text()
