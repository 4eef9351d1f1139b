"""Temporal convolutional network: Bai, Kolter and Koltun, "An empirical evaluation of generic convolutional
and recurrent networks for sequence modeling", 2018 (arXiv:1803.01271); the dilated causal convolutions of
WaveNet (van den Oord et al. 2016, arXiv:1609.03499).

A *causal* convolution computes output t from inputs t, t-1, ..., t-(k-1) only: pad (k-1) zeros on the
left, none on the right. A *dilated* one spaces its taps d apart: y_t = sum_i w_i x_{t - i d}, seeing
(k-1) d + 1 steps. Doubling the dilation in each block (1, 2, 4, ...) grows the receptive field
exponentially with depth:

    receptive field = 1 + sum over blocks of 2 (k - 1) d_i        (two convs per block)

so 8 blocks with k = 2 see 1 + 2 (1 + 2 + ... + 128) = 511 steps.

Each :class:`TemporalBlock` is [causal dilated Conv1d -> ReLU -> dropout] x 2 plus a residual connection
(a 1x1 conv when the channel count changes), then ReLU, as in the paper's Figure 1.

NOTE: the paper (and its code, locuslab/TCN) wraps each conv in weight normalisation and implements
causality as ``padding=(k-1)d`` on both sides followed by trimming the last (k-1)d outputs ("Chomp1d").
Here each conv pads (k-1)d zeros on the left only and uses no weight normalisation: the same outputs as
pad-both-then-trim, without computing the (k-1)d outputs that would be thrown away.
"""
from .. import nn

__all__ = ["CausalConv1d", "TemporalBlock", "TemporalConvNet", "TCN"]

F = nn.functional


class CausalConv1d(nn.Conv1d):
    """y_t = b + sum_{i<k} W_i x_{t - i d}: a Conv1d that pads (k-1) d zeros on the left, so output t sees
    inputs t, t-d, ..., t-(k-1)d and the output has the input's length.

    Args:
        in_channels, out_channels, kernel_size, dilation, groups, bias: as ``nn.Conv1d`` (stride 1, no
            padding of its own).

    Shape: input (N, C_in, L); output (N, C_out, L).

    Example::

        >>> CausalConv1d(2, 4, kernel_size=3, dilation=2)(nnzoo.zeros(1, 2, 10)).shape
        nnzoo.Size([1, 4, 10])
    """

    def __init__(self, in_channels, out_channels, kernel_size, dilation=1, groups=1, bias=True):
        super().__init__(in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=dilation,
                         groups=groups, bias=bias)
        self.left_pad = (self.kernel_size[0] - 1) * self.dilation[0]

    def forward(self, x):                               # (N, C_in, L)
        x = F.pad(x, (self.left_pad, 0))                # (N, C_in, L + (k-1)d): zeros before t = 0
        return super().forward(x)                       # (N, C_out, L)


class TemporalBlock(nn.Module):
    """y = relu(x' + drop(relu(conv2(drop(relu(conv1(x))))))), x' = x or downsample(x) (1x1 conv).

    Args:
        n_inputs (int): input channels. n_outputs (int): output channels.
        kernel_size (int): taps of both causal convs.
        dilation (int): spacing of the taps.
        dropout (float): dropout probability after each conv's ReLU. Default: 0.2.

    Shape: input (N, n_inputs, L); output (N, n_outputs, L).

    Example::

        >>> TemporalBlock(3, 8, kernel_size=2, dilation=4)(nnzoo.zeros(2, 3, 16)).shape
        nnzoo.Size([2, 8, 16])
    """

    def __init__(self, n_inputs, n_outputs, kernel_size, dilation, dropout=0.2):
        super().__init__()
        self.conv1 = CausalConv1d(n_inputs, n_outputs, kernel_size, dilation=dilation)
        self.relu1 = nn.ReLU()
        self.dropout1 = nn.Dropout(dropout)
        self.conv2 = CausalConv1d(n_outputs, n_outputs, kernel_size, dilation=dilation)
        self.relu2 = nn.ReLU()
        self.dropout2 = nn.Dropout(dropout)
        self.downsample = nn.Conv1d(n_inputs, n_outputs, 1) if n_inputs != n_outputs else None
        self.relu = nn.ReLU()
        self.kernel_size, self.dilation = kernel_size, dilation
        self.init_weights()

    def init_weights(self):
        """The paper's code: conv weights N(0, 0.01) (biases keep PyTorch's default)."""
        for conv in (self.conv1, self.conv2, self.downsample):
            if conv is not None:
                nn.init.normal_(conv.weight, 0.0, 0.01)

    @property
    def receptive_field(self):
        """Steps of input one output sees: 1 + 2 (k - 1) d."""
        return 1 + 2 * (self.kernel_size - 1) * self.dilation

    def forward(self, x):                                       # (N, C_in, L)
        out = self.dropout1(self.relu1(self.conv1(x)))          # (N, C_out, L)
        out = self.dropout2(self.relu2(self.conv2(out)))        # (N, C_out, L)
        res = x if self.downsample is None else self.downsample(x)  # (N, C_out, L)
        return self.relu(out + res)                             # (N, C_out, L)


class TemporalConvNet(nn.Module):
    """A stack of temporal blocks with dilations 1, 2, 4, ...: block i has ``num_channels[i]`` channels.

    Args:
        num_inputs (int): input channels (features per time step).
        num_channels (list of int): output channels of each block.
        kernel_size (int): taps per conv. Default: 2.
        dropout (float): dropout probability. Default: 0.2.

    Attributes:
        receptive_field (int): 1 + 2 (k - 1)(2^B - 1) for B blocks: how many steps output t sees.

    Shape: input (N, num_inputs, L); output (N, num_channels[-1], L).

    Example::

        >>> tcn = TemporalConvNet(1, [8, 8, 8], kernel_size=3)
        >>> tcn(nnzoo.zeros(2, 1, 20)).shape, tcn.receptive_field
        (nnzoo.Size([2, 8, 20]), 29)
    """

    def __init__(self, num_inputs, num_channels, kernel_size=2, dropout=0.2):
        super().__init__()
        layers = []
        for i, out_channels in enumerate(num_channels):
            in_channels = num_inputs if i == 0 else num_channels[i - 1]
            layers.append(TemporalBlock(in_channels, out_channels, kernel_size, dilation=2 ** i, dropout=dropout))
        self.network = nn.Sequential(*layers)

    @property
    def receptive_field(self):
        return 1 + sum(block.receptive_field - 1 for block in self.network)

    def forward(self, x):               # (N, C_in, L)
        return self.network(x)          # (N, C_last, L)


class TCN(nn.Module):
    """A temporal convolutional network with a linear read-out at every step (the paper's sequence models).

    Args:
        input_size (int): features per time step.
        output_size (int): outputs per time step (e.g. classes).
        num_channels (list of int): channels of each temporal block (dilations 1, 2, 4, ...).
        kernel_size (int): taps per conv. Default: 2.
        dropout (float): dropout probability. Default: 0.2.

    Shape: input (N, input_size, L) (channels first, as Conv1d); output (N, L, output_size): output t
    depends on inputs 0..t only (and on the last ``receptive_field`` of them).

    Example::

        >>> m = TCN(input_size=2, output_size=5, num_channels=[16, 16], kernel_size=3)
        >>> m(nnzoo.zeros(4, 2, 30)).shape, m.receptive_field
        (nnzoo.Size([4, 30, 5]), 13)
    """

    def __init__(self, input_size, output_size, num_channels, kernel_size=2, dropout=0.2):
        super().__init__()
        self.tcn = TemporalConvNet(input_size, num_channels, kernel_size=kernel_size, dropout=dropout)
        self.linear = nn.Linear(num_channels[-1], output_size)
        nn.init.normal_(self.linear.weight, 0.0, 0.01)

    @property
    def receptive_field(self):
        return self.tcn.receptive_field

    def forward(self, x):                   # (N, C_in, L)
        y = self.tcn(x)                     # (N, C, L)
        return self.linear(y.transpose(1, 2))   # (N, L, C) -> (N, L, output_size)
