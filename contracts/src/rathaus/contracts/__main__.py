"""``python -m rathaus.contracts generate|check``: publish schemas, guard compatibility."""

from __future__ import annotations

import sys

from rathaus.contracts import schemas


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "check"
    if command == "generate":
        for name in schemas.generate():
            print(f"published {name}")
        return 0
    if command == "check":
        problems = schemas.check()
        for problem in problems:
            print(f"incompatible contract change: {problem}", file=sys.stderr)
        if not problems:
            print(f"contracts: {len(list(schemas.SCHEMA_DIR.glob('*.json')))} published schemas compatible")
        return 1 if problems else 0
    print("usage: python -m rathaus.contracts generate|check", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
