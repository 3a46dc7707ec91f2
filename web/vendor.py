"""Vendors the official socket.io browser client from the npm registry into web/static/vendor/.

Run once at setup (`python -m web.vendor`); idempotent. The widget must never load it from a CDN at run
time, so the pinned tarball is fetched with `npm pack`, checked against its pinned integrity hash, and
only `dist/socket.io.min.js` is kept (the folder is git-ignored).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

PACKAGE = "socket.io-client"
VERSION = "4.8.1"
# `npm view socket.io-client@4.8.1 dist.integrity`
INTEGRITY = "sha512-hJVXfu3E28NmzGk8o1sHhN3om52tRvwYeidbj7xKy2eIIse5IoKX3USlS6Tqt3BHAtflLIkCQBkzVrEEfWUyYQ=="
VENDOR_DIR = Path(__file__).resolve().parent / "static" / "vendor"
MEMBER = "package/dist/socket.io.min.js"


class VendorError(RuntimeError):
    pass


def vendored_client_path() -> Path:
    return VENDOR_DIR / f"socket.io-{VERSION}.min.js"


def _check_integrity(tarball: Path) -> None:
    algorithm, _, expected = INTEGRITY.partition("-")
    actual = base64.b64encode(hashlib.new(algorithm, tarball.read_bytes()).digest()).decode()
    if actual != expected:
        raise VendorError(f"{tarball.name} does not match the pinned integrity hash")


def vendor(force: bool = False) -> Path:
    target = vendored_client_path()
    if target.is_file() and not force:
        return target
    npm = shutil.which("npm")
    if npm is None:
        raise VendorError("npm is needed once to fetch the socket.io client (apt-get install -y npm)")
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([npm, "pack", f"{PACKAGE}@{VERSION}", "--pack-destination", tmp, "--silent"],
                       check=True, cwd=tmp, stdout=subprocess.DEVNULL)
        tarball = next(Path(tmp).glob("*.tgz"), None)
        if tarball is None:
            raise VendorError("npm pack produced no tarball")
        _check_integrity(tarball)
        with tarfile.open(tarball) as archive:
            member = archive.extractfile(MEMBER)
            if member is None:
                raise VendorError(f"{MEMBER} missing from {tarball.name}")
            VENDOR_DIR.mkdir(parents=True, exist_ok=True)
            partial = target.with_suffix(".part")
            partial.write_bytes(member.read())
            partial.replace(target)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m web.vendor", description=__doc__.split("\n")[0])
    parser.add_argument("--force", action="store_true", help="fetch again even if already vendored")
    args = parser.parse_args(argv)
    try:
        path = vendor(force=args.force)
    except (VendorError, subprocess.CalledProcessError) as exc:
        print(f"web.vendor: {exc}", file=sys.stderr)
        return 1
    print(f"socket.io client ready: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
