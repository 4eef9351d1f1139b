"""tools/coverage.py on small fake namespaces (the real table changes with every name added, so it is not
pinned here): which names count as public, the split, the Markdown, and the command line."""
import importlib.util
import os
import subprocess
import sys
import types
from typing import Optional

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_spec = importlib.util.spec_from_file_location("nnzoo_coverage_tool", os.path.join(ROOT, "tools", "coverage.py"))
coverage = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = coverage  # dataclasses look their module up there
_spec.loader.exec_module(coverage)


def _fake_torch():
    ref = types.ModuleType("faketorch")
    ref.add = lambda a, b: a + b
    ref.mul = lambda a, b: a * b
    ref.topk = lambda x, k: x
    ref._private = 1
    ref.os = os  # a module it imports: not its API
    ref.Optional = Optional  # a typing helper: not its API
    ref.TYPE_CHECKING = False
    ref.nn = types.ModuleType("faketorch.nn")  # its own submodule: part of the API
    cand = types.ModuleType("fakezoo")
    cand.add = ref.add
    cand.nn = types.ModuleType("fakezoo.nn")
    return ref, cand


def test_public_names_skip_private_imported_and_typing_helpers():
    ref, _ = _fake_torch()
    assert coverage.public_names(ref) == ["add", "mul", "nn", "topk"]

    class T:
        def sum(self):
            pass

        def _hidden(self):
            pass

        shape = property(lambda self: ())

    assert coverage.public_names(T) == ["shape", "sum"]


def test_compare_and_render():
    ref, cand = _fake_torch()
    row = coverage.compare("faketorch", ref, cand)
    assert (row.have, row.missing, row.total) == (["add", "nn"], ["mul", "topk"], 4)
    text = coverage.render([row, coverage.compare("empty", types.ModuleType("e"), cand)], "9.9")
    assert "(torch 9.9)" in text
    assert "| `faketorch` | 4 | 2 | 2 | 50.0% |" in text and "| `empty` | 0 | 0 | 0 | 100.0% |" in text
    assert "**In nnzoo (2):**\n\n`add`, `nn`" in text and "**Missing (2):**\n\n`mul`, `topk`" in text
    assert "**Missing (0):**\n\n(none)" in text
    assert all(len(line) <= 120 for line in text.splitlines() if line.startswith("`"))


def test_a_failing_attribute_still_counts_and_lazy_lookups_do_not_crash():
    class Lazy(types.ModuleType):
        def __getattr__(self, name):
            raise RuntimeError("boom")  # a namespace whose lookups fail for other reasons than AttributeError

    ref = types.ModuleType("r")
    ref.x = 1
    row = coverage.compare("r", ref, Lazy("c"))
    assert row.missing == ["x"]


def test_command_line_prints_the_table():
    out = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "coverage.py"), "--out", "-"],
                         capture_output=True, text=True, check=True, cwd=ROOT).stdout
    assert out.startswith("# PyTorch coverage")
    for label in ("torch", "torch.Tensor", "torch.nn", "torch.nn.functional", "torch.optim"):
        assert f"| `{label}` |" in out and f"## `{label}`" in out
