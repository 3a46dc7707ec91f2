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


def _check_integrity(tarball: Path, integrity: str = INTEGRITY) -> None:
    algorithm, _, expected = integrity.partition("-")
    actual = base64.b64encode(hashlib.new(algorithm, tarball.read_bytes()).digest()).decode()
    if actual != expected:
        raise VendorError(f"{tarball.name} does not match the pinned integrity hash")


def npm_file(package: str, version: str, integrity: str, member: str, target: Path) -> Path:
    """One file of a pinned npm package, fetched with `npm pack`, checked against its integrity hash and
    written to `target` (atomically)."""
    npm = shutil.which("npm")
    if npm is None:
        raise VendorError(f"npm is needed once to fetch {package} (apt-get install -y npm)")
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([npm, "pack", f"{package}@{version}", "--pack-destination", tmp, "--silent"],
                       check=True, cwd=tmp, stdout=subprocess.DEVNULL)
        tarball = next(Path(tmp).glob("*.tgz"), None)
        if tarball is None:
            raise VendorError("npm pack produced no tarball")
        _check_integrity(tarball, integrity)
        with tarfile.open(tarball) as archive:
            extracted = archive.extractfile(member)
            if extracted is None:
                raise VendorError(f"{member} missing from {tarball.name}")
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_suffix(".part")
            partial.write_bytes(extracted.read())
            partial.replace(target)
    return target


def vendor(force: bool = False) -> Path:
    target = vendored_client_path()
    if target.is_file() and not force:
        return target
    return npm_file(PACKAGE, VERSION, INTEGRITY, MEMBER, target)


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
