"""`python -m shop_profile check [FILE]`: validate a shop profile (SHOPDESK_SHOP_PROFILE or shop.yml by default)."""

from __future__ import annotations

import argparse
import sys

from shop_profile import ProfileError, load_profile, profile_path
from shop_profile.wording import response_values


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shop_profile", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="validate the profile and print the sentences it produces")
    check.add_argument("file", nargs="?", default=None)
    args = parser.parse_args(argv)
    path = args.file or profile_path()
    try:
        profile = load_profile(path)
    except ProfileError as error:
        print(error, file=sys.stderr)
        return 2
    print(f"{path}: valid shop profile for {profile.shop_name}")
    for name, value in response_values(profile).items():
        print(f"  {{{name}}}: {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
