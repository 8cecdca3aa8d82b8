"""``completeness report``: an audit's results file (``audit --json``) as one HTML page."""

from __future__ import annotations

from ..errors import InputError
from ..io import check_output, write_text


def read_audit(path: str) -> dict:
    """The data of a file written by ``completeness audit --json``, or InputError."""
    import json
    import os

    if not os.path.isfile(path):
        raise InputError(f"results file {path!r} does not exist; write it with audit --json PATH")
    try:
        with open(path, encoding="utf-8") as stream:
            data = json.load(stream)
    except (ValueError, UnicodeDecodeError) as error:
        raise InputError(
            f"results file {path!r} is not JSON ({error}); give the output of audit --json"
        ) from None
    keys = data if isinstance(data, dict) else {}
    missing = [k for k in ("pairs", "descriptors", "verdicts") if k not in keys]
    if missing:
        raise InputError(
            f"results file {path!r} has no {missing[0]!r}: it was not written by "
            "completeness audit --json"
        )
    return data


def run(args) -> int:
    from ..report_html import audit_html

    check_output(args.html, "--html")
    data = read_audit(args.results)
    write_text(args.html, audit_html(data, title=args.title))
    if not args.quiet:
        print(
            f"wrote {args.html}: {len(data['descriptors'])} descriptor(s) x "
            f"{len(data['pairs'])} pair(s)"
        )
    return 0


def register(commands) -> None:
    parser = commands.add_parser(
        "report",
        help="turn an audit's results (audit --json) into one self-contained HTML page",
        description=(
            "Write the verdict heat map, the oracle's claim per pair, a 3D view of both members "
            "of every catalog pair and the report cards as one HTML file that opens offline. "
            "Pairs outside the catalog are listed without a 3D view (run audit --html to keep "
            "them)."
        ),
    )
    parser.add_argument("results", help="JSON written by completeness audit --json PATH")
    parser.add_argument("--html", required=True, metavar="PATH", help="the HTML file to write")
    parser.add_argument("--title", default="completeness audit", help="the page's title")
    parser.add_argument("--quiet", action="store_true", help="print nothing but errors")
    parser.set_defaults(run=run)
