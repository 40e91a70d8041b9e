"""``sada-dali check``: the dataset doctor.

Decodes every file of an ImageFolder or a file list once, in parallel, with a strict decoder
(PIL with warnings as errors, plus libjpeg-turbo with its "Corrupt JPEG data" warnings caught),
and reports each file that is unreadable, of an unexpected format, in a mode the loader
refuses (unsupported: DALI would decode it differently from its meaning), undecodable, damaged
(it decodes only with a warning, e.g. inside the scan) or too large, with the reason. Pass the
``--json`` report to ``SADALoader(exclude=...)`` to skip those files without reading them.
"""

from __future__ import annotations

import argparse
import json
import os

from ._args import int_at_least

__all__ = ["add_parser", "run", "format_table"]


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``check`` and its options."""
    parser = subparsers.add_parser(
        "check",
        help="decode every file of a dataset strictly and report the bad ones (table and JSON)",
        description=__doc__.split("\n\n")[1],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("source", help="an ImageFolder, or a file list (`relative/path label` lines)")
    parser.add_argument("--file-root", default=None, help="folder a file list's paths are relative to")
    parser.add_argument(
        "--jobs",
        type=int_at_least(0, "--jobs"),
        default=os.cpu_count() or 1,
        help="worker processes (0: decode in this process)",
    )
    parser.add_argument(
        "--max-pixels",
        type=int_at_least(0, "--max-pixels"),
        default=None,
        help="largest width x height accepted, as the loader's max_pixels (default: its default; 0: none)",
    )
    parser.add_argument(
        "--formats",
        default=None,
        help="accepted formats, comma-separated, as the loader's formats= (default: all: jpeg, png, bmp, "
        "tiff, webp, pnm)",
    )
    parser.add_argument(
        "--json", default=None, help="write the report here (SADALoader(exclude=...) reads it)"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser


def format_table(report: dict) -> str:
    """The report as text: one ``kind  reason  path`` row per flagged file, then the counts."""
    rows = [(entry["kind"], entry["reason"], entry["path"]) for entry in report["files"]]
    lines = []
    if rows:
        widths = [max(len(row[k]) for row in rows + [("kind", "reason", "path")]) for k in range(2)]
        lines.append(f"{'kind':<{widths[0]}}  {'reason':<{widths[1]}}  path")
        lines += [f"{kind:<{widths[0]}}  {reason:<{widths[1]}}  {path}" for kind, reason, path in rows]
    counts = ", ".join(f"{kind} {count}" for kind, count in report["counts"].items() if count)
    lines.append(
        f"{report['num_files']} files checked, {len(rows)} flagged" + (f" ({counts})" if counts else "") + "."
    )
    return "\n".join(lines)


def run(args) -> int:
    """Check the dataset; print the table, write ``--json``; returns 1 if any file is flagged, else 0."""
    from ..data._reader import DEFAULT_MAX_PIXELS
    from ..data.doctor import check_listing
    from ..data.formats import check_formats
    from ..data.source import create_listing

    try:
        listing = create_listing(args.source, file_root=args.file_root)
    except (OSError, ValueError) as exc:
        args.parser.error(str(exc))
    try:
        formats = check_formats(args.formats, "--formats")
    except (TypeError, ValueError) as exc:
        args.parser.error(str(exc))
    max_pixels = DEFAULT_MAX_PIXELS if args.max_pixels is None else (args.max_pixels or None)
    report = check_listing(
        listing, max_pixels=max_pixels, formats=formats, jobs=args.jobs, progress=not args.no_progress
    )
    print(format_table(report))
    if args.json is not None:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(report, handle, indent=1)
        print(f"Report written to {args.json}; pass it as SADALoader(..., exclude={args.json!r}).")
    return 1 if report["files"] else 0
