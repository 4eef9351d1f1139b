"""The layering of ARCHITECTURE.md, enforced: the backend seam, what each layer may import.

The rules are read from the source (an AST scan), so a new file is checked without being listed here.
"""
import ast
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1] / "nnzoo"

# ---- the backend seam ------------------------------------------------------------------------------------
# Array work in nnzoo/ops and nnzoo/kernels goes through ``backend.xp`` (NumPy today, CuPy for the GPU
# issue). Direct NumPy is admitted for what is not array work on a device:
#   dtype objects and queries (a CuPy array's dtype is a NumPy dtype), the type tests of isinstance,
#   floating-point error control of the host, and np.newaxis.
# Anything else needs a ``# host: <reason>`` comment on the line or the line above it: index arithmetic on
# the host (shapes, offsets of a few integers), data that is a host table by nature.
# The body of a compiled kernel (a function decorated with ``jit.kernel(...)`` or ``jit.helper``) is host code:
# Numba compiles it for the CPU and its callers run it only when ``jit.use(...)`` says the arrays are NumPy
# arrays; its NumPy calls are Numba's supported subset, not array work on a device.
NUMPY_ALLOWED = {
    # dtypes and dtype queries
    "dtype", "float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "uint16",
    "uint32", "uint64", "bool_", "complex64", "complex128", "finfo", "iinfo", "issubdtype", "result_type",
    "promote_types", "can_cast", "integer", "floating", "signedinteger", "unsignedinteger", "number",
    "generic", "inexact", "complexfloating",
    # isinstance tests and host floating-point control
    "ndarray", "errstate", "newaxis",
}
SEAM_DIRS = ("ops", "kernels")


def _py_files(*dirs):
    for d in dirs:
        yield from sorted((ROOT / d).glob("*.py"))


def _numpy_names(tree):
    """The names under which the module refers to numpy (``np`` for ``import numpy as np``)."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.asname or a.name for a in node.names if a.name == "numpy"}
    return names


def _is_compiled_kernel(fn):
    """Whether a function definition is decorated with ``jit.kernel(...)`` or ``jit.helper`` (compiled code)."""
    for d in fn.decorator_list:
        target = d.func if isinstance(d, ast.Call) else d
        name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", None)
        if name in ("kernel", "helper"):
            return True
    return False


def _kernel_lines(tree):
    """The line numbers inside compiled kernels (see the NOTE above NUMPY_ALLOWED)."""
    inside = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and _is_compiled_kernel(node):
            inside.update(range(node.lineno, node.end_lineno + 1))
    return inside


def seam_violations(path):
    """``[(line, text)]`` of direct numpy uses in ``path`` that the seam does not admit."""
    source = path.read_text()
    lines = source.splitlines()
    tree = ast.parse(source)
    aliases = _numpy_names(tree)
    compiled = _kernel_lines(tree)

    def justified(lineno):
        here = lines[lineno - 1]
        above = lines[lineno - 2] if lineno >= 2 else ""
        return lineno in compiled or "# host:" in here or above.strip().startswith("# host:")

    bad = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "numpy":
            for a in node.names:
                if a.name not in NUMPY_ALLOWED and not justified(node.lineno):
                    bad.append((node.lineno, lines[node.lineno - 1].strip()))
        elif (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
              and node.value.id in aliases):
            if node.attr not in NUMPY_ALLOWED and not justified(node.lineno):
                bad.append((node.lineno, lines[node.lineno - 1].strip()))
    return sorted(set(bad))


@pytest.mark.parametrize("path", list(_py_files(*SEAM_DIRS)), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_array_work_goes_through_backend_xp(path):
    bad = seam_violations(path)
    assert not bad, (f"{path.relative_to(ROOT.parent)}: direct numpy use outside the seam (compute through "
                     "backend.xp, or justify it with a '# host: reason' comment):\n"
                     + "\n".join(f"  line {n}: {t}" for n, t in bad))


def test_the_seam_check_can_fail(tmp_path):
    f = tmp_path / "m.py"
    f.write_text("import numpy as np\nx = np.zeros(3)\ny = np.float32\n"
                 "# host: three offsets\nz = np.arange(3)\nw = np.cumsum([1])  # host: offsets\n")
    assert seam_violations(f) == [(2, "x = np.zeros(3)")]


def test_compiled_kernel_bodies_are_host_code(tmp_path):
    f = tmp_path / "k.py"
    f.write_text("import numpy as np\nfrom . import jit\n\n@jit.kernel(parallel=True)\ndef _k(x):\n"
                 "    return np.empty(3)\n\ndef caller(x):\n    return np.empty(3)\n")
    assert seam_violations(f) == [(9, "return np.empty(3)")]


# ---- what each layer may import --------------------------------------------------------------------------
def _imported_modules(path):
    """The absolute ``nnzoo.*`` modules that ``path`` imports (relative imports resolved)."""
    package = ".".join(path.relative_to(ROOT.parent).with_suffix("").parts[:-1])
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if mod.startswith("nnzoo"):
                found.add(mod)
                found |= {f"{mod}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("nnzoo")}
    return found


# layer -> the nnzoo packages and modules it must not import (the layers above it)
FORBIDDEN = {
    "kernels": ("nnzoo.ops", "nnzoo.tensor", "nnzoo.autograd", "nnzoo.nn", "nnzoo.optim", "nnzoo.zoo",
                "nnzoo.data", "nnzoo.train", "nnzoo.recipes", "nnzoo.cli", "nnzoo.serve"),
    "ops": ("nnzoo.nn", "nnzoo.optim", "nnzoo.zoo", "nnzoo.data", "nnzoo.train", "nnzoo.recipes", "nnzoo.cli",
            "nnzoo.serve"),
    "zoo": ("nnzoo.data", "nnzoo.train", "nnzoo.recipes", "nnzoo.cli", "nnzoo.tour", "nnzoo.viz", "nnzoo.serve"),
}


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_a_layer_imports_nothing_above_it(layer):
    bad = []
    for path in _py_files(layer):
        for mod in sorted(_imported_modules(path)):
            if any(mod == f or mod.startswith(f + ".") for f in FORBIDDEN[layer]):
                bad.append(f"{path.relative_to(ROOT.parent)} imports {mod}")
    assert not bad, "\n".join(bad)


def test_serve_sits_at_the_top_next_to_the_cli():
    """nnzoo/serve (the web pages) imports what it shows; of the library only cli.py imports it."""
    bad = []
    for path in sorted(ROOT.rglob("*.py")):
        if path.parent == ROOT / "serve" or path == ROOT / "cli.py":
            continue
        bad += [f"{path.relative_to(ROOT.parent)} imports {m}" for m in sorted(_imported_modules(path))
                if m == "nnzoo.serve" or m.startswith("nnzoo.serve.")]
    assert not bad, "\n".join(bad)


def test_importing_the_zoo_does_not_import_train():
    code = ("import sys, nnzoo.zoo; "
            "print(sorted(m for m in sys.modules if m.startswith(('nnzoo.train', 'nnzoo.recipes'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]", out


def test_import_nnzoo_leaves_the_optional_heavy_modules_unimported():
    # ml_dtypes alone costs ~0.5 s to import: bfloat16 loads it on first use
    heavy = ("numba", "ml_dtypes", "onnx", "onnxruntime", "PIL", "tensorboardX", "nnzoo.train", "nnzoo.recipes",
             "nnzoo.serve", "starlette", "uvicorn")
    code = f"import sys, nnzoo; print(sorted(m for m in {heavy!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]", out
