"""The classifier two-sample test (training/two_sample.py): chance on one distribution, near 1 on two that differ,
a region test that sees only its box, and the Wilson interval's known values."""

import numpy as np
import pytest

from training.two_sample import real_versus_real, two_sample_test, wilson_interval


def faces(n: int, seed: int, bright_band: bool = False) -> np.ndarray:
    """Noise 'faces' (16×16), optionally with a bright band across rows 4–7."""
    images = np.random.default_rng(seed).integers(60, 140, size=(n, 16, 16, 3), dtype=np.uint8)
    if bright_band:
        images[:, 4:8] += 80
    return images


def test_the_wilson_interval():
    low, high = wilson_interval(80, 100)
    assert low == pytest.approx(0.7112, abs=1e-3) and high == pytest.approx(0.8666, abs=1e-3)
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_one_distribution_is_chance_and_two_are_told_apart():
    same = real_versus_real(faces(120, 0), folds=3, epochs=8)
    assert same.low <= 0.5 <= same.high, same
    apart = two_sample_test(faces(60, 1), faces(60, 2, bright_band=True), folds=3, epochs=8)
    assert apart.accuracy > 0.9 and apart.n == 120, apart


def test_a_region_sees_only_its_box():
    """The band differs, the rest does not: outside the band the test is at chance."""
    real, fake = faces(60, 3), faces(60, 4, bright_band=True)
    outside = two_sample_test(real, fake, folds=3, epochs=8, region=(slice(10, 16), slice(0, 16)))
    inside = two_sample_test(real, fake, folds=3, epochs=8, region=(slice(4, 8), slice(0, 16)))
    assert outside.low <= 0.5 <= outside.high and inside.accuracy > 0.9, (outside, inside)
