# The programs here are PyTorch scripts that tests/test_run.py runs through `nnzoo run`; pytest must not import
# them (doctest collection would run them with the real torch).
collect_ignore_glob = ["*.py"]
