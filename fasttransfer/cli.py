"""``fasttransfer``: the command line (docs/paper-setups.md#command-line), the whole command
tree in this module.

    fasttransfer analyze SWEEP.csv       rates and transfer verdict of a width x HP sweep
    fasttransfer plan                    Theorem 2 planner
    fasttransfer verify                  every check of the paper's claims -> report.md
    fasttransfer simulate relu|rfrr|topk one simulation into the results store
    fasttransfer figures                 every paper figure, drawn from the results store
    fasttransfer coordcheck              muP coordinate check of the two-layer ReLU net
    fasttransfer docs                    the documentation site's generated pages

One convention for every configuration: ``--preset NAME`` picks a frozen configuration
and ``--set FIELD=VALUE`` (repeatable) overrides any of its fields, parsed by the field's
type (``--set widths=64,128 --set steps=200``); the few shorthands (``--widths``,
``--steps``, ...) are the same overrides. A flag exists only on the command and target
it applies to (anything else is argparse's one-line error), and ``--set`` accepts only the
target configuration's fields. Results go to the store under ``--out`` (default
``results``: OUT/<study>/<preset>/..., :mod:`fasttransfer.store`), which ``simulate``,
``verify`` and ``figures`` share; ``--recompute`` replaces a stored result of another
configuration or code version, which is otherwise refused.

Handlers live in ``fasttransfer/cmd_*.py`` (imported only when their command runs, so
``analyze`` never pays for JAX start-up). Bad input (:class:`fasttransfer.errors.InputError` or
an argparse error) prints one line on stderr and exits with code 2; never a traceback.
What a command was asked for (reports, tables, JSON) goes to stdout; progress and status
messages are the library's :mod:`logging` records, shown on stderr at INFO (``-q``:
warnings only and no progress bars; ``-v``: debug too), before or after the command.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path

from fasttransfer.errors import InputError, cli_message

PRESETS = ("quick", "cpu", "paper")
# verify, figures and the ReLU simulations also have the pilot: the paper's own runs at
# its smallest widths on a CPU (the other checks run at quick there)
PILOT_PRESETS = ("quick", "pilot", "cpu", "paper")


# ---------------------------------------------------------------------------- logging
class _Formatter(logging.Formatter):
    """The message alone; a library module's (anything under ``fasttransfer`` but the
    command handlers) indented by four spaces, under the command's own lines."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        own = record.name == __name__ or record.name.startswith("fasttransfer.cmd_")
        return text if own else "    " + text.replace("\n", "\n    ")


def configure_logging(level: int = logging.INFO) -> Callable[[], None]:
    """Show the ``fasttransfer`` loggers' messages at ``level`` and above on stderr, one
    plain line each (the library itself configures nothing: it is quiet unless its
    caller does this or its own setup). Returns the undo."""
    pkg = logging.getLogger("fasttransfer")
    # sys.stderr as it is now (main() runs in-process under pytest, which swaps it first)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Formatter("%(message)s"))
    old = pkg.level
    pkg.addHandler(handler)
    pkg.setLevel(level)

    def undo() -> None:
        pkg.removeHandler(handler)
        pkg.setLevel(old)

    return undo


class _OneLineParser(argparse.ArgumentParser):
    """argparse that reports a usage error on one line (and exit code 2)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}\n")


# ------------------------------------------------------------------ argument types
def _bounded(kind, ok, what: str):
    """An argparse type: ``kind(text)`` that satisfies ``ok``, else a one-line error."""

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if not ok(value):
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return value

    return parse


positive_int = _bounded(int, lambda v: v >= 1, "a positive integer")
nonnegative_int = _bounded(int, lambda v: v >= 0, "an integer >= 0")
positive_float = _bounded(float, lambda v: v > 0, "a positive number")


def number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None


def int_list(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers, got {text!r}"
        ) from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected positive integers, got {text!r}")
    return values


def _topk_settings(text: str) -> tuple[str, ...]:
    from fasttransfer.simulations.topk_study import check_settings

    try:
        return check_settings(v.strip() for v in text.split(",") if v.strip())
    except InputError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _config_args(p: argparse.ArgumentParser, presets=PRESETS, default="quick") -> None:
    p.add_argument(
        "--preset",
        choices=presets,
        default=default,
        help="the frozen configuration to start from (default %(default)s)",
    )
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="override one field of the configuration (repeatable); "
        "--print-config lists the fields",
    )
    p.add_argument(
        "--print-config",
        action="store_true",
        help="print the resolved configuration as JSON and exit",
    )


def _store_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--out",
        type=Path,
        default=Path("results"),
        help="results folder (default results): the store OUT/<study>/<preset>/ "
        "that simulate, verify and figures share",
    )
    p.add_argument(
        "--recompute",
        action="store_true",
        help="replace a stored result of another configuration or code version "
        "(refused otherwise; one of this configuration is reused)",
    )


def _progress_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--no-progress", action="store_true", help="no progress bars")


def _verbosity_args(p: argparse.ArgumentParser, default=argparse.SUPPRESS) -> None:
    """-q/--quiet and -v/--verbose, accepted before and after the command (its parsers
    leave the top-level default alone)."""
    group = p.add_mutually_exclusive_group()
    group.add_argument(
        "-q",
        "--quiet",
        dest="log_level",
        action="store_const",
        const=logging.WARNING,
        default=default,
        help="only warnings and errors on stderr: no progress messages or bars",
    )
    group.add_argument(
        "-v",
        "--verbose",
        dest="log_level",
        action="store_const",
        const=logging.DEBUG,
        default=default,
        help="debug messages too on stderr",
    )


# ------------------------------------------------------------------------- commands
def _analyze(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "sweep",
        type=Path,
        metavar="SWEEP.csv",
        help="columns width,hp,loss[,seed][,init_loss] (hp = log of the scale-free "
        "HP, or the HP itself with --log-hp); extra columns are ignored",
    )
    p.add_argument(
        "--json",
        type=Path,
        default=None,
        metavar="OUT",
        help="write the estimates, per-width table, verdict and reasons as JSON",
    )
    p.add_argument(
        "--plot",
        type=Path,
        default=None,
        metavar="OUT.png",
        help="loss vs HP per width beside a log-log panel of a_n, b_n, c_n",
    )
    p.add_argument(
        "--bootstrap",
        type=nonnegative_int,
        default=1000,
        metavar="B",
        help="bootstrap resamples for the 95%% intervals (default 1000; 0: point "
        "estimates only, no verdict)",
    )
    p.add_argument(
        "--reference",
        choices=("largest", "extrapolate"),
        default="extrapolate",
        help="nu_star(inf): fitted nu_inf + B n^-beta (extrapolate, default) or "
        "the largest width (the paper's proxy; biased near n_max)",
    )
    p.add_argument(
        "--log-hp",
        action="store_true",
        help="the hp column is the HP itself: take its natural log first",
    )
    p.add_argument("--seed", type=int, default=0, help="bootstrap random seed (default 0)")
    p.add_argument(
        "--window",
        type=int,
        default=7,
        help="grid points in each local quadratic fit (>= 5, default 7)",
    )
    p.add_argument(
        "--margin",
        type=number,
        default=0.1,
        help="equivalence margin of 'weak' for beta - alpha/2 and of a resolved "
        "drift slope (default 0.1)",
    )
    p.add_argument(
        "--skip-bad-widths",
        action="store_true",
        help="drop widths that cannot be fitted (non-convex, optimum on the grid "
        "edge, too few points), one warning each, while >= 3 remain",
    )
    p.add_argument(
        "--independent-cells",
        action="store_true",
        help="assert that the runs of a one-seed sweep are independent (no shared "
        "initialisation or batches across HPs): allows a verdict from one seed",
    )
    p.add_argument(
        "--diverged-factor",
        type=number,
        default=2.0,
        metavar="F",
        help="a run above F x its width's best loss has diverged (default 2; 0 "
        "turns this rule off; an init_loss column replaces it)",
    )
    p.add_argument(
        "--diverged-above",
        type=number,
        default=None,
        metavar="X",
        help="a run with a loss above X has diverged (default: no such threshold)",
    )
    p.add_argument(
        "--max-diverged-fraction",
        type=number,
        default=0.0,
        metavar="Q",
        help="exclude a (width, hp) cell when more than this fraction of its seeds "
        "diverged (default 0: any)",
    )


def _plan(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--alpha",
        default=None,
        metavar="A",
        help="loss rate: a_n ~ n^-alpha (> 0); overrides --from-analysis",
    )
    p.add_argument(
        "--beta",
        default=None,
        metavar="B",
        help="HP rate: b_n ~ n^-beta (>= 0); overrides --from-analysis",
    )
    p.add_argument(
        "--r",
        default=None,
        metavar="R",
        help="cost exponent: one run at width n costs n^r (> 0; default 2, the paper's standard)",
    )
    p.add_argument(
        "--rho",
        default=None,
        metavar="R",
        help="deprecated alias of --r (the paper's rho is the grid resolution)",
    )
    p.add_argument("--h", default="1", metavar="H", help="number of tuned HPs (>= 1; default 1)")
    p.add_argument(
        "--budget",
        required=True,
        metavar="F",
        help="total compute F, in units of one run at width 1 (> 1)",
    )
    p.add_argument(
        "--json",
        type=Path,
        default=None,
        metavar="OUT",
        help="write the plan as JSON (transfer, direct, exponents, useful)",
    )
    p.add_argument(
        "--from-analysis",
        type=Path,
        default=None,
        metavar="FILE",
        help="JSON written by `fasttransfer analyze --json`: alpha.estimate, beta.estimate",
    )
    for name, what in (
        ("a", "A in a_n = A n^-alpha"),
        ("c", "Bc in c_m = Bc m^(-2 beta)"),
        ("g", "G in g(K) = G K^(-2/h)"),
    ):
        p.add_argument(
            f"--coef-{name}",
            default="1",
            metavar="X",
            help=f"model constant {what} (> 0; default 1): sets the units of "
            "the predicted excess and the split of the budget",
        )


def _verify(p: argparse.ArgumentParser) -> None:
    from fasttransfer.checks import CHECKS

    p.add_argument(
        "--preset",
        choices=PILOT_PRESETS,
        default="quick",
        help="quick: a 2-core CPU in minutes (default); pilot: the paper's ReLU "
        "and k-index runs at its smallest widths, compared with its figures "
        "(read from the results bank, or about 75 minutes on 2 cores), the "
        "other checks at quick; cpu: the reduced regime of the ReLU "
        "simulations (about 20 minutes); paper: the paper's scale (the ReLU "
        "simulations re-analysed from the results bank)",
    )
    p.add_argument("--only", default=None, help=f"comma-separated subset of: {','.join(CHECKS)}")
    _store_args(p)


def _simulate(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="target", required=True, parser_class=_OneLineParser)
    relu = sub.add_parser(
        "relu",
        help="the two-layer ReLU net's width x LR x seed sweep "
        "(Figure 5; the k-index late shift of Figure 2)",
    )
    relu.add_argument(
        "--study",
        choices=("relu", "kindex", "kindex-layerwise"),
        default="relu",
        help="relu: the ReLU counterexample (Figure 5); kindex: the Gaussian "
        "k-index late shift (Figure 2); kindex-layerwise: the same with the "
        "second-layer LR divided by 50",
    )
    relu.add_argument("--param", choices=("mup", "sp"), default="mup")
    _config_args(relu, presets=PILOT_PRESETS)
    _store_args(relu)
    relu.add_argument("--widths", type=int_list, default=None, help="= --set widths=...")
    relu.add_argument("--lrs", type=positive_int, default=None, help="= --set n_lrs=N")
    relu.add_argument("--seeds", type=positive_int, default=None, help="= --set seeds=N")
    relu.add_argument("--steps", type=positive_int, default=None, help="= --set steps=N")
    relu.add_argument(
        "--dtype", choices=("float32", "float64"), default=None, help="= --set dtype=..."
    )
    _progress_arg(relu)
    _verbosity_args(relu)

    rfrr = sub.add_parser("rfrr", help="Theorem 3: random-feature ridge regression")
    _config_args(rfrr)
    _store_args(rfrr)
    _progress_arg(rfrr)
    _verbosity_args(rfrr)

    topk = sub.add_parser("topk", help="the top-k trajectory decomposition (its settings)")
    _config_args(topk, presets=(*PRESETS, "gpu"))  # gpu: the transformers on one GPU
    _store_args(topk)
    topk.add_argument(
        "--settings",
        type=_topk_settings,
        default=None,
        help="comma-separated subset of the settings (default: the preset's)",
    )
    topk.add_argument("--widths", type=int_list, default=None)
    topk.add_argument(
        "--lrs",
        type=positive_int,
        default=None,
        help="number of log-spaced learning rates over the preset's range",
    )
    topk.add_argument(
        "--seeds",
        type=positive_int,
        default=None,
        help="recorded seeds 0..N-1 (a setting's unrecorded transfer seeds "
        "keep their number and follow them)",
    )
    topk.add_argument("--steps", type=positive_int, default=None)
    topk.add_argument("--dtype", choices=("float32", "float64"), default=None)
    _progress_arg(topk)
    _verbosity_args(topk)


def _figures(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--out",
        type=Path,
        default=Path("results"),
        help="results folder (default results): reads OUT/<study>/<preset>/, writes OUT/figures/",
    )
    p.add_argument(
        "--preset",
        choices=PILOT_PRESETS,
        default="quick",
        help="whose stored results to draw (figures of studies without a cpu "
        "or pilot preset use quick)",
    )
    p.add_argument("--only", default=None, help="comma-separated figure names")


def _coordcheck(p: argparse.ArgumentParser) -> None:
    _config_args(p, presets=("quick", "paper"))
    _store_args(p)
    p.add_argument(
        "--widths",
        type=int_list,
        default=None,
        help="= --set widths=... (at least 3; default 64,...,4096)",
    )
    p.add_argument("--seeds", type=positive_int, default=None, help="= --set seeds=N")
    p.add_argument(
        "--steps",
        type=positive_int,
        default=None,
        help="= --set steps=N: Adam steps recorded after init (default 5)",
    )
    p.add_argument(
        "--lr",
        type=positive_float,
        default=None,
        help="= --set lr=X: scale-free learning rate nu (default 0.03)",
    )
    p.add_argument("--dtype", choices=("float32", "float64"), default=None)
    _progress_arg(p)


def _docs(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--claims",
        type=Path,
        default=None,
        metavar="PATH",
        help="a verify run's claims.json (default BANK/verify/claims.json)",
    )
    p.add_argument(
        "--bank",
        type=Path,
        default=Path("results_bank"),
        help="the results bank whose entries the Results page lists (default results_bank)",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=Path("docs/generated"),
        help="where the pages go (default docs/generated); unchanged ones are not rewritten",
    )


COMMANDS: dict[str, tuple[str, Callable]] = {
    "analyze": ("estimate alpha, beta and the transfer verdict from a width x HP sweep", _analyze),
    "plan": ("Theorem 2 planner: compute-optimal proxy width, trials and target width", _plan),
    "verify": ("run every check of the paper's claims and write report.md", _verify),
    "simulate": ("run a simulation (relu | rfrr | topk) into the results store", _simulate),
    "figures": ("draw every paper figure from the results store (PNG and PDF)", _figures),
    "coordcheck": ("muP coordinate check of the two-layer ReLU net", _coordcheck),
    "docs": ("write the documentation site's generated pages (claims, results bank)", _docs),
}


def build_parser() -> argparse.ArgumentParser:
    parser = _OneLineParser(prog="fasttransfer", description=__doc__.splitlines()[0])
    _verbosity_args(parser, default=logging.INFO)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_OneLineParser)
    for name, (help_text, arguments) in COMMANDS.items():
        command = sub.add_parser(name, help=help_text, description=help_text)
        arguments(command)
        _verbosity_args(command)
    return parser


def _dispatch(args: argparse.Namespace) -> int:
    # static imports, deferred to the command that runs
    if args.command == "analyze":
        from fasttransfer import cmd_analyze as cmd
    elif args.command == "plan":
        from fasttransfer import cmd_plan as cmd
    elif args.command == "verify":
        from fasttransfer import cmd_verify as cmd
    elif args.command == "simulate":
        from fasttransfer import cmd_simulate as cmd
    elif args.command == "figures":
        from fasttransfer import cmd_figures as cmd
    elif args.command == "docs":
        from fasttransfer import cmd_docs as cmd
    else:
        from fasttransfer import cmd_coordcheck as cmd
    return int(cmd.run(args) or 0)


def main(argv: list[str] | None = None) -> int:
    # float64 is the project's CPU default; JAX reads this at import time,
    # and the CLI owns the process, so it is the one place that sets it.
    os.environ.setdefault("JAX_ENABLE_X64", "1")
    # the CLI writes figures to files only (no display on CI or GPU hosts); a default, as
    # above, set here and not at import so that a notebook keeps its own backend
    os.environ.setdefault("MPLBACKEND", "Agg")
    # JAX already uses every core; a multi-threaded BLAS beside it (numpy in the RFRR Monte
    # Carlo, LAPACK callbacks in the top-k recorder) oversubscribes a small machine and was
    # seen 10-20x slower on 2 cores. A default only: the user's own setting wins.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    args = build_parser().parse_args(argv)
    prog = f"fasttransfer {args.command}" + (
        f" {args.target}" if getattr(args, "target", None) else ""
    )
    # progress and status messages: the library's loggers, shown here on stderr (INFO;
    # -q: warnings only and no progress bars, -v: debug); the output asked for is stdout
    if args.log_level > logging.INFO and hasattr(args, "no_progress"):
        args.no_progress = True
    undo_logging = configure_logging(args.log_level)
    try:
        # a message logged while a progress bar is drawn goes above the bar, not into it
        from tqdm.contrib.logging import logging_redirect_tqdm

        with logging_redirect_tqdm(loggers=[logging.getLogger("fasttransfer")]):
            return _dispatch(args)
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
    finally:
        undo_logging()


if __name__ == "__main__":
    sys.exit(main())
