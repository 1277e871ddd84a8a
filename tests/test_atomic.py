"""theory.atomic: a write replaces the file whole or not at all, and leaves no temporary."""

import json

import pandas as pd
import pytest

from fasttransfer.theory.atomic import atomic_write_csv, atomic_write_json, atomic_write_text


def test_atomic_write_leaves_old_file_on_failure(tmp_path):
    path = tmp_path / "f.csv"
    atomic_write_text(path, "old\n")
    with pytest.raises(TypeError):
        atomic_write_text(path, 12345)  # not text: the write fails midway
    assert path.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["f.csv"]  # no temporary left


def test_json_and_csv_round_trip(tmp_path):
    atomic_write_json(tmp_path / "sub" / "a.json", {"b": 1, "a": [1.5]}, sort_keys=True)
    text = (tmp_path / "sub" / "a.json").read_text()
    assert json.loads(text) == {"a": [1.5], "b": 1} and text.endswith("\n")
    df = pd.DataFrame({"x": [1, 2], "y": [0.1, 0.2]})
    atomic_write_csv(tmp_path / "d.csv", df)
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "d.csv"), df)
