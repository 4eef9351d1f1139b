"""The Bahdanau sequence-to-sequence training step of issue 7, written the PyTorch way and run by both
libraries:

``seq2seq_step``: Embedding(48, 32) -> bidirectional GRU 64 (batch_first) over 30 source tokens; the decoder
starts from s_0 = tanh(Linear(128, 128)([->h_30; <-h_1])) and runs a GRUCell 128 for 10 output steps, each
attending with s_{i-1}: e_j = v^T tanh(W1 h_j + W2 s_{i-1}) (attention width 64), alpha = softmax(e),
c = sum_j alpha_j h_j, s_i = GRUCell([Embedding(16, 32)(y_{i-1}); c], s_{i-1}); logits = Linear(256, 16)
([s_i; c_i]) for all steps at once; teacher forcing 1.0 (the decoder reads the true previous tokens);
CrossEntropyLoss, backward, Adam(lr=1e-3). Batch 64, no padding. PyTorch: about 45 ms per step.

The model is the same code for both libraries (``torch.nn.GRU``, ``GRUCell``, ``Linear``, ``Embedding``,
``torch.tanh/softmax/bmm/cat/stack``); inputs and weights come from NumPy with fixed seeds and are loaded
through ``load_state_dict``, so both sides start equal. ``nnzoo.zoo.seq2seq.Seq2Seq`` is the same network
(with ``BahdanauAttention`` and padding masks).
"""
import numpy as np

from ..registry import workload

SRC_VOCAB, TGT_VOCAB, EMBED, ENC, DEC, ATTN, SRC_LEN, TGT_LEN, BATCH = 48, 16, 32, 64, 128, 64, 30, 10, 64


def seq2seq_data(seed=0):
    """src (64, 30), tgt_in (64, 10) (<bos> = 2 then the target), tgt_out (64, 10) int64 token ids."""
    rng = np.random.default_rng(seed)
    src = rng.integers(4, SRC_VOCAB, size=(BATCH, SRC_LEN)).astype(np.int64)
    tgt = rng.integers(4, TGT_VOCAB, size=(BATCH, TGT_LEN)).astype(np.int64)
    tgt_in = np.concatenate([np.full((BATCH, 1), 2, dtype=np.int64), tgt[:, :-1]], 1)
    return src, tgt_in, tgt


def seq2seq_init(shapes, seed=1):
    """{name: float32 array}: embeddings N(0, 1), everything else U(-1/sqrt(fan), 1/sqrt(fan)) with fan the
    hidden size of a recurrent weight and the input width of a Linear weight or bias."""
    rng = np.random.default_rng(seed)
    out = {}
    for name, shape in shapes.items():
        if "embedding" in name:
            arr = rng.standard_normal(shape)
        else:
            fan = {"encoder": ENC, "decoder": DEC}.get(name.split(".")[0], None)
            fan = fan or shapes[name.rsplit(".", 1)[0] + ".weight"][1]
            bound = 1.0 / np.sqrt(fan)
            arr = rng.uniform(-bound, bound, shape)
        out[name] = arr.astype(np.float32)
    return out


def seq2seq_model(torch):
    """The attention encoder-decoder of the module docstring, its weights loaded from seq2seq_init."""
    nn = torch.nn

    class Seq2Seq(nn.Module):
        def __init__(self):
            super().__init__()
            self.src_embedding = nn.Embedding(SRC_VOCAB, EMBED)
            self.encoder = nn.GRU(EMBED, ENC, batch_first=True, bidirectional=True)
            self.bridge = nn.Linear(2 * ENC, DEC)
            self.tgt_embedding = nn.Embedding(TGT_VOCAB, EMBED)
            self.w1 = nn.Linear(2 * ENC, ATTN, bias=False)
            self.w2 = nn.Linear(DEC, ATTN)
            self.v = nn.Linear(ATTN, 1, bias=False)
            self.decoder = nn.GRUCell(EMBED + 2 * ENC, DEC)
            self.out = nn.Linear(DEC + 2 * ENC, TGT_VOCAB)

        def forward(self, src, tgt_in):
            memory, h_n = self.encoder(self.src_embedding(src))  # (B, L, 2E), (2, B, E)
            s = torch.tanh(self.bridge(torch.cat([h_n[0], h_n[1]], 1)))  # (B, D)
            keys = self.w1(memory)  # (B, L, A)
            emb = self.tgt_embedding(tgt_in)  # (B, T, EMBED)
            feats = []
            for i in range(tgt_in.shape[1]):
                scores = self.v(torch.tanh(keys + self.w2(s).unsqueeze(1))).squeeze(2)  # (B, L)
                alpha = torch.softmax(scores, dim=1)  # (B, L)
                context = torch.bmm(alpha.unsqueeze(1), memory).squeeze(1)  # (B, 2E)
                s = self.decoder(torch.cat([emb[:, i], context], 1), s)  # (B, D)
                feats.append(torch.cat([s, context], 1))  # (B, D + 2E)
            return self.out(torch.stack(feats, 1))  # (B, T, V)

    model = Seq2Seq()
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    model.load_state_dict({k: torch.tensor(v) for k, v in seq2seq_init(shapes).items()})
    return model


@workload("seq2seq_step", "Bahdanau seq2seq training step: Embedding(48, 32), bi-GRU 64 over 30 tokens, GRUCell 128 "
                          "decoder with additive attention (width 64) for 10 teacher-forced steps, Linear(256, 16), "
                          "batch 64, CrossEntropyLoss, backward, Adam(lr=1e-3)")
def seq2seq_step(torch):
    src_np, tgt_in_np, tgt_out_np = seq2seq_data()
    src, tgt_in, tgt_out = torch.tensor(src_np), torch.tensor(tgt_in_np), torch.tensor(tgt_out_np)
    model = seq2seq_model(torch)
    criterion = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step():
        optimizer.zero_grad()
        logits = model(src, tgt_in)  # (B, T, V)
        loss = criterion(logits.reshape(-1, TGT_VOCAB), tgt_out.reshape(-1))
        loss.backward()
        optimizer.step()
        return loss
    return step
