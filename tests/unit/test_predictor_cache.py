"""core.models.predictor_cache: one loaded copy per (model, int8), the least recently used dropped first,
forget() after a model's checkpoint changed. Real bundled models, loaded on the CPU."""
from __future__ import annotations

import pytest

from maskwork.core.models.predict import Predictor
from maskwork.core.models.predictor_cache import CALIBRATION_IMAGES, PredictorCache, calibration_paths
from maskwork.core.resources import bundled_models_dir

SMALL = ("nuclei-semantic", "aerial-landcover", "nuclei-instance")  # the bundled models: a few MB each


@pytest.fixture
def bundled(monkeypatch):
    monkeypatch.delenv("MASKWORK_MODELS_DIR", raising=False)
    monkeypatch.setenv("MASKWORK_OFFLINE", "1")
    for name in SMALL:
        if not (bundled_models_dir() / f"{name}.pt").is_file():
            pytest.skip(f"bundled model {name} not found")


def test_a_loaded_model_is_reused_and_the_least_recently_used_goes_first(bundled):
    cache = PredictorCache(max_loaded=2)
    first = cache.load(SMALL[0], False)
    assert isinstance(first, Predictor) and first.spec.name == SMALL[0]
    assert cache.load(SMALL[0], False) is first
    second = cache.load(SMALL[1], False)
    assert cache.get(SMALL[0], False) is first  # used again: now SMALL[1] is the least recently used
    cache.load(SMALL[2], False)
    assert cache.get(SMALL[1], False) is None  # dropped, not SMALL[0] that was loaded before it
    assert cache.get(SMALL[0], False) is first and second.spec.name == SMALL[1]
    assert cache.get(SMALL[2], True) is None  # int8 is another entry


def test_forget_drops_every_copy_of_a_model(bundled):
    cache = PredictorCache()
    cache.load(SMALL[0], False)
    cache.load(SMALL[1], False)
    cache.forget(SMALL[0])
    assert cache.get(SMALL[0], False) is None and cache.get(SMALL[1], False) is not None
    cache.clear()
    assert cache.get(SMALL[1], False) is None


def test_calibration_images_are_spread_over_the_project(tmp_path):
    class Project:  # the two methods calibration_paths reads
        def image_names(self):
            return [f"{k:03d}.png" for k in range(100)]

        def image_path(self, name):
            return tmp_path / name

    paths = calibration_paths(Project())
    assert len(paths) == CALIBRATION_IMAGES and paths[0].name == "000.png" and paths[1].name == "006.png"
    assert calibration_paths(None) is None
