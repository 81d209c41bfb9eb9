"""--trust-remote-code: a model folder with its own code (config.json with auto_map and the .py
files beside it), written here, offline. Without the flag none of its code runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("transformers")

from flopsight.cli import main  # noqa: E402

HIDDEN, VOCAB, SEQ = 32, 100, 8

CONFIGURATION = '''
from pathlib import Path
from transformers import PretrainedConfig

Path(__file__).with_name("config_code_ran").touch()  # to see whether this code ran


class TinyCustomConfig(PretrainedConfig):
    model_type = "tiny_custom"

    def __init__(self, hidden=32, vocab=100, **kwargs):
        self.hidden = hidden
        self.vocab = vocab
        super().__init__(**kwargs)
'''

MODELING = '''
import torch
from torch import nn
from transformers import PreTrainedModel

from .configuration_tiny import TinyCustomConfig


class TinyCustomForCausalLM(PreTrainedModel):
    config_class = TinyCustomConfig

    def __init__(self, config):
        super().__init__(config)
        self.embed = nn.Embedding(config.vocab, config.hidden)
        self.mix = nn.Linear(config.hidden, config.hidden, bias=False)
        self.head = nn.Linear(config.hidden, config.vocab, bias=False)
        self.post_init()

    def forward(self, input_ids, attention_mask=None):
        return self.head(torch.relu(self.mix(self.embed(input_ids))))
'''


def _custom_model_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "tiny-custom"
    folder.mkdir()
    (folder / "configuration_tiny.py").write_text(CONFIGURATION)
    (folder / "modeling_tiny.py").write_text(MODELING)
    (folder / "config.json").write_text(json.dumps({
        "model_type": "tiny_custom", "hidden": HIDDEN, "vocab": VOCAB, "architectures": ["TinyCustomForCausalLM"],
        "auto_map": {"AutoConfig": "configuration_tiny.TinyCustomConfig",
                     "AutoModelForCausalLM": "modeling_tiny.TinyCustomForCausalLM"},
    }))
    return folder


@pytest.fixture
def modules_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """transformers copies the model's code into its modules cache: keep that in tmp_path."""
    import transformers.dynamic_module_utils as dynamic

    monkeypatch.setattr(dynamic, "HF_MODULES_CACHE", str(tmp_path / "modules"))


@pytest.mark.usefixtures("modules_cache")
def test_a_folder_with_its_own_code_builds_with_the_flag(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = _custom_model_folder(tmp_path)
    assert main(["profile", str(folder), "--trust-remote-code", "--seq-len", str(SEQ), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["root"]["type"] == "TinyCustomForCausalLM"  # the class from the folder's own code
    # per token: mix hidden x hidden, head hidden x vocab (the embedding is a lookup)
    assert data["summary"]["forward"]["macs"] == SEQ * (HIDDEN * HIDDEN + HIDDEN * VOCAB)
    assert data["summary"]["params"] == VOCAB * HIDDEN + HIDDEN * HIDDEN + HIDDEN * VOCAB


@pytest.mark.parametrize("target", ["folder", "config.json"])
def test_without_the_flag_no_code_runs_and_the_error_names_the_flag(target: str, tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    folder = _custom_model_folder(tmp_path)
    spec = str(folder if target == "folder" else folder / "config.json")
    assert main(["profile", spec]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and "--trust-remote-code" in lines[0], captured.err
    assert not (folder / "config_code_ran").exists()
