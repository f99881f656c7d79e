"""Build the real-TorchServe fixture's model archives with random weights: `python build.py OUT_DIR`.

Run as a subprocess so the test process never imports torch. Writes OUT_DIR/sleepy.mar and
OUT_DIR/tiny_encoder.mar; each packs a model-config YAML (one worker, batch size 1).
"""

import subprocess
import sys
import tempfile
from pathlib import Path

import torch

from encoder_handler import SEQ_LEN, VOCAB

HERE = Path(__file__).resolve().parent
MODEL_CONFIG = "minWorkers: 1\nmaxWorkers: 1\nbatchSize: 1\nresponseTimeout: 30\n"


class TinyEncoder(torch.nn.Module):
    """Embedding, a two-layer transformer encoder, mean pooling and a linear head."""

    def __init__(self, *, d_model: int = 64, heads: int = 4, layers: int = 2, labels: int = 8):
        super().__init__()
        self.embed = torch.nn.Embedding(VOCAB, d_model)
        layer = torch.nn.TransformerEncoderLayer(d_model, heads, dim_feedforward=4 * d_model, batch_first=True)
        self.encoder = torch.nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.head = torch.nn.Linear(d_model, labels)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder(self.embed(ids)).mean(dim=1))


def _trace_encoder(path: Path) -> None:
    torch.manual_seed(0)
    model = TinyEncoder().eval()
    example = torch.zeros((1, SEQ_LEN), dtype=torch.long)
    with torch.no_grad():
        torch.jit.trace(model, example).save(str(path))


def _archive(*, name: str, handler: Path, out_dir: Path, work: Path, extra: list[str]) -> None:
    config = work / f"{name}-config.yaml"
    config.write_text(MODEL_CONFIG + ("handler:\n  sleep_ms: 50\n" if name == "sleepy" else ""))
    command = [sys.executable, "-m", "model_archiver.model_packaging", "--model-name", name,
               "--version", "1.0", "--handler", str(handler), "--config-file", str(config),
               "--export-path", str(out_dir), "--force", *extra]
    subprocess.run(command, check=True, capture_output=True)


def main(out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        _archive(name="sleepy", handler=HERE / "sleepy_handler.py", out_dir=out_dir, work=work, extra=[])
        traced = work / "tiny_encoder.pt"
        _trace_encoder(traced)
        _archive(name="tiny_encoder", handler=HERE / "encoder_handler.py", out_dir=out_dir, work=work,
                 extra=["--serialized-file", str(traced)])


if __name__ == "__main__":
    main(Path(sys.argv[1]))
