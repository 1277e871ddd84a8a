"""``fasttransfer``: the command line (SPEC §7).

Each sub-command lives in its own module ``fasttransfer/cmd_<name>.py`` exposing
``add_arguments(parser)`` and ``run(args) -> int``; modules are imported only when
their command runs, so ``fasttransfer analyze`` never pays for JAX start-up.

Bad input (:class:`theory.errors.InputError` or an argparse error) prints one line on
stderr and exits with code 2; never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import sys

from fasttransfer.theory.errors import InputError, cli_message

COMMANDS: dict[str, str] = {
    "analyze": "estimate alpha, beta and the transfer verdict from a width x HP sweep",
    "plan": "Theorem 2 planner: compute-optimal proxy width, trials and target width",
    "verify": "run every check of the paper's claims and write report.md",
    "simulate": "run a simulation (relu | rfrr | topk) and store tidy CSV results",
    "figures": "draw every paper figure (PNG and PDF)",
    "coordcheck": "muP coordinate check of the two-layer ReLU net",
}


class _OneLineParser(argparse.ArgumentParser):
    """argparse that reports a usage error on one line (and exit code 2)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}\n")


def _command_module(name: str):
    return importlib.import_module(f"fasttransfer.cmd_{name}")


def build_parser() -> argparse.ArgumentParser:
    parser = _OneLineParser(prog="fasttransfer", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_OneLineParser)
    for name, help_text in COMMANDS.items():
        if importlib.util.find_spec(f"fasttransfer.cmd_{name}") is None:
            continue  # a command whose module has not landed yet
        p = sub.add_parser(name, help=help_text, description=help_text)
        _command_module(name).add_arguments(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    # float64 is the project's CPU default (SPEC §7); JAX reads this at import time,
    # and the CLI owns the process, so it is the one place that sets it.
    os.environ.setdefault("JAX_ENABLE_X64", "1")
    # JAX already uses every core; a multi-threaded BLAS beside it (numpy in the RFRR Monte
    # Carlo, LAPACK callbacks in the top-k recorder) oversubscribes a small machine and was
    # seen 10-20x slower on 2 cores. A default only: the user's own setting wins.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    args = build_parser().parse_args(argv)
    prog = f"fasttransfer {args.command}"
    try:
        return int(_command_module(args.command).run(args) or 0)
    except InputError as err:
        print(f"{prog}: error: {cli_message(err)}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # output piped into e.g. `head`: not an error of ours; silence the flush at exit
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print(f"{prog}: interrupted (finished results are kept)", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
