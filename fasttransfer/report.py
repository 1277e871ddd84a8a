"""The verify report: a claims table in markdown (``report.md``), the same as HTML
with the figures inline (``report.html``), and the rows as JSON (``claims.json``)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from pathlib import Path

from fasttransfer.checks import CheckResult
from fasttransfer.store import provenance

_MARK = {
    "pass": "pass",
    "differs": "differs (see below)",
    "inconclusive": "inconclusive (see below)",
    "reduced": "reduced regime (no claim)",
    "fail": "**FAIL**",
}


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def markdown_table(rows: Iterable[Sequence], columns: Sequence[str]) -> str:
    """The markdown (pipe) table of ``rows`` under the headers ``columns``, through
    pandas' ``DataFrame.to_markdown`` (tabulate): every cell is ``str(value)`` as given
    (no number parsing or reformatting), with ``|`` escaped and newlines made spaces so a
    cell stays one cell; columns are padded to their widest cell."""
    import pandas as pd

    cells = [[_cell(v) for v in row] for row in rows]
    frame = pd.DataFrame(cells, columns=[_cell(c) for c in columns], dtype=object)
    return frame.to_markdown(index=False, disable_numparse=True)


def claims_table(results: Sequence[CheckResult], *, figures: bool = True) -> str:
    """The markdown claims table: claim | paper | measured | verdict | figure (the
    figure column only with ``figures``: the documentation site has no verify folder to
    link into)."""
    columns = ["check", "claim", "paper", "measured", "verdict"] + (["figure"] if figures else [])
    rows = [
        [r.check, r.claim, r.paper, r.measured, _MARK[r.verdict]]
        + ([" ".join(f"[{Path(f).stem}]({f})" for f in r.figures)] if figures else [])
        for r in results
    ]
    return markdown_table(rows, columns)


def render_markdown(
    results: Sequence[CheckResult],
    *,
    preset: str,
    timings: dict[str, float],
    skipped: Sequence[str] = (),
) -> str:
    n_fail = sum(r.verdict == "fail" for r in results)
    n_diff = sum(r.verdict == "differs" for r in results)
    n_red = sum(r.verdict == "reduced" for r in results)
    n_inc = sum(r.verdict == "inconclusive" for r in results)
    out = [
        "# fast-hp-transfer: verify report",
        "",
        f"Preset `{preset}`. {len(results)} claims checked: "
        f"{len(results) - n_fail - n_diff - n_red - n_inc} pass, {n_diff} differ from the "
        f"paper, {n_inc} inconclusive, {n_red} measured in a reduced regime (no claim), "
        f"{n_fail} fail.",
        "",
        "The paper's numbers are shown beside ours; no setup was tuned to agree.",
        "",
        "## Claims",
        "",
        claims_table(results),
        "",
    ]
    out += ["## What differs from the paper, and why", ""]
    disagree = [r for r in results if r.verdict == "differs"]
    for r in disagree:
        out.append(
            f"- **{r.check}**: measured *{r.measured}* where the paper has *{r.paper}* ({r.claim})."
        )
    undecided = [r for r in results if r.verdict == "inconclusive"]
    for r in undecided:
        out.append(
            f"- **{r.check}** (inconclusive): measured *{r.measured}*; the paper has "
            f"*{r.paper}* ({r.claim})."
        )
    if not disagree and not undecided:
        out.append("- Every measurement agrees with the paper's claim.")
    # setups that are our reconstruction: one line per (check, note), however many rows share it
    notes: dict[tuple[str, str], list[str]] = {}
    for r in results:
        if r.note:
            notes.setdefault((r.check, r.note), []).append(r.claim)
    if notes:
        out += ["", "Where our setup is a reconstruction or a choice of ours:", ""]
        for (check, note), claims in notes.items():
            out.append(f"- **{check}** ({'; '.join(claims)}): {note}")
    if skipped:
        out += ["", "Checks not run: " + ", ".join(f"`{s}`" for s in skipped) + "."]
    out += ["", "## Details", ""]
    seen_figs: set[str] = set()
    for r in results:
        out += [f"### {r.check}: {r.claim}", ""]
        if r.details:
            out += [r.details, ""]
        for f in r.figures:
            if f.endswith(".png") and f not in seen_figs:
                seen_figs.add(f)
                out += [f"![{Path(f).stem}]({f})", ""]
    timing_rows = [[name, f"{sec:.1f}"] for name, sec in timings.items()]
    timing_rows.append(["total", f"{sum(timings.values()):.1f}"])
    out += ["## Timings", "", markdown_table(timing_rows, ["check", "seconds"]), ""]
    return "\n".join(out)


def render_html(markdown_text: str, base_dir: Path) -> str:
    """Markdown to a standalone HTML page; local PNG figures are inlined as data URIs
    so the page opens anywhere."""
    import re

    import markdown

    body = markdown.markdown(markdown_text, extensions=["tables", "fenced_code"])

    def inline(match: re.Match) -> str:
        src = match.group(1)
        path = base_dir / src
        if src.endswith(".png") and path.is_file():
            data = base64.b64encode(path.read_bytes()).decode("ascii")
            return f'src="data:image/png;base64,{data}"'
        return match.group(0)

    body = re.sub(r'src="([^"]+)"', inline, body)
    style = (
        "body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;"
        "line-height:1.4}table{border-collapse:collapse;font-size:90%}"
        "td,th{border:1px solid #bbb;padding:4px 8px;vertical-align:top}"
        "img{max-width:100%}code{background:#f3f3f3}"
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>fast-hp-transfer verify report</title><style>{style}</style></head>"
        f"<body>{body}</body></html>"
    )


def write_report(
    results: Sequence[CheckResult],
    out: Path,
    *,
    preset: str,
    timings: dict[str, float],
    skipped: Sequence[str] = (),
) -> dict[str, Path]:
    """Write report.md, report.html and claims.json into ``out``; return their paths."""
    out.mkdir(parents=True, exist_ok=True)
    text = render_markdown(results, preset=preset, timings=timings, skipped=skipped)
    paths = {
        "md": out / "report.md",
        "html": out / "report.html",
        "json": out / "claims.json",
    }
    paths["md"].write_text(text)
    paths["html"].write_text(render_html(text, out))
    paths["json"].write_text(
        json.dumps(
            {
                "preset": preset,
                # when, where and with which code and packages these numbers were made
                "provenance": provenance(),
                "timings": timings,
                "claims": [asdict(r) for r in results],
            },
            indent=2,
        )
    )
    return paths
