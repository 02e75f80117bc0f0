from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from orchestration.presets import PRESETS, SECTION_MODELS, render_preset, validate_params
from resources.params import ParamsError, REPO_ROOT


def test_committed_params_yaml_is_the_tiny_preset() -> None:
    committed = yaml.safe_load((REPO_ROOT / "params.yaml").read_text(encoding="utf-8"))
    assert committed == render_preset("tiny"), "params.yaml drifted from the tiny preset: run `seedflow preset tiny`"


@pytest.mark.parametrize("name", PRESETS)
def test_every_preset_has_every_section_with_the_same_keys(name: str) -> None:
    data = render_preset(name)
    assert set(data) - {"preset", "seed"} == set(SECTION_MODELS)
    tiny = render_preset("tiny")
    for section in SECTION_MODELS:
        assert set(data[section]) == set(tiny[section]), f"{name}.{section} keys differ from tiny"


def test_unknown_keys_and_bad_values_name_the_key() -> None:
    data = render_preset("tiny")
    data["sourcing"]["max_sied"] = 3
    with pytest.raises(ParamsError, match=r"sourcing\.max_sied"):
        validate_params(data)
    data = render_preset("tiny")
    data["sourcing"]["workers"] = 0
    with pytest.raises(ParamsError, match=r"sourcing\.workers"):
        validate_params(data)
    data = render_preset("tiny")
    data["surprise"] = {}
    with pytest.raises(ParamsError, match="surprise"):
        validate_params(data)


def test_cli_renders_and_validates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    from orchestration.cli import main

    out = tmp_path / "p.yaml"
    assert main(["preset", "small", "--out", str(out)]) == 0
    monkeypatch.setenv("SEEDFLOW_PARAMS", str(out))
    assert main(["validate"]) == 0
    text = out.read_text()
    out.write_text(text.replace("min_frames: 2", "min_frames: 0"))
    assert main(["validate"]) == 2
    assert "sourcing.min_frames" in capsys.readouterr().err
