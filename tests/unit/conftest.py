"""Fixtures of the unit tests: small real checkpoints in a private weights folder (model_fixtures), a small real
nuclei project for the CLI tests; a local Ray instance for the `--engine ray` tests (cluster_fixtures)."""
import json
import shutil

import pytest

from tests.unit.cluster_fixtures import local_ray, shipped_models  # noqa: F401
from tests.unit.interactive_objects import coco_people, nuclei_objects  # noqa: F401
from tests.unit.model_fixtures import model_env, weights_root  # noqa: F401


@pytest.fixture
def nuclei_small(nuclei_val, tmp_path):
    """8 real nuclei images copied into a project folder, and their COCO file."""
    doc = json.loads(nuclei_val.read_text())
    doc["images"] = sorted(doc["images"], key=lambda i: i["width"] * i["height"])[:8]
    keep = {i["id"] for i in doc["images"]}
    doc["annotations"] = [a for a in doc["annotations"] if a["image_id"] in keep]
    folder = tmp_path / "nuclei"
    folder.mkdir()
    for img in doc["images"]:
        shutil.copy(nuclei_val.parent / "images" / img["file_name"], folder / img["file_name"])
    gt = tmp_path / "gt.json"
    gt.write_text(json.dumps(doc))
    return folder, gt, doc
