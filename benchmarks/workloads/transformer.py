"""The Transformer encoder training step, written the PyTorch way and run by both libraries:

``transformer_step``: token embedding (vocab 65, d_model 128) -> ``nn.TransformerEncoder`` of 2
``nn.TransformerEncoderLayer`` (4 heads, feed-forward 512, ReLU, post-norm, batch_first, dropout 0) ->
``nn.Linear`` head to the 65 classes; CrossEntropyLoss over every position; Adam(lr=1e-3). Batch 32 of
64 tokens, no attention mask (bidirectional self-attention).

NOTE: dropout is 0 so that both libraries compute the same numbers (their random streams differ); with
dropout the step does a little more elementwise work on either side.

Inputs and weights come from NumPy with fixed seeds and are loaded through ``load_state_dict``, so both
sides start equal.
"""
import numpy as np

from ..registry import workload

VOCAB, D_MODEL, HEADS, FF, SEQ, BATCH, LAYERS = 65, 128, 4, 512, 64, 32, 2


def transformer_data(seed=0):
    """x, y (32, 64) int64 token ids in [0, 65): the inputs and the targets."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, VOCAB, size=(BATCH, SEQ)).astype(np.int64)
    y = rng.integers(0, VOCAB, size=(BATCH, SEQ)).astype(np.int64)
    return x, y


def transformer_init(shapes, seed=1):
    """{name: float32 array}: matrices U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (fan_in = shape[1]), the
    embedding N(0, 1), LayerNorm weights 1 and biases 0, other biases U(-0.05, 0.05)."""
    rng = np.random.default_rng(seed)
    out = {}
    for name, shape in shapes.items():
        if name == "embed.weight":
            arr = rng.standard_normal(shape)
        elif "norm" in name:
            arr = np.ones(shape) if name.endswith("weight") else np.zeros(shape)
        elif len(shape) == 2:
            bound = 1.0 / np.sqrt(shape[1])
            arr = rng.uniform(-bound, bound, shape)
        else:
            arr = rng.uniform(-0.05, 0.05, shape)
        out[name] = arr.astype(np.float32)
    return out


@workload("transformer_step", "2-layer TransformerEncoder (d_model 128, 4 heads, ff 512, ReLU, batch_first, "
                              "dropout 0) between an Embedding(65, 128) and a Linear(128, 65) head, batch 32 x "
                              "64 tokens: forward, CrossEntropyLoss, backward, Adam(lr=1e-3)")
def transformer_step(torch):
    nn = torch.nn

    class CharTransformer(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(VOCAB, D_MODEL)
            layer = nn.TransformerEncoderLayer(D_MODEL, HEADS, dim_feedforward=FF, dropout=0.0, batch_first=True)
            self.encoder = nn.TransformerEncoder(layer, LAYERS, enable_nested_tensor=False)
            self.head = nn.Linear(D_MODEL, VOCAB)

        def forward(self, x):
            h = self.embed(x)  # (B, T, C)
            h = self.encoder(h)  # (B, T, C)
            return self.head(h)  # (B, T, VOCAB)

    model = CharTransformer()
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    model.load_state_dict({k: torch.tensor(v) for k, v in transformer_init(shapes).items()})
    x_np, y_np = transformer_data()
    x, y = torch.tensor(x_np), torch.tensor(y_np)
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step():
        optimizer.zero_grad()
        logits = model(x)
        loss = criterion(logits.reshape(-1, VOCAB), y.reshape(-1))
        loss.backward()
        optimizer.step()
        return loss
    return step
