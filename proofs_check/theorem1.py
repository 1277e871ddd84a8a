"""Symbolic checks of Proposition 1 (rate relations, the paper's Section 3.1; verify check
``theorem1``).

Setting: ``phi_inf`` has minimiser ``nu*`` and curvature ``mu <= phi_inf'' <= L`` near
it; ``eps_n = sup_nu |phi_n(nu) - phi_inf(nu)|``; ``nu_n = nu_star(n)``,
``b_n = |nu_n - nu*|``, ``c_n = phi_inf(nu_n) - phi_inf*``, ``a_n = |phi_n* - phi_inf*|``.

Every ``check_*`` function takes its assumptions and the constants it claims as
explicit arguments (defaults: the paper's) and DERIVES its conclusion from them; the
claim passes only if it follows from what was derived. A caller who passes a mutated
assumption or a wrong constant gets ``ok = False``:

* linear facts about function values (the uniform gap, the minimiser properties) are
  combined by a Farkas certificate: multipliers ``lambda_i >= 0`` with
  ``bound - target = sum_i lambda_i g_i`` (``g_i >= 0`` the facts), the smallest such
  bound found by a linear program and the identity then re-expanded to 0 by sympy in
  exact arithmetic. No certificate: the bound does not follow from the facts;
* the curvature sandwich integrates the stated curvature bounds against the weight of
  Taylor's integral remainder (the identity and the weight's sign verified by sympy);
* the exponent conditions are limits of the derived bounds along the stated rates.

One HP direction is used; the h-dimensional case is the same argument along the
segment from nu* to nu_n (the Taylor remainder is one-dimensional along it).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import sympy as sp
from sympy.core.function import AppliedUndef

__all__ = [
    "Bound",
    "Fact",
    "SymbolicResult",
    "check_all",
    "check_chain",
    "check_exponent_conditions",
    "check_hp_gap",
    "check_loss_gap",
    "check_taylor_sandwich",
    "derive_lower_bound",
    "derive_upper_bound",
    "inequality_slack",
    "locally_tight_gap",
    "measure_gaps",
    "minimisers",
    "perturbation_values",
    "phi_inf_values",
    "random_families",
    "tight_family",
    "uniform_gap",
]

# The objects of Proposition 1. NU is the bound variable of a "for every nu" assumption;
# the proof instantiates it at the two points it compares, nu_n and nu*.
NU = sp.Symbol("nu", real=True)
NU_N = sp.Symbol("nu_n", real=True)
NU_STAR = sp.Symbol("nu_star", real=True)
PHI_N, PHI_INF = sp.Function("phi_n"), sp.Function("phi_inf")
EPS = sp.Symbol("epsilon_n", positive=True)
ABAR = sp.Symbol("abar_n", positive=True)
C_LO, C_HI = sp.symbols("c C", positive=True)
MU, L = sp.symbols("mu L", positive=True)
B = sp.Symbol("b", positive=True)
T = sp.Symbol("t", real=True)  # the integration variable of the Taylor remainder
ALPHA, BETA = sp.symbols("alpha beta", positive=True)
# the HP gap bound the paper states: b_n <= 2 sqrt(eps_n/mu) (check_hp_gap's default)
HP_GAP_CLAIM = 2 * sp.sqrt(EPS / MU)


@dataclass(frozen=True)
class SymbolicResult:
    """A derivation: ``expressions`` (name -> sympy expression) and the verdict ``ok``."""

    name: str
    statement: str
    expressions: dict = field(default_factory=dict)
    ok: bool = False

    def latex(self) -> dict[str, str]:
        """``name -> $latex$`` for the report."""
        return {k: f"${sp.latex(v)}$" for k, v in self.expressions.items()}


# ----------------------------------------------------------------------------- assumptions
@dataclass(frozen=True)
class Fact:
    """An assumption ``lhs <= rhs`` (or ``>=``), linear in the values of phi_n and
    phi_inf; when it contains :data:`NU` it holds for every nu."""

    name: str
    relation: sp.Rel


def uniform_gap(eps=EPS) -> tuple[Fact, ...]:
    """``sup_nu |phi_n(nu) - phi_inf(nu)| <= eps``, as its two one-sided halves."""
    d = PHI_N(NU) - PHI_INF(NU)
    return (Fact("phi_n - phi_inf <= eps", d <= eps), Fact("phi_inf - phi_n <= eps", -d <= eps))


def minimisers() -> tuple[Fact, ...]:
    """``nu_n`` minimises phi_n and ``nu*`` minimises phi_inf."""
    return (
        Fact("nu_n minimises phi_n", PHI_N(NU_N) <= PHI_N(NU)),
        Fact("nu* minimises phi_inf", PHI_INF(NU_STAR) <= PHI_INF(NU)),
    )


def locally_tight_gap(c=C_LO, C=C_HI, abar=ABAR) -> tuple[Fact, ...]:
    """The paper's locally tight gap: ``c abar_n <= phi_n - phi_inf <= C abar_n`` near
    nu*(inf) (here: at the two points the proof uses)."""
    d = PHI_N(NU) - PHI_INF(NU)
    return (
        Fact("phi_n - phi_inf >= c abar", c * abar <= d),
        Fact("phi_n - phi_inf <= C abar", d <= C * abar),
    )


# ----------------------------------------------------------------------------- certificates
@dataclass(frozen=True)
class Bound:
    """``target <= value`` derived from facts: ``value`` (None when it does not follow),
    the certificate (instance name -> multiplier > 0) and, when None, why."""

    value: sp.Expr | None
    certificate: dict = field(default_factory=dict)
    reason: str = ""


def _instances(facts, points):
    """Each fact as ``(name, g)`` with ``g >= 0``, instantiated at every point when it
    holds for every nu; instances that are identities (``g = 0``) are dropped."""
    out = []
    for fact in facts:
        rel = fact.relation
        where = points if NU in rel.free_symbols else (None,)
        for p in where:
            r = rel if p is None else rel.subs(NU, p)
            if r is sp.true:
                continue
            if r is sp.false:
                raise ValueError(f"fact {fact.name!r} is false at nu = {p}")
            g = sp.expand(r.gts - r.lts)
            if g != 0:
                out.append((fact.name if p is None else f"{fact.name} at nu = {p}", g))
    return out


def derive_upper_bound(target, facts, *, points=(NU_N, NU_STAR)) -> Bound:
    """The smallest bound ``target <= value`` that a non-negative combination of the
    facts certifies (``value`` free of phi values), verified in exact arithmetic.

    With ``g_i >= 0`` the facts' instances, find ``lambda_i >= 0`` such that
    ``target + sum_i lambda_i g_i`` has no phi value left: that remainder is the bound.
    The multipliers are searched by a linear program (scipy's HiGHS: the coefficients
    of every phi value cancel, the bound is smallest with every parameter -- eps, c,
    C, ... -- set to 1, a consistent instance of all the assumptions used here), then
    rounded to rationals and the identity ``target + sum lambda_i g_i - value = 0`` is
    re-expanded by sympy: only a certificate that survives that is returned, and it is
    valid for every parameter value. By LP duality a bound that no certificate gives
    does not follow from the facts. (sympy's own simplex, 1.14, returned infeasible
    points on these equality-constrained programs: sympy/sympy#28089.)
    """
    from fractions import Fraction

    import numpy as np
    from scipy.optimize import linprog

    inst = _instances(facts, points)
    values = sorted(
        set().union(
            *(g.atoms(AppliedUndef) for _, g in inst), sp.sympify(target).atoms(AppliedUndef)
        ),
        key=str,
    )
    dummies = {v: sp.Dummy(f"v{i}") for i, v in enumerate(values)}
    tgt = sp.expand(sp.sympify(target).xreplace(dummies))
    gs = [sp.expand(g.xreplace(dummies)) for _, g in inst]
    for (name, _), g in zip(inst, gs, strict=False):
        if sp.Poly(g, *dummies.values()).total_degree() > 1:
            raise ValueError(f"fact {name!r} is not linear in the function values")
    if not gs:
        return Bound(None, reason="no facts")
    zero = {d: 0 for d in dummies.values()}
    params = set().union(tgt.free_symbols, *(g.free_symbols for g in gs)) - set(zero)
    at_one = {p: 1 for p in params}
    A_eq = np.array([[float(g.coeff(d)) for g in gs] for d in dummies.values()])
    b_eq = np.array([-float(tgt.coeff(d)) for d in dummies.values()])
    cost = np.array([float(g.subs(zero).subs(at_one)) for g in gs])
    res = linprog(cost, A_eq=A_eq, b_eq=b_eq, bounds=(0, None), method="highs")
    if res.status == 2:
        return Bound(None, reason="no non-negative combination of the facts bounds it")
    if res.status != 0:
        return Bound(None, reason=f"linear program: {res.message}")
    mult = [sp.Rational(Fraction(float(x)).limit_denominator(10**6)) for x in res.x]
    value = sp.simplify((tgt + sum(m * g for m, g in zip(mult, gs, strict=False))).subs(zero))
    # the certificate, re-verified exactly: target + sum lambda_i g_i - value == 0
    residual = sp.expand(tgt + sum(m * g for m, g in zip(mult, gs, strict=False)) - value)
    if residual != 0 or any(m < 0 for m in mult) or value.free_symbols & set(zero):
        return Bound(None, reason="certificate failed exact re-verification")
    cert = {name: m for (name, _), m in zip(inst, mult, strict=False) if m != 0}
    return Bound(value, cert)


def derive_lower_bound(target, facts, *, points=(NU_N, NU_STAR)) -> Bound:
    """``target >= value``: :func:`derive_upper_bound` of ``-target``, negated."""
    up = derive_upper_bound(-sp.sympify(target), facts, points=points)
    return Bound(None if up.value is None else -up.value, up.certificate, up.reason)


def _implies(claimed_minus_derived) -> bool:
    """True when sympy establishes ``claimed - derived >= 0`` (symbols positive)."""
    if claimed_minus_derived is None or claimed_minus_derived.has(sp.oo, -sp.oo, sp.zoo, sp.nan):
        return False
    return bool(sp.simplify(claimed_minus_derived).is_nonnegative)


def _certificate_text(bound: Bound) -> sp.Expr:
    """The certificate as a sympy expression for the report: sum lambda_i [fact_i]."""
    if bound.value is None:
        return sp.Symbol(r"\text{not derivable}")
    return sp.Add(
        *(
            m * sp.Symbol(rf"[\text{{{name.replace('_', chr(92) + '_')}}}]")
            for name, m in bound.certificate.items()
        ),
        evaluate=False,
    )


# ----------------------------------------------------------------------------- checks
def check_chain(facts=None, *, claimed_c=2 * EPS, claimed_a=EPS) -> SymbolicResult:
    """``c_n <= 2 eps_n`` through three brackets, and ``a_n <= eps_n``.

    ``c_n = [phi_inf - phi_n](nu_n) + [phi_n(nu_n) - phi_n(nu*)] + [phi_n - phi_inf](nu*)``
    (sympy: the sum minus c_n simplifies to 0). Each bracket is bounded from ``facts``
    (default: the uniform gap and the two minimiser properties) by its own certificate
    (:func:`derive_upper_bound`); the chain's bound is their sum, and the tightest bound on
    c_n from the same facts is derived beside it. ``a_n = |phi_n(nu_n) - phi_inf(nu*)|``:
    both signs bounded likewise. ``ok``: every bound derivable and ``claimed_c``,
    ``claimed_a`` at least the derived ones.
    """
    facts = (uniform_gap() + minimisers()) if facts is None else tuple(facts)
    nu, nus = NU_N, NU_STAR
    c_n = PHI_INF(nu) - PHI_INF(nus)
    brackets = [PHI_INF(nu) - PHI_N(nu), PHI_N(nu) - PHI_N(nus), PHI_N(nus) - PHI_INF(nus)]
    telescoping_ok = sp.simplify(sum(brackets) - c_n) == 0
    bounds = [derive_upper_bound(br, facts) for br in brackets]
    brackets_ok = all(bd.value is not None for bd in bounds)
    chain = sp.Add(*(bd.value for bd in bounds)) if brackets_ok else None
    direct = derive_upper_bound(c_n, facts)
    a_signed = PHI_N(nu) - PHI_INF(nus)
    a_up, a_down = derive_upper_bound(a_signed, facts), derive_upper_bound(-a_signed, facts)
    a_ok = a_up.value is not None and a_down.value is not None
    a_bound = sp.Max(a_up.value, a_down.value) if a_ok else None
    claims_ok = (
        brackets_ok
        and a_ok
        and _implies(sp.sympify(claimed_c) - chain)
        and _implies(sp.sympify(claimed_a) - a_bound)
    )
    expressions = {"c_n telescoped": sp.Add(*brackets, evaluate=False)}
    for i, bd in enumerate(bounds, 1):
        expressions[f"bracket {i} <= (derived)"] = bd.value if bd.value is not None else sp.nan
        expressions[f"bracket {i} certificate"] = _certificate_text(bd)
    expressions.update(
        {
            "c_n bound (sum of brackets)": chain if chain is not None else sp.nan,
            "tightest c_n bound from the facts": direct.value
            if direct.value is not None
            else sp.nan,
            "a_n bound": a_bound if a_bound is not None else sp.nan,
            "claimed c_n bound": sp.sympify(claimed_c),
            "claimed a_n bound": sp.sympify(claimed_a),
        }
    )
    return SymbolicResult(
        name="chain",
        statement=r"a_n \le \varepsilon_n,\ c_n \le 2\varepsilon_n \text{ (three brackets)}",
        expressions=expressions,
        ok=bool(telescoping_ok and brackets_ok and claims_ok),
    )


def check_loss_gap(facts=None, *, claimed=(C_LO * ABAR, C_HI * ABAR)) -> SymbolicResult:
    """Under the paper's locally tight gap, ``c abar_n <= a_n <= C abar_n`` (a_n = Theta(abar_n)).

    ``a_n = phi_n(nu_n) - phi_inf(nu*)``; both bounds are derived from ``facts`` (default:
    :func:`locally_tight_gap` and :func:`minimisers`). ``ok``: both derivable, the
    derived lower bound is a positive multiple of abar_n (so a_n is not o(abar_n)), and
    ``claimed = (lower, upper)`` follows from them.
    """
    facts = (locally_tight_gap() + minimisers()) if facts is None else tuple(facts)
    a_signed = PHI_N(NU_N) - PHI_INF(NU_STAR)
    lo, hi = derive_lower_bound(a_signed, facts), derive_upper_bound(a_signed, facts)
    ok = lo.value is not None and hi.value is not None
    theta_ok = (
        ok
        and bool(sp.simplify(lo.value / ABAR).is_positive)
        and not sp.simplify(lo.value / ABAR).has(ABAR)
    )
    ok = bool(
        ok
        and theta_ok
        and _implies(lo.value - sp.sympify(claimed[0]))
        and _implies(sp.sympify(claimed[1]) - hi.value)
    )
    return SymbolicResult(
        name="loss_gap",
        statement=r"c\,\bar a_n \le a_n \le C\,\bar a_n \ (a_n = \Theta(\bar a_n))",
        expressions={
            "a_n >= (derived)": lo.value if lo.value is not None else sp.nan,
            "lower certificate": _certificate_text(lo),
            "a_n <= (derived)": hi.value if hi.value is not None else sp.nan,
            "upper certificate": _certificate_text(hi),
        },
        ok=ok,
    )


def check_taylor_sandwich(
    *, gradient=0, curvature=(MU, L), claimed=(MU / 2, L / 2)
) -> SymbolicResult:
    """``c_n`` between ``k_lo b^2`` and ``k_hi b^2`` from Taylor's theorem with remainder.

    Assumptions (inputs): ``phi_inf'(nu*) = gradient`` (0 at an interior minimiser) and
    ``curvature[0] <= phi_inf'' <= curvature[1]`` on the segment (constants, or
    expressions in :data:`T`, the position).

    1. sympy verifies ``f(x) = f(x*) + f'(x*)(x - x*) + int_{x*}^{x} (x - t) f''(t) dt``
       (the difference has zero x-derivative and vanishes at x = x*);
    2. on each side (x = x* + b, x = x* - b) the remainder, written over an increasing
       interval, has a weight linear in t that is >= 0 at both ends, hence on it;
    3. integrating the weight against the curvature bounds gives the derived bounds on
       ``c = f(x) - f(x*)``; ``k_lo``, ``k_hi`` are the limits of bound/b^2 as b -> 0.

    ``ok``: the identity and weights hold, ``0 < k_lo`` and ``k_hi < oo`` on both sides
    (c = Theta(b^2)), and ``claimed[0] b^2 <= lower``, ``upper <= claimed[1] b^2`` for
    every b > 0.
    """
    x, xs = sp.symbols("x x_star", real=True)
    f = sp.Function("phi_inf")
    remainder = sp.Integral((x - T) * sp.diff(f(T), T, 2), (T, xs, x))
    taylor_gap = f(x) - f(xs) - sp.diff(f(xs), xs) * (x - xs) - remainder
    identity_ok = (
        sp.simplify(sp.diff(taylor_gap, x).doit()) == 0
        and sp.simplify(taylor_gap.subs(x, xs).doit()) == 0
    )
    curv_lo, curv_hi = (sp.sympify(v) for v in curvature)
    claimed_lo, claimed_hi = (sp.sympify(v) for v in claimed)
    weight0 = remainder.function / sp.diff(f(T), T, 2)  # (x - t), read off the remainder

    sides, weights_ok, theta_ok, claims_ok = {}, True, True, True
    k_lo, k_hi = [], []
    for label, sign in (("right", 1), ("left", -1)):
        xb = xs + sign * B
        w = sp.expand(weight0.subs(x, xb))
        lo_t, hi_t = (xs, xb) if sign > 0 else (xb, xs)
        w = w if sign > 0 else -w  # flipping the limits flips the weight's sign
        linear = sp.Poly(w, T).degree() <= 1
        weights_ok &= bool(
            linear
            and sp.simplify(w.subs(T, lo_t)).is_nonnegative
            and sp.simplify(w.subs(T, hi_t)).is_nonnegative
        )
        first = sp.sympify(gradient) * (xb - xs)
        lower = sp.simplify(first + sp.integrate(w * curv_lo, (T, lo_t, hi_t)))
        upper = sp.simplify(first + sp.integrate(w * curv_hi, (T, lo_t, hi_t)))
        kl = sp.limit(lower / B**2, B, 0, "+")
        kh = sp.limit(upper / B**2, B, 0, "+")
        theta_ok &= bool(kl.is_positive and kl.is_finite and kh.is_positive and kh.is_finite)
        claims_ok &= _implies(lower - claimed_lo * B**2) and _implies(claimed_hi * B**2 - upper)
        k_lo.append(kl)
        k_hi.append(kh)
        sides[f"c_n >= ({label}, derived)"] = lower
        sides[f"c_n <= ({label}, derived)"] = upper
    klo, khi = sp.simplify(sp.Min(*k_lo)), sp.simplify(sp.Max(*k_hi))
    return SymbolicResult(
        name="taylor_sandwich",
        statement=r"k_{lo} b_n^2 \le c_n \le k_{hi} b_n^2,\ "
        r"(k_{lo}, k_{hi}) = (\mu/2, L/2) \text{ derived}",
        expressions={
            "taylor remainder R": remainder,
            **sides,
            "k_lo = lim lower/b^2": klo,
            "k_hi = lim upper/b^2": khi,
            "claimed (k_lo, k_hi)": sp.Tuple(claimed_lo, claimed_hi),
        },
        ok=bool(identity_ok and weights_ok and theta_ok and claims_ok),
    )


def check_hp_gap(*, chain_bound=2 * EPS, k_lo=MU / 2, claimed=HP_GAP_CLAIM) -> SymbolicResult:
    """``b_n <= 2 sqrt(eps_n/mu)`` from ``k_lo b_n^2 <= c_n <= chain_bound``.

    The inputs are the two derived facts (:func:`check_all` passes the outputs of
    :func:`check_chain` and :func:`check_taylor_sandwich`); sympy solves
    ``k_lo b^2 <= chain_bound`` for b > 0 and ``ok`` asks that the solution set be a
    bounded interval (0, b_max] with ``b_max <= claimed``.
    """
    sol = sp.solve_univariate_inequality(
        sp.sympify(k_lo) * B**2 <= sp.sympify(chain_bound), B, relational=False
    )
    # b > 0 is declared, so the solution set's supremum is b_max (oo when unbounded)
    b_max = sol.sup if isinstance(sol, sp.Interval) and sol.sup.is_positive else sp.oo
    ok = bool(b_max.is_finite and _implies(sp.sympify(claimed) - b_max))
    return SymbolicResult(
        name="hp_gap",
        statement=r"b_n \le 2\sqrt{\varepsilon_n/\mu}",
        expressions={
            "solution set of k_lo b^2 <= c_n bound": sol,
            "b_n bound (derived)": b_max,
            "claimed": sp.sympify(claimed),
        },
        ok=ok,
    )


def check_exponent_conditions(
    *,
    k_lo=MU / 2,
    k_hi=L / 2,
    chain_bound=2 * EPS,
    loss_gap_lower=C_LO * ABAR,
    claimed_threshold=ALPHA / 2,
) -> SymbolicResult:
    """Rates: ``a_n = A n^-alpha``, ``b_n = B n^-beta``. From the derived sandwich
    ``k_lo b^2 <= c <= k_hi b^2``:

    * the exponent of c_n (limit of log c / log n of both bounds): ``-2 beta`` when
      ``0 < k_lo``, ``k_hi < oo``, i.e. ``c_n = Theta(n^-2beta)``;
    * ``c_n / a_n ~ n^(alpha - 2 beta)``: its exponent vanishes at the threshold sympy
      solves for; limits of c/a at threshold + d, threshold, threshold - d are 0, a
      positive constant and oo (fast, weak, none);
    * beta below the threshold is impossible: ``b_n <= sqrt(chain_bound / k_lo)`` with
      ``eps_n = abar_n <= a_n / (loss_gap_lower / abar_n)`` (locally tight gap) gives
      ``b_n = O(n^(-alpha/2))``; sympy derives the exponent of that bound.

    ``ok``: both sandwich exponents equal ``-2 beta``, the derived threshold equals
    ``claimed_threshold``, the three limits are as stated, and the smallest beta the
    bound allows equals the threshold.
    """
    n, A, Bn, d = sp.symbols("n A B_n d", positive=True)
    k_lo, k_hi = sp.sympify(k_lo), sp.sympify(k_hi)
    a = A * n ** (-ALPHA)
    b = Bn * n ** (-BETA)

    def rate(expr):  # lim_{n->oo} log(expr)/log(n); nan if expr is not a positive power
        if not (expr.is_positive and expr.is_finite):
            return sp.nan
        return sp.limit(sp.expand_log(sp.log(expr), force=True) / sp.log(n), n, sp.oo)

    ex_lo, ex_hi = rate(k_lo * b**2), rate(k_hi * b**2)
    theta_ok = bool(
        ex_lo is not sp.nan
        and ex_hi is not sp.nan
        and sp.simplify(ex_lo + 2 * BETA) == 0
        and sp.simplify(ex_hi + 2 * BETA) == 0
    )
    ratio_exponent = sp.simplify(ex_hi - rate(a)) if theta_ok else sp.nan
    roots = sp.solve(sp.Eq(ratio_exponent, 0), BETA) if theta_ok else []
    threshold = roots[0] if len(roots) == 1 else sp.nan
    limits_ok = False
    lims = {}
    if threshold is not sp.nan:
        lims = {
            "fast": sp.limit((k_hi * b**2 / a).subs(BETA, threshold + d), n, sp.oo),
            "weak": sp.limit((k_lo * b**2 / a).subs(BETA, threshold), n, sp.oo),
            "none": sp.limit((k_lo * b**2 / a).subs(BETA, threshold - d), n, sp.oo),
        }
        limits_ok = bool(
            lims["fast"] == 0
            and lims["weak"].is_positive
            and lims["weak"].is_finite
            and lims["none"] == sp.oo
        )
    # beta >= the threshold: the chain and the sandwich bound b_n by a power of a_n
    a_sym = sp.Symbol("a_n", positive=True)
    eps_of_a = sp.solve(sp.Eq(sp.sympify(loss_gap_lower), a_sym), ABAR)
    b_bound = (
        sp.sqrt(sp.sympify(chain_bound).subs(EPS, eps_of_a[0]) / k_lo).subs(a_sym, a)
        if len(eps_of_a) == 1 and k_lo.is_positive
        else sp.oo
    )
    b_exp = rate(b_bound) if b_bound is not sp.oo else sp.nan
    min_beta = -b_exp if b_exp is not sp.nan else sp.nan
    floor_ok = bool(
        min_beta is not sp.nan
        and threshold is not sp.nan
        and sp.simplify(min_beta - threshold) == 0
    )
    claim_ok = bool(
        threshold is not sp.nan and sp.simplify(sp.sympify(claimed_threshold) - threshold) == 0
    )
    return SymbolicResult(
        name="exponent_conditions",
        statement=r"c_n = \Theta(n^{-2\beta}) = o(n^{-\alpha}) \iff \beta > \alpha/2;\ "
        r"\beta < \alpha/2 \text{ impossible}",
        expressions={
            "exponent of c_n (both bounds)": sp.Tuple(ex_lo, ex_hi),
            "exponent of c_n / a_n": ratio_exponent,
            "threshold beta (derived)": threshold,
            "claimed threshold": sp.sympify(claimed_threshold),
            "lim c/a, beta = threshold + d": lims.get("fast", sp.nan),
            "lim c/a, beta = threshold": lims.get("weak", sp.nan),
            "lim c/a, beta = threshold - d": lims.get("none", sp.nan),
            "b_n bound in a_n": b_bound,
            "smallest beta allowed": min_beta,
        },
        ok=bool(theta_ok and limits_ok and floor_ok and claim_ok),
    )


def check_all() -> list[SymbolicResult]:
    """The five derivations, each later one fed the constants the earlier ones derived
    (nothing retyped): chain -> c_n bound; taylor -> k_lo, k_hi; loss gap -> its lower
    bound; then the HP gap and the exponent conditions."""
    chain = check_chain()
    gap = check_loss_gap()
    taylor = check_taylor_sandwich()
    c_bound = chain.expressions["c_n bound (sum of brackets)"]
    k_lo, k_hi = (
        taylor.expressions["k_lo = lim lower/b^2"],
        taylor.expressions["k_hi = lim upper/b^2"],
    )
    hp = check_hp_gap(chain_bound=c_bound, k_lo=k_lo)
    exps = check_exponent_conditions(
        k_lo=k_lo,
        k_hi=k_hi,
        chain_bound=c_bound,
        loss_gap_lower=gap.expressions["a_n >= (derived)"],
    )
    return [chain, gap, taylor, hp, exps]


# =============================================================================
# Numeric companion: random families phi_n = phi_inf + perturbation (numpy, float64)
# =============================================================================


def phi_inf_values(x, mu, L, w):
    """``phi_inf(nu*) + x`` minus ``phi_inf*``: ``mu/2 x^2 + (L - mu) w^2 log cosh(x/w)``.

    Its second derivative ``mu + (L - mu) sech^2(x/w)`` lies in [mu, L] everywhere, so
    the sandwich ``mu/2 x^2 <= . <= L/2 x^2`` holds globally (log cosh y <= y^2/2), with
    the minimiser at x = 0. Shapes broadcast.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.abs(x / w)
    # log cosh without cancellation: log1p(2 sinh^2(y/2)) near 0 (keeps the relative
    # accuracy that the sandwich test at tiny b_n needs), the asymptotic form beyond
    small = np.log1p(2.0 * np.sinh(np.minimum(y, 1.0) / 2.0) ** 2)
    large = y + np.log1p(np.exp(-2.0 * y)) - np.log(2.0)
    logcosh = np.where(y < 1.0, small, large)
    return 0.5 * mu * x**2 + (L - mu) * w**2 * logcosh


def perturbation_values(x, eps, coef, freq, phase):
    """``eps * sum_k coef_k cos(freq_k x + phase_k) / sum_k |coef_k|`` (sup <= eps).

    ``x``: (..., G); ``eps``: (...,); ``coef, freq, phase``: (..., J) -> (..., G).
    """
    x = np.asarray(x, dtype=np.float64)
    waves = np.cos(freq[..., None, :] * x[..., :, None] + phase[..., None, :])  # (..., G, J)
    norm = np.sum(np.abs(coef), axis=-1)
    return eps[..., None] * (waves @ coef[..., :, None])[..., 0] / norm[..., None]


def measure_gaps(mu, L, w, eps, coef, freq, phase, *, radius=None, points=4001, refine_steps=60):
    """a_n, b_n, c_n of ``phi_n = phi_inf + perturbation`` (phi_inf* = 0, nu* = 0).

    Batched over the leading shape S of ``mu, L, w, eps`` (each (S...,)) and of
    ``coef, freq, phase`` ((S..., J)). ``nu_star(n)`` is the argmin over a symmetric
    grid that contains nu* = 0 exactly (so ``phi_n(nu_n) <= phi_n(nu*)``, the step the
    proof uses, holds for the computed point), refined by a vectorised golden-section
    search within one grid cell on each side, kept only where it lowers phi_n.
    The grid spans ``radius`` (default ``3 sqrt(eps/mu) + 1``, beyond which Proposition 1
    already rules out the minimiser: b_n <= 2 sqrt(eps/mu)).
    Returns a dict of arrays (S...,): a, b, c, eps, mu, L.
    """
    mu, L, w, eps = (np.asarray(v, dtype=np.float64) for v in (mu, L, w, eps))
    if radius is None:
        radius = 3.0 * np.sqrt(eps / mu) + 1.0
    radius = np.broadcast_to(np.asarray(radius, dtype=np.float64), eps.shape)
    unit = np.linspace(-1.0, 1.0, 2 * (points // 2) + 1)  # odd: 0 is a grid point
    x = radius[..., None] * unit  # (S..., G)
    expand = lambda v: v[..., None]

    def phi_n(xx):
        return phi_inf_values(xx, expand(mu), expand(L), expand(w)) + perturbation_values(
            xx, eps, coef, freq, phase
        )

    values = phi_n(x)
    i = np.argmin(values, axis=-1)
    x_best = np.take_along_axis(x, i[..., None], axis=-1)[..., 0]
    f_best = np.take_along_axis(values, i[..., None], axis=-1)[..., 0]
    cell = radius * (unit[1] - unit[0])
    lo, hi = x_best - cell, x_best + cell
    g = (np.sqrt(5.0) - 1.0) / 2.0
    for _ in range(refine_steps):  # golden section, all families at once
        x1, x2 = hi - g * (hi - lo), lo + g * (hi - lo)
        left = phi_n(x1[..., None])[..., 0] < phi_n(x2[..., None])[..., 0]
        hi = np.where(left, x2, hi)
        lo = np.where(left, lo, x1)
    x_ref = 0.5 * (lo + hi)
    f_ref = phi_n(x_ref[..., None])[..., 0]
    better = f_ref < f_best
    x_n = np.where(better, x_ref, x_best)
    f_n = np.where(better, f_ref, f_best)
    return {
        "a": np.abs(f_n),
        "b": np.abs(x_n),
        "c": phi_inf_values(x_n, mu, L, w),
        "eps": eps,
        "mu": mu,
        "L": L,
    }


def random_families(
    rng: np.random.Generator,
    families: int,
    widths,
    *,
    alpha=0.5,
    components: int = 4,
    chunk: int = 48,
):
    """Random Proposition 1 families evaluated at ``widths``: per family mu ~ logU(0.1, 10),
    L/mu ~ logU(1, 20), w ~ logU(0.1, 3), eps_n = E0 n^-alpha (E0 ~ logU(0.01, 1)), and
    per (family, width) a random cosine perturbation (``components`` terms, frequencies
    logU(0.3, 30)). Returns :func:`measure_gaps` arrays of shape (families, widths)."""
    widths = np.asarray(widths, dtype=np.float64)
    F, W, J = families, widths.size, components
    logu = lambda lo, hi, size: np.exp(rng.uniform(np.log(lo), np.log(hi), size))
    mu = logu(0.1, 10.0, (F, 1)) * np.ones((1, W))
    L = mu * logu(1.0, 20.0, (F, 1))
    w = logu(0.1, 3.0, (F, 1)) * np.ones((1, W))
    eps = logu(0.01, 1.0, (F, 1)) * widths[None, :] ** (-alpha)
    coef = rng.standard_normal((F, W, J))
    freq = logu(0.3, 30.0, (F, W, J))
    phase = rng.uniform(0.0, 2.0 * np.pi, (F, W, J))
    # chunks of families bound the (chunk, W, grid, J) cosine table to ~50 MB
    parts = [
        measure_gaps(
            mu[i : i + chunk],
            L[i : i + chunk],
            w[i : i + chunk],
            eps[i : i + chunk],
            coef[i : i + chunk],
            freq[i : i + chunk],
            phase[i : i + chunk],
        )
        for i in range(0, F, chunk)
    ]
    return {k: np.concatenate([part[k] for part in parts]) for k in parts[0]}


def inequality_slack(g: dict, *, rtol: float = 1e-12) -> dict:
    """The ratios that Proposition 1 bounds by 1 (all elementwise), and ``holds``.

    ``a/eps <= 1``, ``c/(2 eps) <= 1``, ``b / (2 sqrt(eps/mu)) <= 1``,
    ``(mu/2 b^2)/c <= 1`` and ``c/(L/2 b^2) <= 1``. Each is tested as
    ``lhs <= rhs + rtol * (|rhs| + eps)``: the quantities are O(eps) sums of a handful
    of float64 terms, so 1e-12 relative is ~1e4 ulp of room, never a modelling slack.
    """
    a, b, c, eps, mu, L = (g[k] for k in ("a", "b", "c", "eps", "mu", "L"))
    pairs = {
        "a_n / eps_n": (a, eps),
        "c_n / (2 eps_n)": (c, 2.0 * eps),
        "b_n / (2 sqrt(eps_n/mu))": (b, 2.0 * np.sqrt(eps / mu)),
        "(mu/2 b_n^2) / c_n": (0.5 * mu * b**2, c),
        "c_n / (L/2 b_n^2)": (c, 0.5 * L * b**2),
    }
    out = {}
    holds = True
    for name, (lhs, rhs) in pairs.items():
        ok = lhs <= rhs + rtol * (np.abs(rhs) + eps)
        holds &= bool(np.all(ok))
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(rhs > 0, lhs / np.where(rhs > 0, rhs, 1.0), 0.0)
        out[name] = float(np.max(ratio))
    out["holds"] = holds
    return out


def tight_family(widths, *, mu=1.0, alpha=0.5, E0=1.0, shape=1.0, points=20001):
    """A family attaining Proposition 1's chain up to constants (mu = L).

    ``phi_inf = mu/2 x^2``, ``eps_n = E0 n^-alpha``, and the perturbation
    ``eps_n cos(pi x / x0)`` for |x| <= x0, ``-eps_n`` beyond, with
    ``x0 = shape * 2 sqrt(eps_n/mu)``: it lifts nu* by eps_n and lowers the region near
    x0 by eps_n, so the optimum moves a distance proportional to ``sqrt(eps_n/mu)``.
    Everything scales with ``sqrt(eps_n/mu)``, so the ratios ``c_n/(2 eps_n)`` and
    ``b_n/(2 sqrt(eps_n/mu))`` are the same constants at every width: b_n = Theta(a_n^(1/2)),
    the weak-transfer edge beta = alpha/2. Returns :func:`measure_gaps`-style arrays (W,).
    """
    widths = np.asarray(widths, dtype=np.float64)
    eps = E0 * widths ** (-alpha)
    x0 = shape * 2.0 * np.sqrt(eps / mu)
    radius = 3.0 * x0
    unit = np.linspace(-1.0, 1.0, 2 * (points // 2) + 1)
    x = radius[:, None] * unit  # (W, G), contains 0

    def phi_n(xx, e, s):
        pert = np.where(np.abs(xx) <= s, e * np.cos(np.pi * xx / s), -e)
        return 0.5 * mu * xx**2 + pert

    vals = phi_n(x, eps[:, None], x0[:, None])
    i = np.argmin(vals, axis=1)
    rows = np.arange(widths.size)
    x_n, f_n = x[rows, i], vals[rows, i]
    return {
        "a": np.abs(f_n),
        "b": np.abs(x_n),
        "c": 0.5 * mu * x_n**2,
        "eps": eps,
        "mu": np.full_like(eps, mu),
        "L": np.full_like(eps, mu),
    }
