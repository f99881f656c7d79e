"""Build the real-TorchServe fixture's model archives with random weights: `python build.py OUT_DIR`.

Run as a subprocess so the test process never imports torch. Writes OUT_DIR/sleepy.mar and
OUT_DIR/tiny_encoder.mar, each packing a model-config YAML (one worker, batch size 1), and OUT_DIR/encoder4.mar: four
encoder layers of width 384 (~20 ms per request on one thread of these machines), whose YAML leaves batch size and
worker limits to registration, so one archive serves a grid of worker counts and batch sizes.
"""

import subprocess
import sys
import tempfile
from pathlib import Path

import torch

from encoder_handler import SEQ_LEN, VOCAB

HERE = Path(__file__).resolve().parent
MODEL_CONFIG = "minWorkers: 1\nmaxWorkers: 1\nbatchSize: 1\nresponseTimeout: 30\n"
OPEN_CONFIG = "responseTimeout: 60\n"


class TinyEncoder(torch.nn.Module):
    """Embedding, a transformer encoder (two layers by default), mean pooling and a linear head."""

    def __init__(self, *, d_model: int = 64, heads: int = 4, layers: int = 2, labels: int = 8):
        super().__init__()
        self.embed = torch.nn.Embedding(VOCAB, d_model)
        layer = torch.nn.TransformerEncoderLayer(d_model, heads, dim_feedforward=4 * d_model, batch_first=True)
        self.encoder = torch.nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.head = torch.nn.Linear(d_model, labels)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder(self.embed(ids)).mean(dim=1))


def _trace_encoder(path: Path, **shape: int) -> None:
    torch.manual_seed(0)
    model = TinyEncoder(**shape).eval()
    example = torch.zeros((1, SEQ_LEN), dtype=torch.long)
    with torch.no_grad():
        torch.jit.trace(model, example).save(str(path))


def _archive(*, name: str, handler: Path, out_dir: Path, work: Path, extra: list[str],
             config_text: str = MODEL_CONFIG) -> None:
    config = work / f"{name}-config.yaml"
    config.write_text(config_text + ("handler:\n  sleep_ms: 50\n" if name == "sleepy" else ""))
    command = [sys.executable, "-m", "model_archiver.model_packaging", "--model-name", name,
               "--version", "1.0", "--handler", str(handler), "--config-file", str(config),
               "--export-path", str(out_dir), "--force", *extra]
    subprocess.run(command, check=True, capture_output=True)


def main(out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        _archive(name="sleepy", handler=HERE / "sleepy_handler.py", out_dir=out_dir, work=work, extra=[])
        for name, shape, config_text in (("tiny_encoder", {}, MODEL_CONFIG),
                                         ("encoder4", {"d_model": 384, "layers": 4}, OPEN_CONFIG)):
            traced = work / f"{name}.pt"
            _trace_encoder(traced, **shape)
            _archive(name=name, handler=HERE / "encoder_handler.py", out_dir=out_dir, work=work,
                     extra=["--serialized-file", str(traced)], config_text=config_text)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
