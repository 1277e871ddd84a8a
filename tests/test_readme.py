"""The README's Python examples run (doctest) and its test command is the one CI runs."""

import doctest
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(("page", "at_least"), [("README.md", 8), ("docs/getting-started.md", 25)])
def test_examples_run(page, at_least):
    """The ``>>>`` examples of the README and of the getting-started page run."""
    import jax

    # a reader's session: JAX's default (standard) dtype promotion, which optax's Adam
    # needs; the rest of the suite runs under strict promotion (conftest)
    with jax.numpy_dtype_promotion("standard"):
        res = doctest.testfile(
            str(ROOT / page), module_relative=False, optionflags=doctest.NORMALIZE_WHITESPACE
        )
    assert res.attempted >= at_least and res.failed == 0


def test_readme_is_short():
    """Two screens: the rest lives in the documentation site."""
    text = (ROOT / "README.md").read_text()
    assert len(text) <= 8000, len(text)
    first_screen = "\n".join(text.splitlines()[:25])
    assert "fasttransfer verify --preset quick" in first_screen
    assert 'python -m pytest -q -n 2 -m "not slow"' in first_screen


def test_readme_test_command_is_ci():
    """Both of the README's test commands (the suite without the long tests, then the
    long ones) are what CI runs."""
    ci = (ROOT / ".ci" / "run").read_text()
    readme = (ROOT / "README.md").read_text()
    for command in (
        'pip install -e ".[test]" && python -m pytest -q -n 2 -m "not slow"',
        "python -m pytest -q -n 2 -m slow",
    ):
        assert command in ci and command in readme


def test_readme_verdict_counts_are_the_stored_runs():
    """The counts the README quotes are those of the stored quick run that the results
    page is generated from (a refreshed run needs the README line refreshed too)."""
    from fasttransfer import docs_pages

    claims = docs_pages.load_claims(docs_pages.stored_claims(ROOT / "results_bank"))
    counts = docs_pages.verdict_counts(docs_pages.results_of(claims))
    readme = " ".join((ROOT / "README.md").read_text().split())
    assert counts in readme
