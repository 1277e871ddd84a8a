"""`fasttransfer simulate relu` as two processes under jax.distributed on loopback with
CPU (gloo) collectives: each process trains its share of the widths into one store."""

import json
import os
import socket
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

pytestmark = pytest.mark.multiprocess

ARGS = [
    "simulate",
    "relu",
    "--widths",
    "8,16",
    "--lrs",
    "5",
    "--seeds",
    "2",
    "--steps",
    "10",
    "--no-progress",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_processes_share_one_store(tmp_path):
    out = tmp_path / "store"
    port = _free_port()
    procs = []
    for pid in range(2):
        env = dict(
            os.environ,
            FASTTRANSFER_COORDINATOR=f"127.0.0.1:{port}",
            FASTTRANSFER_NUM_PROCESSES="2",
            FASTTRANSFER_PROCESS_ID=str(pid),
            JAX_PLATFORMS="cpu",
            XLA_FLAGS="--xla_force_host_platform_device_count=1",
        )
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "fasttransfer", *ARGS, "--out", str(out)],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
        )
    logs = []
    for p in procs:
        try:
            logs.append(p.communicate(timeout=240)[0])
        except subprocess.TimeoutExpired:
            for q in procs:
                q.kill()
            pytest.fail("distributed run did not finish")
    assert [p.returncode for p in procs] == [0, 0], "\n".join(logs)
    # process 0 took the widest width, process 1 the other (round robin, widest first)
    assert "width 16 done" in logs[0] and "width 8 done" in logs[1]
    df = pd.read_csv(out / "relu" / "quick" / "mup" / "relu_sweep.csv")
    assert sorted(set(df.width)) == [8, 16] and len(df) == 2 * 5 * 2
    # each process's cell record reaches the one cells.json (written by process 0 only)
    cells = json.loads((out / "relu" / "quick" / "mup" / "cells.json").read_text())
    assert sorted(cells) == ["16", "8"]

    # the distributed cell equals the same cell trained here, in one process
    from fasttransfer.cmd_simulate import relu_config_from_args
    from fasttransfer.simulations import relu_engine

    ns = run_relu_args(ARGS)
    cfg = relu_config_from_args(ns)
    here = relu_engine.sweep_frame(cfg, 8, relu_engine.train_width(cfg, 8))
    there = df[df.width == 8].sort_values(["hp", "seed"]).reset_index(drop=True)
    here = here.sort_values(["hp", "seed"]).reset_index(drop=True)
    # float64 and the same per-device program: identical numbers (the CSV keeps 17
    # significant digits, a lossless round trip)
    np.testing.assert_array_equal(there.loss.to_numpy(), here.loss.to_numpy())


def run_relu_args(args):
    from fasttransfer.cli import build_parser

    return build_parser().parse_args([*args, "--out", "unused"])
