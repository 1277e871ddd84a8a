"""simulations.text_corpus: the corpus that ships with Python, its split, its samplers."""

import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from fasttransfer.errors import InputError
from fasttransfer.simulations import text_corpus as tc


def test_pydoc_corpus_is_the_help_topics_as_bytes():
    from pydoc_data.topics import topics

    data = tc.corpus_bytes("pydoc")
    assert data.dtype == np.uint8 and not data.flags.writeable
    # the sorted topics joined by blank lines, nothing else
    text = "\n\n".join(topics[k] for k in sorted(topics))
    assert data.tobytes() == text.encode("utf-8")
    assert data.size > 400_000  # ~466 KB under CPython 3.11; the docstring states it
    info = tc.corpus_info("pydoc")
    assert info["bytes"] == data.size and len(info["sha256"]) == 64


def test_split_is_interleaved_blocks_and_partitions_the_bytes():
    data = tc.corpus_bytes("pydoc")
    train, held = tc.load("pydoc")
    assert train.size + held.size == data.size
    blocks = np.arange(data.size) // tc.BLOCK
    mask = blocks % tc.HELD_OUT_EVERY == tc.HELD_OUT_EVERY - 1
    np.testing.assert_array_equal(held, data[mask])
    np.testing.assert_array_equal(train, data[~mask])
    # whole blocks: the held-out stream starts with block 9
    np.testing.assert_array_equal(held[: tc.BLOCK], data[9 * tc.BLOCK : 10 * tc.BLOCK])


def test_missing_pydoc_data_is_an_input_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "pydoc_data.topics", None)  # import now raises
    with pytest.raises(InputError, match="pydoc_data") as err:
        tc.corpus_bytes.__wrapped__("pydoc")  # bypass the process cache
    assert err.value.param == "corpus"
    with pytest.raises(InputError, match="corpus"):
        tc.corpus_bytes("wikitext")


def test_stdlib_docstrings_are_read_not_executed(tmp_path):
    sentinel = tmp_path / "EXECUTED"
    (tmp_path / "b_mod.py").write_text(
        f'"""Module B."""\nopen({str(sentinel)!r}, "w").write("x")\nraise SystemExit(3)\n'
        'class K:\n    """Class K."""\n    def f(self):\n        """Method f."""\n'
    )
    (tmp_path / "a_mod.py").write_text('"""Module A."""\ndef g():\n    """Class K."""\n')
    (tmp_path / "broken.py").write_text('"""Never seen."""\ndef (:\n')
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "c.py").write_text('"""In a tests folder."""\n')
    docs = tc.stdlib_docstrings(tmp_path)
    assert not sentinel.exists()
    # sorted files (a_mod before b_mod), ast.walk order, the duplicate "Class K." once,
    # the unparsable file and the tests folder skipped
    assert docs == ["Module A.", "Class K.", "Module B.", "Method f."]


def test_sample_windows_are_contiguous_and_pure():
    data = jnp.asarray(np.arange(5000) % 251, jnp.uint8)  # byte i is i mod 251
    keys = jax.random.split(jax.random.PRNGKey(0), 3)
    w = jax.jit(jax.vmap(lambda k: tc.sample_windows(k, data, 8, 33)))(keys)
    assert w.shape == (3, 8, 33) and w.dtype == jnp.int32
    # consecutive bytes: each step adds 1 mod 251
    np.testing.assert_array_equal(np.diff(np.asarray(w), axis=-1) % 251, 1)
    again = tc.sample_windows(keys[1], data, 8, 33)
    np.testing.assert_array_equal(np.asarray(again), np.asarray(w[1]))
    with pytest.raises(InputError, match="length"):
        tc.sample_windows(keys[0], data, 2, 5001)


def test_eval_windows_span_the_data():
    data = np.arange(1000, dtype=np.uint8) % 200
    ev = tc.eval_windows(data, 7, 65)
    assert ev.shape == (7, 65) and ev.dtype == np.int32
    np.testing.assert_array_equal(ev[0], data[:65])
    np.testing.assert_array_equal(ev[-1], data[-65:])
    np.testing.assert_array_equal(tc.eval_windows(data, 7, 65), ev)
