"""Where MODEL comes from: bundled name, config file, model folder, Hub id; each error one line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from flopsight.hf import ModelSourceError, bundled_model, close_matches, resolve_source


def test_bundled_names_resolve_case_insensitively() -> None:
    source = resolve_source("Llama-3-8B")
    assert source.kind == "bundled" and source.spec == "llama-3-8b"
    assert source.checkpoint == "meta-llama/Meta-Llama-3-8B"
    assert "_flopsight" not in source.config and source.config["model_type"] == "llama"


def test_a_config_file_and_a_model_folder(tmp_path: Path) -> None:
    config = dict(bundled_model("gpt2").config)
    (tmp_path / "config.json").write_text(json.dumps(config))
    assert resolve_source(str(tmp_path)).kind == "folder"
    file_source = resolve_source(str(tmp_path / "config.json"))
    assert file_source.kind == "file" and file_source.config["n_layer"] == 12


@pytest.mark.parametrize(("content", "needle"), [
    ("{oops", "not valid JSON"),
    ("[1, 2]", "JSON object"),
    ('{"hidden_size": 1}', "model_type"),
])
def test_malformed_configs(tmp_path: Path, content: str, needle: str) -> None:
    path = tmp_path / "c.json"
    path.write_text(content)
    with pytest.raises(ModelSourceError, match=needle):
        resolve_source(str(path))


def test_unknown_names_suggest_close_bundled_ones() -> None:
    assert close_matches("qwen2vl-7b")[0] == "qwen2-vl-7b"
    assert "llama-3.1-405b" in close_matches("405b")
    with pytest.raises(ModelSourceError, match="did you mean"):
        resolve_source("mixtral")


def test_importing_flopsight_does_not_import_transformers() -> None:
    code = "import sys, flopsight, flopsight.hf, flopsight.cli; print('transformers' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
