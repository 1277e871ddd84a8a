"""``fasttransfer plan``: the Theorem 2 planner, in the paper's notation.

Given the loss and HP rates (alpha, beta), the cost exponent r of one run
(``cost ~ n^r``; r = 2, the paper's "standard", is the default), the number of tuned
HPs h and a compute budget F (in units of one run at width 1), print the
compute-optimal transfer plan (proxy width, trials, target width, predicted excess)
beside direct tuning at the target, whether transfer has the better exponent, and how
the compute-optimal widths grow with F. ``--rho`` is a deprecated alias of ``--r`` (the
paper's rho is the grid resolution, not a cost exponent). ``--from-analysis FILE`` takes alpha and beta from the JSON that
``fasttransfer analyze --json`` writes (parsed and validated as data). The math lives in
:mod:`theory.grid_planner`.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from fasttransfer.store import atomic_write_json

logger = logging.getLogger(__name__)


def read_analysis(path: Path) -> dict:
    """alpha and beta (and the verdict, when present) from an ``analyze --json`` file.

    The file is parsed as JSON and validated (a mapping with numeric
    ``alpha.estimate`` and ``beta.estimate``); anything else is an InputError that
    names the file and the key.
    """
    import json
    import math

    from fasttransfer.errors import InputError

    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as err:
        raise InputError(f"--from-analysis: cannot read {path}: {err.strerror or err}") from None
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise InputError(f"--from-analysis: {path} is not valid JSON ({err})") from None
    if not isinstance(data, dict):
        raise InputError(f"--from-analysis: {path}: expected a JSON object at the top level")
    out = {}
    for key in ("alpha", "beta"):
        entry = data.get(key)
        if not isinstance(entry, dict) or "estimate" not in entry:
            raise InputError(f"--from-analysis: {path}: missing {key}.estimate")
        value = entry["estimate"]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InputError(f"--from-analysis: {path}: {key}.estimate is not a number: {value!r}")
        if not math.isfinite(float(value)):
            raise InputError(f"--from-analysis: {path}: {key}.estimate is not finite")
        out[key] = float(value)
    verdict = data.get("verdict")
    out["verdict"] = verdict if isinstance(verdict, str) else None
    return out


def _number(name: str, text) -> float:
    import math

    from fasttransfer.errors import InputError

    try:
        value = float(text)
    except (TypeError, ValueError):
        raise InputError(f"--{name}: not a number: {text!r}") from None
    if not math.isfinite(value):
        raise InputError(f"--{name}: must be finite, got {text!r}")
    return value


def cost_exponent(r_text, rho_text) -> str:
    """The value of ``--r``, or of the deprecated ``--rho`` (with a warning through
    :mod:`logging`), or the default "2"; both given is an error unless they agree."""
    from fasttransfer.errors import InputError

    if rho_text is None:
        return "2" if r_text is None else r_text
    if r_text is not None and r_text != rho_text:
        raise InputError(
            f"--rho: deprecated alias of --r; got --r {r_text} and --rho {rho_text}, give --r only"
        )
    logger.warning(
        "fasttransfer plan: warning: --rho is deprecated: it sets the cost exponent r "
        "(a run at width n costs n^r); use --r. The paper's rho is the grid resolution."
    )
    return rho_text


def format_plan(p, *, coefs: tuple[float, float, float], source: str = "") -> str:
    """The text ``plan`` prints."""
    w = p.widths
    lines = []
    if source:
        lines.append(f"rates from: {source}")
    lines += [
        f"budget F = {p.budget:.6g} (units: one run at width 1; a run at width n costs "
        f"n^r, r = {p.r:g}; h = {p.h:g} tuned HPs)",
        f"excess in units of A = {coefs[0]:g}, Bc = {coefs[1]:g}, G = {coefs[2]:g} "
        "(a_n = A n^-alpha, c_m = Bc m^-2beta, g(K) = G K^-2/h)",
        "",
        f"  transfer: tune at proxy width m = {p.proxy_width} with K = {p.trials} trials, "
        f"then train target width n = {p.target_width} once",
        f"            predicted excess E_T = {p.excess:.6g}",
        f"  direct:   tune at width n = {p.direct_width} with K = {p.direct_trials} trials",
        f"            predicted excess E_D = {p.direct_excess:.6g}",
        "",
        f"  exponents: E_T*(F) ~ F^-{p.exponent_transfer:.6g}   "
        "(min(alpha/r, 2 beta/(h beta + r)))",
        f"             E_D*(F) ~ F^-{p.exponent_direct:.6g}   (2 alpha/(h alpha + 2r))",
        f"  useful: {'yes' if p.useful else 'no'}  (transfer's exponent is strictly better "
        "iff beta > alpha/2)",
        "",
        "  compute-optimal widths (Theorem 2):",
        f"    direct:   n* ~ F^{w.direct:.6g}   (2/(h alpha + 2r))",
        f"    transfer: proxy n* ~ F^{w.proxy_paper:.6g}   (1/(h beta + r)), "
        f"target M* ~ F^{w.target_paper:.6g}   (1/r)",
        f"    the exact minimiser of this model ({w.regime}): proxy ~ F^{w.proxy:.6g}, "
        f"target ~ F^{w.target:.6g}",
    ]
    if (w.proxy, w.target) != (w.proxy_paper, w.target_paper):
        lines.append(
            "    (the paper's widths attain the same excess exponent; the exact "
            "minimiser gives the non-binding part a vanishing share of F)"
        )
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from fasttransfer.errors import InputError
    from fasttransfer.theory.grid_planner import plan

    source = ""
    alpha_text, beta_text = args.alpha, args.beta
    if args.from_analysis is not None:
        rates = read_analysis(args.from_analysis)
        source = f"{args.from_analysis} (verdict: {rates['verdict'] or 'not given'})"
        if alpha_text is None:
            alpha_text = rates["alpha"]
        if beta_text is None:
            beta_text = rates["beta"]
    if alpha_text is None or beta_text is None:
        missing = "--alpha" if alpha_text is None else "--beta"
        raise InputError(f"{missing}: required (or give --from-analysis FILE)")
    coefs = tuple(_number(f"coef-{k}", getattr(args, f"coef_{k}")) for k in ("a", "c", "g"))
    for k, v in zip(("a", "c", "g"), coefs, strict=False):
        if v <= 0:
            raise InputError(f"--coef-{k}: must be > 0, got {v:g}")
    r_text = cost_exponent(args.r, args.rho)
    result = plan(
        _number("alpha", alpha_text),
        _number("beta", beta_text),
        _number("rho" if args.r is None and args.rho is not None else "r", r_text),
        _number("h", args.h),
        _number("budget", args.budget),
        A=coefs[0],
        Bc=coefs[1],
        G=coefs[2],
    )
    print(format_plan(result, coefs=coefs, source=source))
    if args.json is not None:
        out = Path(args.json)
        atomic_write_json(out, result.to_json_dict())
        print(f"\nwrote {out}")
    return 0
