"""The --model flags of the audit: refused early with one line, in any environment (no torch
needed: the model libraries are imported only once the flags are consistent)."""

from __future__ import annotations

import importlib.util

from completeness.cli import main
from completeness.descriptors import defaults, models


def test_the_resolver_knows_every_model_type():
    assert defaults._MODEL_TYPES == models.MODEL_TYPES


def test_model_flags_are_checked_before_anything_runs(tmp_path, capsys):
    path = tmp_path / "model.pt"
    path.write_bytes(b"not a model")
    assert main(["audit", "--model", str(path)]) == 2
    assert "needs --model-type" in capsys.readouterr().err
    for flags in (["--model-type", "mace"], ["--model-dtype", "float32"]):
        assert main(["audit", *flags]) == 2
        assert f"{flags[0]} needs --model PATH" in capsys.readouterr().err
    assert main(["audit", "--model", str(tmp_path / "missing.pt"), "--model-type", "mace"]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["audit", "--model", str(path), "--model-type", "mace"]) == 2
    err = capsys.readouterr().err
    if importlib.util.find_spec("mace") is None:  # the extra is named
        assert "pip install torch==2.13.0 'completeness[mace]'" in err
    else:
        assert "cannot load model file" in err


def test_a_single_precision_descriptor_gets_a_card_finding():
    """A model run in float32 (--model-dtype float32) has a noise floor of ~1e-7: the card says
    so. Stand-in without torch: the radial spectrum with the round-off of single-precision
    arithmetic, relative noise of float32's epsilon (seeded), against the same at float64's."""
    import numpy as np

    from completeness import structures
    from completeness.analysis.report import report_card
    from completeness.descriptors import RadialSpectrum

    exact = RadialSpectrum(cutoff=4.0, n_radial=6)

    class RoundOff:
        name, body_order, parity, cutoff = "round-off", 2, "O(3)", 4.0

        def __init__(self, dtype):
            self.epsilon = float(np.finfo(dtype).eps)
            self.rng = np.random.default_rng(0)

        def compute(self, systems, centers=None, gradients=False):
            values = exact.compute(systems, centers=centers).values
            return values * (1 + self.epsilon * self.rng.standard_normal(values.shape))

    pairs = [structures.load(name) for name in ("joshi2023-two-body", "pozdnyakov2020-fig1b")]
    messages = {}
    for dtype in (np.float32, np.float64):
        card = report_card(RoundOff(dtype), pairs=pairs, timings=False)
        messages[dtype] = [m for _, m in card.findings if "single-precision" in m]
    (message,) = messages[np.float32]
    floor = float(message.split()[2])
    assert 1e-8 < floor < 1e-5
    assert messages[np.float64] == []
