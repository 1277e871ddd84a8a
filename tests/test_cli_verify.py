"""`fasttransfer verify`: the registry, --only, exit codes and the written report.

Fake checks are written as modules into a temporary directory on sys.path, so these
tests exercise the real discovery and report code without running any simulation.
"""

import importlib.util
import json
import re
import textwrap

import pytest

from fasttransfer import checks as registry
from fasttransfer import paper_figures
from fasttransfer.cli import COMMANDS, main
from fasttransfer.paper_figures import FIGURES

FAKE = {
    "fake_pass": ("pass", ""),
    "fake_differs": ("differs", "our setup is a reconstruction"),
    "fake_fail": ("fail", ""),
}


def _write_fake_checks(tmp_path, monkeypatch, with_crash=False):
    for name, (verdict, note) in FAKE.items():
        (tmp_path / f"{name}.py").write_text(
            textwrap.dedent(f"""
            import logging
            from fasttransfer.checks import CheckResult
            TITLE = "{name} title"
            def run(ctx):
                logging.getLogger("fasttransfer.checks.{name}").info("working")
                return [CheckResult(check="{name}", claim="claim of {name}", paper="1",
                                    measured="1.0 [0.9, 1.1]", verdict="{verdict}",
                                    note="{note}", details="detail **{name}**")]
        """)
        )
    (tmp_path / "fake_crash.py").write_text(
        textwrap.dedent("""
        TITLE = "crashes"
        def run(ctx):
            raise RuntimeError("boom")
    """)
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    checks = {name: name for name in FAKE}
    if with_crash:
        checks["fake_crash"] = "fake_crash"
    monkeypatch.setattr(registry, "CHECKS", checks)
    monkeypatch.setattr(paper_figures, "FIGURES", {})  # no real figure is drawn here


def test_only_runs_the_subset_and_writes_the_report(tmp_path, monkeypatch, capsys):
    _write_fake_checks(tmp_path, monkeypatch)
    out = tmp_path / "out"
    code = main(["verify", "--only", "fake_differs,fake_pass", "--out", str(out)])
    assert code == 0  # "differs" is an honest disagreement, not a failure
    claims = json.loads((out / "claims.json").read_text())["claims"]
    # the report keeps the registry's order, whatever the order given to --only
    assert [c["check"] for c in claims] == ["fake_pass", "fake_differs"]
    report = (out / "report.md").read_text()
    table = re.sub(r" +\|", " |", report)  # the cells, without their padding
    assert "| fake_pass | claim of fake_pass | 1 | 1.0 [0.9, 1.1] | pass |" in table
    assert "our setup is a reconstruction" in report.split("## What differs")[1]
    assert "fake_fail" not in report
    html = (out / "report.html").read_text()
    assert "<table>" in html and "claim of fake_differs" in html
    # the claims table on stdout; progress (logging, configured by the CLI) on stderr,
    # a check's own messages indented under its line
    printed, progress = capsys.readouterr()
    assert "| fake_pass" in printed and "[1/2]" not in printed
    assert "[1/2] fake_pass" in progress and "[2/2] fake_differs" in progress
    assert "\n    working\n" in progress and "pass  claim of fake_pass" in progress
    # -q: warnings only, no progress messages
    assert main(["verify", "-q", "--only", "fake_pass", "--out", str(out)]) == 0
    printed, progress = capsys.readouterr()
    assert "| fake_pass |" in printed and progress == ""


def test_a_failing_or_crashing_check_exits_1_and_still_reports(tmp_path, monkeypatch):
    _write_fake_checks(tmp_path, monkeypatch, with_crash=True)
    out = tmp_path / "out"
    assert main(["verify", "--out", str(out)]) == 1
    claims = json.loads((out / "claims.json").read_text())["claims"]
    crash = [c for c in claims if c["check"] == "fake_crash"]
    assert len(crash) == 1 and crash[0]["verdict"] == "fail"
    assert "RuntimeError: boom" in crash[0]["measured"]
    assert len(claims) == len(FAKE) + 1


def test_unknown_check_name_is_a_one_line_error(capsys):
    assert main(["verify", "--only", "no_such_check"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no_such_check" in err


def test_figures_are_inlined_in_html(tmp_path):
    from fasttransfer.checks import CheckResult
    from fasttransfer.report import write_report

    (tmp_path / "figures").mkdir()
    png = b"\x89PNG\r\n\x1a\n" + b"0" * 16
    (tmp_path / "figures" / "f.png").write_bytes(png)
    row = CheckResult(
        check="c", claim="x", paper="-", measured="-", verdict="pass", figures=("figures/f.png",)
    )
    paths = write_report([row], tmp_path, preset="quick", timings={"c": 0.1})
    assert "![f](figures/f.png)" in paths["md"].read_text()
    assert "data:image/png;base64," in paths["html"].read_text()


def test_bad_verdict_is_rejected():
    from fasttransfer.checks import CheckResult

    with pytest.raises(ValueError, match="verdict"):
        CheckResult(check="c", claim="x", paper="-", measured="-", verdict="ok")


@pytest.mark.parametrize("module", sorted(registry.CHECKS.values()))
def test_every_registered_check_exists(module):
    spec = importlib.util.find_spec(module)
    assert spec is not None, f"{module} is registered but missing"
    mod = importlib.import_module(module)
    assert isinstance(mod.TITLE, str) and callable(mod.run)


@pytest.mark.parametrize("name,module", sorted(FIGURES.items()))
def test_every_registered_figure_exists(name, module):
    assert importlib.util.find_spec(module) is not None, f"{module} is registered but missing"
    mod = importlib.import_module(module)
    for attr in ("NAME", "CAPTION", "load", "plot", "main"):
        assert hasattr(mod, attr), f"{module} lacks {attr}"
    assert mod.NAME == name  # verify looks for figures/<registry name>.png


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_exists(name):
    assert importlib.util.find_spec(f"fasttransfer.cmd_{name}") is not None
