"""Seeing what nnzoo computes: the computation graph as text or a picture, backprop as data, training plots, the
HTML report.

matplotlib is imported only when a plot is drawn (the ``viz`` extra).
"""
from .cnn import activation_maps, activations_figure, filters_figure, plot_activations, plot_filters
from .graph import backprop_trace, graph_png, graph_svg, graph_text
from .plots import decision_boundary_figure, history_figure, plot_decision_boundary, plot_history, save_figure
from .report import Report

__all__ = ["graph_text", "graph_svg", "graph_png", "backprop_trace", "plot_history", "history_figure",
           "plot_decision_boundary", "decision_boundary_figure",
           "save_figure", "Report", "plot_filters", "filters_figure", "plot_activations", "activations_figure",
           "activation_maps"]
