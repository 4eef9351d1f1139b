# Two commands set everything up on a fresh machine with only Python:
#   make demo   - create .venv, install nnzoo with its extras, run the guided tour
#   make test   - create .venv, install nnzoo[test], run the linter (ruff) and the whole test suite
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip

.PHONY: demo test lint fuzz bench clean

$(VENV)/bin/activate:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(VENV)/.installed-test: pyproject.toml | $(VENV)/bin/activate
	$(PIP) install --quiet -e ".[test]"
	touch $@

$(VENV)/.installed-demo: pyproject.toml | $(VENV)/bin/activate
	$(PIP) install --quiet -e ".[all]"
	touch $@

demo: $(VENV)/.installed-demo
	$(PY) -m nnzoo tour
	@echo "Look inside the networks in a browser: $(PY) -m nnzoo serve  (then open http://127.0.0.1:8000/)"

# The whole suite runs with the compiled kernels (nnzoo/kernels/jit.py), then the ops, layers and optimizers
# again on the NumPy references alone (NNZOO_KERNELS=numpy), so both paths stay green against PyTorch.
test: $(VENV)/.installed-test
	$(PY) -m ruff check .
	OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 $(PY) -m pytest -n 2
	NNZOO_KERNELS=numpy OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 \
		$(PY) -m pytest -n 2 tests/kernels tests/ops tests/nn tests/optim

lint: $(VENV)/.installed-test
	$(PY) -m ruff check .

fuzz: $(VENV)/.installed-test
	$(PY) tests/fuzz/run_long.py

bench: $(VENV)/.installed-test
	$(PY) -m benchmarks all

clean:
	rm -rf $(VENV) build *.egg-info
