"""nnzoo.recipes.lenet: the cnn recipe learning the digits."""


def test_cnn_recipe_learns_the_digits_to_98_5_percent_within_2_minutes(tmp_path):
    """The issue's bar: a CNN on the digits, stratified split (80% train+validation / 20% test), seed 0."""
    import time

    from nnzoo.recipes import run_recipe
    start = time.perf_counter()
    result = run_recipe("cnn", out_dir=tmp_path, seed=0, progress=False)
    assert result["test"]["accuracy"] >= 0.985
    assert time.perf_counter() - start < 120
