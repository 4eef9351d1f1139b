"""``torch.nn.modules.rnn``: ``RNNBase``, ``RNN``, ``LSTM``, ``GRU``, ``RNNCellBase``, ``RNNCell``, ``LSTMCell``,
``GRUCell``."""
from ..recurrent import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNBase, RNNCell, RNNCellBase

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]
