"""``symcalc gallery``."""

from __future__ import annotations

import sys

from .common import EXIT_FAILED, EXIT_OK, positive
from .flags import to_flags


def add(sub) -> None:
    from ..present.gallery import DEFAULT_OUT, DEFAULT_TIMEOUT

    p = sub.add_parser(
        "gallery",
        description="For every catalog entry (or the --only ones), write NAME.md (formula, "
        "derivative step by step, kinks, antiderivative, fundamental-theorem check), NAME.png "
        "and NAME_ftc.png, then the index README.md. Files listed in DIR/.gallery-manifest.json "
        "are replaced; any other file in the way is refused unless --force. Exit 1 when an FTC "
        "check fails.",
    )
    p.add_argument(
        "--out",
        default=DEFAULT_OUT,
        metavar="DIR",
        help=f"folder to build into, created if needed (default {DEFAULT_OUT})",
    )
    p.add_argument(
        "--only",
        default=None,
        metavar="NAMES",
        help="comma-separated catalog names or aliases, e.g. --only relu,swish "
        "(default: every entry)",
    )
    p.add_argument(
        "--force", action="store_true", help="replace files in DIR that the gallery did not write"
    )
    p.add_argument(
        "--jobs",
        type=int,
        default=1,
        metavar="N",
        help="build N entries at a time in worker processes (default 1)",
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=None,
        metavar="S",
        help=f"budget for each piece of symbolic work in seconds (default {DEFAULT_TIMEOUT:g})",
    )
    p.set_defaults(run=run)


def run(args) -> int:
    from ..present.gallery import DEFAULT_TIMEOUT, ProgressLine, build_gallery

    timeout = DEFAULT_TIMEOUT if args.timeout is None else positive(args.timeout, "--timeout")
    progress = ProgressLine(sys.stderr) if sys.stderr.isatty() else None
    try:
        build = build_gallery(
            args.out,
            args.only,
            force=args.force,
            jobs=args.jobs,
            timeout=timeout,
            progress=progress,
        )
    finally:
        if progress is not None:
            progress.close()
    print(to_flags(build.to_text()))
    return EXIT_OK if build.held else EXIT_FAILED
