"""The recipe registry: one name per recipe; a module imported twice re-registers its own recipes."""
import dataclasses
import importlib.util
import os
import subprocess
import sys

import pytest

import nnzoo.recipes as recipes


def test_another_file_taking_a_registered_name_is_an_error():
    mlp = recipes.recipes()["mlp"]
    impostor = dataclasses.replace(mlp, build_model=lambda config: None)  # defined in this file, not mlp.py
    with pytest.raises(ValueError, match="'mlp' is already registered"):
        recipes.register(impostor)
    assert recipes.recipes()["mlp"] is mlp


def test_a_second_import_of_a_recipe_module_replaces_its_recipe():
    registry = dict(recipes._RECIPES)
    before = registry["cnn"]
    path = os.path.join(os.path.dirname(recipes.__file__), "lenet.py")
    spec = importlib.util.spec_from_file_location("nnzoo.recipes._lenet_again", path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)  # what pytest's importlib mode does when given the file alone
        again = recipes.recipes()["cnn"]
        assert again is not before and again.build_model.__module__ == module.__name__
    finally:
        recipes._RECIPES.clear()
        recipes._RECIPES.update(registry)


def test_pytest_collects_one_recipe_module_alone():
    root = os.path.dirname(os.path.dirname(os.path.dirname(recipes.__file__)))
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--co",
                           os.path.join(root, "nnzoo", "recipes", "mlp.py")],
                          cwd=root, capture_output=True, text=True, timeout=120)
    assert proc.returncode in (0, 5), proc.stdout[-2000:] + proc.stderr[-2000:]  # 5: no doctest items in it
    assert "already registered" not in proc.stdout + proc.stderr
