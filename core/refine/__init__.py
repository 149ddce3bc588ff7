"""Refine a model's masks so that they follow the image (issue 21): the REFINERS table.

"none" keeps the model's mask, "edges" is the weight-free colour guided filter (edges.py), "sam" asks a
promptable model the user has (sam.py). `refine_layer` (apply.py) runs one over a layer's model-made
instances and never touches an object a person made or corrected, nor a locked one.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Refiner:
    name: str
    description: str
    needs_model: bool = False  # a SAM-family prompt model (core.interactive.sam)
    needs_predictor: bool = False  # the instance model that made the masks (core.models.predict.Predictor)


REFINERS: dict[str, Refiner] = {
    "none": Refiner("none", "the model's masks as they are"),
    "edges": Refiner("edges", "weight-free: each mask's outline moved onto the image's colour edges (guided filter)"),
    "zoom": Refiner("zoom", "the model runs again on each object's enlarged box (the object fills its input), "
                    "then edges: finer outlines from models that see a photo small (YOLO), one pass per object",
                    needs_predictor=True),
    "sam": Refiner("sam", "a SAM-family model prompted with each mask's box and inner point; best by its score",
                   needs_model=True),
}
DEFAULT_REFINER = "edges"  # measured: bench/bench_refine.py, docs/BENCHMARKS.md "Refine"
