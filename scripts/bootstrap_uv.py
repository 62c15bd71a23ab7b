"""Put uv (the version uv.lock pins) in .cache/uv/bin/uv, with the standard library only.

For machines with no uv on the PATH. No pip or venv needed (a stock Debian python3 has
neither): the wheel's URL and sha256 come from uv.lock itself, the wheel from PyPI, and
the binary is taken out of it.
"""

from __future__ import annotations

import hashlib
import io
import platform
import stat
import sys
import tomllib
import urllib.request
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / ".cache" / "uv" / "bin" / "uv"
PLATFORM_TAGS = {
    ("Linux", "x86_64"): "manylinux_2_17_x86_64",
    ("Linux", "aarch64"): "manylinux_2_17_aarch64",
    ("Darwin", "arm64"): "macosx_11_0_arm64",
    ("Darwin", "x86_64"): "macosx_10_12_x86_64",
}


def locked_wheels() -> tuple[str, list[dict]]:
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    package = next((p for p in lock["package"] if p["name"] == "uv"), None)
    if package is None:
        sys.exit("uv.lock pins no uv version")
    return package["version"], package["wheels"]


def main() -> None:
    version, wheels = locked_wheels()
    tag = PLATFORM_TAGS.get((platform.system(), platform.machine()))
    wheel = next((w for w in wheels if tag and tag in w["url"]), None)
    if wheel is None:
        sys.exit(f"No uv {version} wheel for {platform.system()} {platform.machine()}: "
                 "install uv yourself (https://docs.astral.sh/uv/).")
    with urllib.request.urlopen(wheel["url"], timeout=300) as response:
        data = response.read()
    if "sha256:" + hashlib.sha256(data).hexdigest() != wheel["hash"]:
        sys.exit(f"uv {version}: the download does not match uv.lock's hash")
    archive = zipfile.ZipFile(io.BytesIO(data))
    member = next(n for n in archive.namelist() if n.endswith("/scripts/uv"))
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    TARGET.write_bytes(archive.read(member))
    TARGET.chmod(TARGET.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    print(f"uv {version} -> {TARGET.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
