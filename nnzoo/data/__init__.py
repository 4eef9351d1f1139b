"""Data: datasets, samplers, the DataLoader, sequence tools, vocabularies and transforms.

Also importable as ``nnzoo.utils.data`` (the PyTorch habit). Bundled and downloadable datasets live in
``nnzoo.data.datasets``; sequence helpers in ``nnzoo.data.sequence`` (``pad_sequence`` is in
``nnzoo.nn.utils.rnn``, as in PyTorch).
"""
from . import sequence, transforms
from .dataset import (
    ChainDataset,
    ConcatDataset,
    Dataset,
    IterableDataset,
    StackDataset,
    Subset,
    TensorDataset,
    random_split,
    train_val_test_split,
)
from .loader import DataLoader, default_collate, default_convert, get_worker_info
from .sampler import (
    BatchSampler,
    BucketBatchSampler,
    DistributedSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)
from .sequence import BPTTLoader, batchify, bptt_batches, get_batch, sequence_mask, sort_by_length, windows
from .vocab import Vocab, word_tokenize

__all__ = ["Dataset", "IterableDataset", "TensorDataset", "StackDataset", "Subset", "ConcatDataset",
           "ChainDataset", "random_split", "train_val_test_split",
           "Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler", "WeightedRandomSampler",
           "BatchSampler", "BucketBatchSampler", "DistributedSampler",
           "DataLoader", "default_collate", "default_convert", "get_worker_info",
           "sequence", "transforms", "sequence_mask", "sort_by_length", "windows", "batchify", "get_batch",
           "bptt_batches", "BPTTLoader", "Vocab", "word_tokenize"]
