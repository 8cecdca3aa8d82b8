"""``completeness catalog``: verify every registered degenerate pair and write the catalog."""

from __future__ import annotations

from . import _common


def run(args) -> int:
    from ..structures.catalog import write_catalog

    paths = write_catalog(args.out)
    print(f"wrote {len(paths) - 2} pairs, index.json and README.md to {args.out}")
    return 0


def register(commands) -> None:
    parser = _common.add_command(
        commands,
        "catalog",
        help="verify every registered degenerate pair and write the catalog (extxyz + index)",
    )
    parser.add_argument("--out", default="structures", help="output directory")
    parser.set_defaults(run=run)
