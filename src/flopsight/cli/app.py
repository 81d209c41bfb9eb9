"""``main(argv) -> exit code``: parse, run one subcommand, report any failure in one line."""

from __future__ import annotations

import os
import sys
from typing import Sequence

from ..errors import FlopsightError
from .commands import check_arguments, check_output, emit, run_example, run_models, run_profile, run_show
from .diff import run_diff
from .estimate import run_estimate
from .heavy import collection_paused, import_torch
from .interrupts import Interrupts, exit_now
from .output import Progress
from .parser import build_parser

EXIT_OK = 0
EXIT_FAILURE = 1  # an unexpected error inside flopsight or a library it calls
EXIT_USAGE = 2  # bad arguments, unknown model, malformed config, model cannot run on the device
EXIT_INTERRUPTED = 130


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``flopsight`` command line with ``argv`` (default ``sys.argv[1:]``).

    Errors never show a traceback: they print one line ``flopsight: Type: message`` on stderr and
    return 2 for what the user can fix (arguments, model name, config, device), 1 otherwise
    (set FLOPSIGHT_DEBUG=1 to see the traceback of those).

    Example:
        >>> main(["models"])  # doctest: +SKIP
        0
    """
    arguments = list(sys.argv[1:] if argv is None else argv)
    with Interrupts() as interrupts:
        code = _run(arguments, interrupts)
    if code == EXIT_INTERRUPTED and argv is None:  # the console script: see interrupts.exit_now
        exit_now(code)
    return code


def _run(arguments: list[str], interrupts: Interrupts) -> int:
    progress = Progress()
    try:
        parser = build_parser()
        if not arguments:
            parser.print_help(sys.stdout)
            return EXIT_OK
        args = parser.parse_args(arguments)
        if args.command is None:
            parser.print_help(sys.stdout)
            return EXIT_OK
        if args.command == "models":
            text = run_models(args)
        elif args.command == "estimate":  # --measure builds and counts a model on meta
            check_arguments(args)
            if args.measure:
                with interrupts.deferred():
                    import_torch()
            text = run_estimate(args, progress)
        elif args.command == "show":  # a saved profile renders without torch
            check_arguments(args)
            text = run_show(args)
        elif args.command == "diff":  # two saved profiles, compared without torch
            check_output(args)
            text = run_diff(args)
        else:
            check_arguments(args)
            # torch's import must not see a KeyboardInterrupt, nor pay for the collector (heavy.py)
            with interrupts.deferred(), collection_paused():
                import_torch()
            text = run_example(args) if args.command == "example" else run_profile(args, progress)
        interrupts.checkpoint()  # ... or that a library swallowed during the run
        progress.clear()
        emit(text, args, sys.stdout)
    except SystemExit as exc:  # --help and --version exit through argparse
        return exc.code if isinstance(exc.code, int) else EXIT_OK
    except KeyboardInterrupt:
        return _interrupted(progress, interrupts)
    except FlopsightError as exc:
        if interrupts.received:  # an error caused by the interrupt: report the interrupt
            return _interrupted(progress, interrupts)
        return _fail(progress, exc, EXIT_USAGE)
    except BrokenPipeError:  # `flopsight ... | head`: the reader left, nothing to report
        sys.stderr.close()
        return EXIT_OK
    except Exception as exc:  # noqa: BLE001 (one line instead of a traceback, see the docstring)
        if interrupts.received:
            return _interrupted(progress, interrupts)
        if os.environ.get("FLOPSIGHT_DEBUG"):
            raise
        return _fail(progress, exc, EXIT_FAILURE, hint=" (set FLOPSIGHT_DEBUG=1 for the traceback)")
    return EXIT_OK


def _interrupted(progress: Progress, interrupts: Interrupts) -> int:
    interrupts.ignore_more()
    progress.clear()
    print("flopsight: interrupted", file=sys.stderr)
    return EXIT_INTERRUPTED


def _fail(progress: Progress, exc: BaseException, code: int, *, hint: str = "") -> int:
    progress.clear()
    message = " ".join(str(exc).split()) or "no message"
    print(f"flopsight: {type(exc).__name__}: {message}{hint}", file=sys.stderr)
    return code
