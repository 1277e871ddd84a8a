"""The documentation site's generated pages (``fasttransfer docs``, the MkDocs hook
``docs/hooks/generate.py``) and the site's page plan (mkdocs.yml, the API reference);
no MkDocs needed (CI builds the site itself with ``mkdocs build --strict``)."""

import importlib.util
import json
import os
import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from fasttransfer import docs_pages
from fasttransfer.checks import CHECKS
from fasttransfer.cli import main
from fasttransfer.errors import InputError
from fasttransfer.store import code_version

ROOT = Path(__file__).resolve().parents[1]


def _row(check, claim, verdict, **extra):
    return {
        "check": check,
        "claim": claim,
        "paper": f"paper of {claim}",
        "measured": f"ours of {claim}",
        "verdict": verdict,
        "figures": ["figures/x.png"],
        **extra,
    }


CLAIMS = {
    "preset": "quick",
    "provenance": {
        "date_utc": "2026-01-02T03:04:05+00:00",
        "git": {"commit": "0123456789abcdef0123", "dirty": False},
        "versions": {"python": "3.11.7", "numpy": "2.4.6", "jax": "0.10.2"},
        "device": {"kind": "cpu:x86_64", "count": 1},
    },
    "timings": {},
    "claims": [
        _row("estimators", "alpha is recovered", "pass"),
        _row("theorem2", "widths | exponents", "differs", note="a choice of ours"),
        _row("theorem3", "lambda* moves down", "inconclusive"),
        _row("relu", "only weak transfer", "reduced"),
        _row("topk", "Hypothesis 1", "fail"),
        _row("topk", "flat profile", "pass", data={"k": 1}),
    ],
}


def test_results_page_lists_every_claim_and_the_counts():
    page = docs_pages.results_page(CLAIMS, source="claims.json")
    for row in CLAIMS["claims"]:
        for column in ("claim", "paper", "measured"):
            assert row[column].replace("|", "\\|") in page  # a cell's "|" is escaped
    assert "6 claims checked: 2 pass, 1 differ from the paper, 1 inconclusive" in page
    assert "1 reduced regime (no claim), 1 fail." in page
    # the site has no verify folder: no figure column, no links into one
    assert "figures/x.png" not in page and "| figure |" not in page
    # provenance: preset, date, commit, versions, device
    for text in ("`quick`", "2026-01-02T03:04:05", "`0123456789ab`", "numpy 2.4.6", "cpu:x86_64"):
        assert text in page
    assert "no entries" in page  # no bank given


def test_verify_records_the_provenance_of_its_claims(tmp_path):
    from fasttransfer.checks import CheckResult
    from fasttransfer.report import write_report

    row = CheckResult(check="theorem1", claim="c", paper="p", measured="m", verdict="pass")
    paths = write_report([row], tmp_path, preset="quick", timings={"theorem1": 1.0})
    made = json.loads(paths["json"].read_text())["provenance"]
    assert made["date_utc"].endswith("+00:00") and "commit" in made["git"]
    assert {"python", "numpy"} <= set(made["versions"]) and "kind" in made["device"]


def test_a_claims_file_without_provenance_says_so():
    old = {k: v for k, v in CLAIMS.items() if k != "provenance"}
    assert "unrecorded" in docs_pages.results_page(old, source="c.json")


def test_check_pages_hold_their_rows_only():
    pages = docs_pages.render_pages(CLAIMS, source="c.json")
    assert set(pages) == {"results.md", "gallery.md", *(f"claims-{c}.md" for c in CHECKS)}
    topk = pages["claims-topk.md"]
    assert "Hypothesis 1" in topk and "flat profile" in topk
    assert "alpha is recovered" not in topk
    assert "2 claims checked: 1 pass" in topk
    assert "a choice of ours" in pages["claims-theorem2.md"]
    # a check the run did not include still gets a page (the includes never dangle)
    assert "did not include the `coordcheck` check" in pages["claims-coordcheck.md"]


def test_an_unknown_check_is_a_clear_error():
    with pytest.raises(InputError, match=r"unknown check 'theorem9'; the checks are: estimators"):
        docs_pages.check_page(CLAIMS, "theorem9", source="c.json")
    bad = {"claims": [_row("estimators", "x", "maybe")]}
    with pytest.raises(InputError, match=r"claims\[0\]: not a claims row"):
        docs_pages.results_page(bad, source="c.json")


def test_a_missing_claims_file_names_the_command(tmp_path):
    with pytest.raises(InputError, match="fasttransfer verify --preset quick") as err:
        docs_pages.load_claims(tmp_path / "claims.json")
    assert "\n" not in str(err.value)


def _bank(tmp_path: Path) -> Path:
    bank = tmp_path / "bank"
    for key, code, status in (
        ("current", code_version([]), "complete"),
        ("stale", "0" * 16, "complete"),
        ("running", code_version([]), "running"),
    ):
        entry = bank / "relu" / "paper" / key
        entry.mkdir(parents=True)
        manifest = {
            "study": "relu",
            "preset": "paper",
            "key": [key],
            "config": {"widths": [64, 128, 256, 512]},
            "code_version": code,
            "code_modules": [],
            "status": status,
            "provenance": {
                "date_utc": "2026-01-01T00:00:00+00:00",
                "device": {"kind": "gpu:H100", "count": 1},
            },
            "result": {"widths": [64, 128]},
        }
        (entry / "manifest.json").write_text(json.dumps(manifest))
    return bank


def test_the_bank_table_says_which_entries_are_current(tmp_path):
    rows = {r["key"]: r for r in docs_pages.bank_rows(_bank(tmp_path))}
    assert {k: r["code"] for k, r in rows.items()} == {
        "current": "current",
        "stale": "stale",
        "running": "unfinished",
    }
    assert rows["current"]["widths"] == [64, 128] and rows["current"]["device"] == "gpu:H100 x1"
    table = re.sub(r" +", " ", docs_pages.bank_table(rows.values()))
    assert "| relu | paper | stale | 64, 128 | gpu:H100 x1 | 2026-01-01 00:00 | stale |" in table


def test_the_command_writes_the_pages(tmp_path, capsys):
    claims = tmp_path / "claims.json"
    claims.write_text(json.dumps(CLAIMS))
    out = tmp_path / "generated"
    argv = ["docs", "--claims", str(claims), "--bank", str(_bank(tmp_path)), "--out", str(out)]
    assert main(argv) == 0
    assert {p.name for p in out.iterdir()} == {
        "results.md",
        "gallery.md",
        *(f"claims-{c}.md" for c in CHECKS),
    }
    assert "| relu | paper | current |" in re.sub(r" +", " ", (out / "results.md").read_text())
    assert main(argv) == 0
    assert "up to date" in capsys.readouterr().out


def test_the_command_without_claims_is_one_line(tmp_path, capsys):
    assert main(["docs", "--bank", str(tmp_path), "--out", str(tmp_path / "g")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "fasttransfer docs: error:" in err
    assert "fasttransfer verify --preset quick" in err


def _hook():
    spec = importlib.util.spec_from_file_location("docs_hook", ROOT / "docs/hooks/generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_hook_writes_only_on_change(tmp_path):
    claims = tmp_path / "results_bank" / "verify" / "claims.json"
    claims.parent.mkdir(parents=True)
    claims.write_text(json.dumps(CLAIMS))
    config = SimpleNamespace(
        config_file_path=str(tmp_path / "mkdocs.yml"), docs_dir=str(tmp_path / "docs")
    )
    hook = _hook()
    hook.on_pre_build(config)
    page = tmp_path / "docs" / "generated" / "results.md"
    old = 1_000_000_000
    for path in page.parent.iterdir():
        os.utime(path, ns=(old, old))
    hook.on_pre_build(config)  # nothing changed: nothing written (mkdocs serve cannot loop)
    assert {p.stat().st_mtime_ns for p in page.parent.iterdir()} == {old}
    changed = json.loads(claims.read_text())
    changed["claims"][0]["measured"] = "another number"
    claims.write_text(json.dumps(changed))
    hook.on_pre_build(config)
    assert page.stat().st_mtime_ns != old and "another number" in page.read_text()
    assert (page.parent / "claims-relu.md").stat().st_mtime_ns == old


def test_the_api_reference_documents_every_public_name():
    """docs/reference/api.md has a ``::: module.attr`` block for each name of
    ``fasttransfer.__all__`` (at its defining module)."""
    import fasttransfer

    page = (ROOT / "docs" / "reference" / "api.md").read_text()
    blocks = set(re.findall(r"^::: (\S+)$", page, flags=re.M))
    for name, (module, attr) in fasttransfer._API.items():
        assert (module if attr is None else f"{module}.{attr}") in blocks, name


def test_the_nav_and_the_pages_agree():
    """Every page mkdocs.yml names exists, and every page of docs/ is in the nav."""
    text = (ROOT / "mkdocs.yml").read_text()
    nav = text[text.index("\nnav:") :]
    named = set(re.findall(r"^\s*-\s+(?:[^:\n]+:\s+)?(\S+\.md)\s*$", nav, flags=re.M))
    docs = ROOT / "docs"
    present = {
        p.relative_to(docs).as_posix()
        for p in docs.rglob("*.md")
        if p.relative_to(docs).parts[0] not in ("generated", "hooks")
    }
    assert not named - present, f"in the nav, no such page: {sorted(named - present)}"
    assert not present - named, f"pages missing from the nav: {sorted(present - named)}"


@pytest.mark.parametrize("folder", ["theory", "simulations"])
def test_the_reference_has_every_module(folder):
    """docs/reference/<folder>.md documents each module of the subpackage."""
    page = (ROOT / "docs" / "reference" / f"{folder}.md").read_text()
    blocks = set(re.findall(r"^::: (\S+)$", page, flags=re.M))
    modules = {
        f"fasttransfer.{folder}.{p.stem}"
        for p in (ROOT / folder).glob("*.py")
        if p.stem != "__init__"
    }
    assert not modules - blocks, f"not in the API reference: {sorted(modules - blocks)}"


def test_gallery_shows_every_figure_with_its_caption():
    """The gallery page lists every registered figure, its caption taken from the
    figure's module (not copied), and an image that exists in docs/gallery/."""
    import importlib

    from fasttransfer.paper_figures import FIGURES

    text = docs_pages.gallery_page()
    root = Path(__file__).resolve().parents[1]
    for name, module in FIGURES.items():
        assert importlib.import_module(module).CAPTION in text
        assert f"![{name}](gallery/{name}.png)" in text
        assert (root / "docs" / "gallery" / f"{name}.png").is_file(), name


def test_further_runs_beside_the_claims_file_are_shown(tmp_path):
    """A run stored as claims-<preset>.json beside claims.json (here the relu check at
    its paper preset) appears after the main run on the Results page and on the page of
    the check it includes, and nowhere else."""
    paper = {
        "preset": "paper",
        "timings": {},
        "claims": [_row("relu", "only weak transfer at the paper's scale", "inconclusive")],
    }
    (tmp_path / "claims.json").write_text(json.dumps(CLAIMS))
    (tmp_path / "claims-paper.json").write_text(json.dumps(paper))
    assert docs_pages.further_runs(tmp_path / "claims.json") == [tmp_path / "claims-paper.json"]
    out = tmp_path / "generated"
    docs_pages.generate(tmp_path / "claims.json", tmp_path / "no-bank", out)
    relu = (out / "claims-relu.md").read_text()
    assert relu.index("only weak transfer |") < relu.index("### At the `paper` preset")
    assert "only weak transfer at the paper's scale" in relu
    assert "at the paper's scale" not in (out / "claims-topk.md").read_text()
    results = (out / "results.md").read_text()
    assert "## Further run: preset `paper`" in results
    assert "1 claim checked: 0 pass, 0 differ from the paper, 1 inconclusive" in results
