"""Recurrent workloads of issue 6, written the PyTorch way and run by both libraries: a character-level
language model (nn.Embedding(65, 64) -> recurrent stack -> nn.Linear(H, 65)) trained with
CrossEntropyLoss and Adam(lr=2e-3) on batches of 32 sequences of 100 tokens (batch_first), and the
same LSTM sampling one character at a time.

- ``rnn_lstm_step``: 2-layer LSTM of 256 (PyTorch about 95 ms/step with its oneDNN kernel);
- ``rnn_gru_step``: 2-layer GRU of 256 (PyTorch about 150 ms);
- ``rnn_tanh_step``: 1-layer tanh RNN of 256 (PyTorch about 30 ms);
- ``rnn_sample_char``: the 2-layer LSTM model at batch 1 under no_grad: embed one token, one LSTM step
  with the carried (h, c), Linear, softmax, multinomial draw (PyTorch about 0.45 ms per character).

Tokens and weights come from NumPy with fixed seeds and are loaded through ``load_state_dict``, so both
sides start equal (recurrent weights from U(-1/sqrt(H), 1/sqrt(H)), PyTorch's init).
"""
import numpy as np

from ..registry import workload

VOCAB, EMBED, HIDDEN, SEQ, BATCH = 65, 64, 256, 100, 32


def char_data(seed=0):
    """x, y (32, 100) int64 tokens in [0, 65): y is x shifted by one step (next-character targets)."""
    rng = np.random.default_rng(seed)
    tokens = rng.integers(0, VOCAB, size=(BATCH, SEQ + 1)).astype(np.int64)
    return tokens[:, :-1], tokens[:, 1:]


def char_init(shapes, seed=1):
    """{name: float32 array}: embedding N(0, 1), recurrent weights U(-1/sqrt(H), 1/sqrt(H)), head
    U(-1/sqrt(H), 1/sqrt(H))."""
    rng = np.random.default_rng(seed)
    out = {}
    bound = 1.0 / np.sqrt(HIDDEN)
    for name, shape in shapes.items():
        if name.startswith("embed"):
            out[name] = rng.standard_normal(shape).astype(np.float32)
        else:
            out[name] = rng.uniform(-bound, bound, shape).astype(np.float32)
    return out


def char_model(torch, kind, num_layers):
    """Embedding(65, 64) -> kind(64, 256, num_layers, batch_first=True) -> Linear(256, 65), weights loaded."""
    nn = torch.nn

    class CharRNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(VOCAB, EMBED)
            rnn_cls = {"lstm": nn.LSTM, "gru": nn.GRU, "tanh": nn.RNN}[kind]
            self.rnn = rnn_cls(EMBED, HIDDEN, num_layers, batch_first=True)
            self.head = nn.Linear(HIDDEN, VOCAB)

        def forward(self, x, state=None):
            out, state = self.rnn(self.embed(x), state)  # (B, T, H)
            return self.head(out), state  # (B, T, V)

    model = CharRNN()
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    model.load_state_dict({k: torch.tensor(v) for k, v in char_init(shapes).items()})
    return model


def _train_step(torch, kind, num_layers):
    x_np, y_np = char_data()
    x, y = torch.tensor(x_np), torch.tensor(y_np)
    model = char_model(torch, kind, num_layers)
    criterion = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)

    def step():
        optimizer.zero_grad()
        logits, _ = model(x)  # (B, T, V)
        loss = criterion(logits.reshape(-1, VOCAB), y.reshape(-1))
        loss.backward()
        optimizer.step()
        return loss
    return step


@workload("rnn_lstm_step", "char-RNN training step: Embedding(65, 64), 2-layer LSTM 256 (batch_first), "
                           "Linear(256, 65), batch 32 x 100 tokens, CrossEntropyLoss, backward, Adam(lr=2e-3)")
def rnn_lstm_step(torch):
    return _train_step(torch, "lstm", 2)


@workload("rnn_gru_step", "char-RNN training step as rnn_lstm_step with a 2-layer GRU 256")
def rnn_gru_step(torch):
    return _train_step(torch, "gru", 2)


@workload("rnn_tanh_step", "char-RNN training step as rnn_lstm_step with a 1-layer tanh RNN 256")
def rnn_tanh_step(torch):
    return _train_step(torch, "tanh", 1)


@workload("rnn_sample_char", "sample one character with the 2-layer LSTM 256 char model at batch 1 under no_grad: "
                             "Embedding of 1 token, LSTM step with carried (h, c), Linear, softmax, multinomial")
def rnn_sample_char(torch):
    model = char_model(torch, "lstm", 2)
    model.eval()
    text = np.random.default_rng(2).integers(0, VOCAB, size=(64, 1, 1)).astype(np.int64)
    tokens = [torch.tensor(t) for t in text]
    # NOTE: the character fed back is the next one of a fixed text rather than the draw, so that both
    # libraries compute the same numbers step after step (the draw is still made, and timed).
    state = [None, 0]

    def step():
        with torch.no_grad():
            tok = tokens[state[1] % len(tokens)]  # (1, 1)
            state[1] += 1
            logits, state[0] = model(tok, state[0])  # (1, 1, V)
            probs = torch.softmax(logits[:, -1] / 0.8, dim=-1)  # (1, V)
            torch.multinomial(probs, 1)
        return probs
    return step
