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
