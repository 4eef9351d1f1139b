"""The zoo: every network the course teaches, one readable file per family, models only.

Each family file defines its models (plain ``nn.Module`` classes, a config dataclass at the top, shapes
commented) and imports nothing above ``nnzoo.nn``. How each is trained on real data (its dataset, loss,
metrics, optimizer and schedule) is its *recipe*, in the mirrored file of :mod:`nnzoo.recipes`
(``zoo/gpt.py`` -> ``recipes/gpt.py``); ``nnzoo.recipes.recipes()`` lists them and ``nnzoo train NAME`` runs one.
"""
from . import feature_maps, gradient_flow, word2vec
from .alexnet import AlexNet, TorchvisionAlexNet, alexnet
from .autoencoder import (
    Autoencoder,
    AutoencoderConfig,
    ConvAutoencoder,
    Corruption,
    DenoisingAutoencoder,
    LinearAutoencoder,
    SparseAutoencoder,
)
from .boltzmann import BoltzmannMachine
from .capsnet import CapsNet, CapsNetConfig, dynamic_routing, margin_loss, squash
from .caption import CaptionConfig, ShowAndTell, ShowAttendTell
from .char_rnn import CharRNN, CharRNNConfig
from .dbn import DBN
from .dcgan import DCGAN, DCGANConfig
from .dcign import DCIGN, DCIGNConfig
from .dnc import DNC, DNCConfig
from .elm import ELM, ridge_solve
from .esn import ESN
from .gan import GAN, GANConfig, Maxout, MaxoutDiscriminator, MLPGenerator
from .gpt import GPT, GPTConfig
from .hopfield import Hopfield
from .lenet import DigitsCNN, DigitsCNNConfig, LeNet5, Net
from .lsm import LSM
from .markov import NGramChain
from .mc_dropout import FashionCNN, FashionCNNConfig
from .mlp import MLP, LogisticRegression
from .nas_rnn import NASRNN, NASCell, RegularizedEvolution
from .ntm import NTM, NTMConfig
from .perceptron import Perceptron
from .rbf import RBFNetwork, kmeans
from .rbm import RBM
from .resnet import (
    BasicBlock,
    Bottleneck,
    CifarResNet,
    ResNet,
    ZeroPadShortcut,
    resnet18,
    resnet20,
    resnet32,
    resnet34,
    resnet44,
    resnet50,
    resnet56,
    resnet101,
    resnet110,
    resnet152,
)
from .rnn_shapes import SequenceClassifier, SequenceGenerator
from .seq2seq import Seq2Seq, Seq2SeqConfig, TransformerSeq2Seq, TransformerSeq2SeqConfig
from .som import SOM
from .tcn import TCN, CausalConv1d, TemporalBlock, TemporalConvNet
from .vae import VAE, VAEConfig
from .vgg import VGG, SmallVGG, make_layers, vgg11, vgg11_bn, vgg13, vgg13_bn, vgg16, vgg16_bn, vgg19, vgg19_bn

__all__ = ["MLP", "LogisticRegression", "Net", "LeNet5", "DigitsCNN", "DigitsCNNConfig",
           "AlexNet", "TorchvisionAlexNet", "alexnet", "VGG", "SmallVGG", "make_layers", "vgg11", "vgg11_bn",
           "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn", "BasicBlock", "Bottleneck", "ResNet",
           "resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "CifarResNet", "ZeroPadShortcut",
           "resnet20", "resnet32", "resnet44", "resnet56", "resnet110", "CausalConv1d", "TemporalBlock",
           "TemporalConvNet", "TCN", "CharRNN", "CharRNNConfig", "SequenceClassifier", "SequenceGenerator",
           "feature_maps", "gradient_flow", "GPT", "GPTConfig", "Seq2Seq", "Seq2SeqConfig", "TransformerSeq2Seq",
           "TransformerSeq2SeqConfig", "word2vec",
           # issue 18: autoencoders and generative models
           "Autoencoder", "AutoencoderConfig", "LinearAutoencoder", "DenoisingAutoencoder", "SparseAutoencoder",
           "ConvAutoencoder", "Corruption", "VAE", "VAEConfig", "DCIGN", "DCIGNConfig", "GAN", "GANConfig", "Maxout",
           "MLPGenerator", "MaxoutDiscriminator", "DCGAN", "DCGANConfig", "FashionCNN", "FashionCNNConfig",
           # issue 19: the classic zoo
           "Perceptron", "RBFNetwork", "kmeans", "ELM", "ridge_solve", "Hopfield", "BoltzmannMachine", "RBM", "DBN",
           "NGramChain", "SOM", "ESN", "LSM",
           # issue 20: memory, capsules, captions, architecture search
           "NTM", "NTMConfig", "DNC", "DNCConfig", "CapsNet", "CapsNetConfig", "dynamic_routing", "squash",
           "margin_loss", "ShowAndTell", "ShowAttendTell", "CaptionConfig", "NASCell", "NASRNN", "RegularizedEvolution"]
