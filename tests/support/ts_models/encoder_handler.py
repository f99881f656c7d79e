"""TorchServe handler for the traced tiny transformer encoder.

Tokenisation is a stand-in: the request body's bytes modulo the vocabulary, truncated or zero-padded
to a fixed length, so every request costs the same and no tokenizer files are needed.
"""

import os

import torch

SEQ_LEN = 32
VOCAB = 1000


class TinyEncoderHandler:
    def __init__(self):
        self.model = None

    def initialize(self, context):
        props = context.system_properties
        serialized = context.manifest["model"]["serializedFile"]
        self.model = torch.jit.load(os.path.join(props["model_dir"], serialized), map_location="cpu")
        self.model.eval()

    def handle(self, data, context):
        ids = torch.stack([_token_ids(row) for row in data])
        with torch.inference_mode():
            logits = self.model(ids)
        return [{"label": int(row.argmax()), "logits": row.tolist()} for row in logits]


def _token_ids(row) -> torch.Tensor:
    body = row.get("data") or row.get("body") or row  # a form-encoded request arrives as its fields
    if isinstance(body, str):
        body = body.encode("utf-8")
    elif not isinstance(body, (bytes, bytearray)):
        body = repr(body).encode("utf-8")  # TorchServe hands JSON bodies over already decoded
    ids = [b % VOCAB for b in bytes(body)[:SEQ_LEN]]
    return torch.tensor(ids + [0] * (SEQ_LEN - len(ids)), dtype=torch.long)
