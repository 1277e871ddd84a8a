"""docs/flax.md ("Bring your own model (Flax)") runs: its ```python blocks, in order,
in one namespace, as a reader would paste them. The page's own asserts state what its
text claims (muP coordinate slopes flat, SP's output growing, the recorder's identity,
the sweep's verdict)."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "flax.md"


def _blocks(text: str) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```$", text, flags=re.M | re.S)


def test_the_page_has_its_code_blocks():
    blocks = _blocks(PAGE.read_text())
    assert len(blocks) >= 6
    assert all(">>>" not in b for b in blocks)  # plain code, not doctest


def test_the_flax_page_runs(tmp_path, monkeypatch):
    pytest.importorskip("flax")
    import jax

    monkeypatch.chdir(tmp_path)  # anything the page might write lands here
    namespace: dict = {"__name__": "flax_page"}
    # a reader's session: JAX's default (standard) dtype promotion, which optax's Adam
    # needs; the rest of the suite runs under strict promotion (conftest)
    with jax.numpy_dtype_promotion("standard"):
        for i, block in enumerate(_blocks(PAGE.read_text())):
            exec(compile(block, f"{PAGE.name}[block {i}]", "exec"), namespace)
    assert namespace["res"].verdict == "inconclusive"
