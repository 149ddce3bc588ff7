"""A project stays true to its files (issue 19, part 3): an image replaced by one of another size is named,
with what to do, by open, export, train, evaluate and predict, and `forget-image` starts it again; exported
image ids are unique even when two imported COCO files both number their images from 1; a stored label map
whose size is not its image's is refused from its header, never decoded."""
from __future__ import annotations

import base64
import json
import shutil
import struct
import zlib

import cv2
import pytest
from pycocotools.coco import COCO

from maskwork.core.cli import run
from maskwork.core.domain.errors import InputError
from maskwork.core.formats.coco import load_coco
from maskwork.core.store.project import Project

N = 3


def _subset(doc: dict, images: list[dict], renumber: bool = False) -> dict:
    """A COCO dict of these images and their annotations; renumber: image and annotation ids from 1."""
    ids = {img["id"]: k + 1 if renumber else img["id"] for k, img in enumerate(images)}
    anns = [a for a in doc["annotations"] if a["image_id"] in ids]
    if renumber:
        anns = [{**a, "id": k + 1, "image_id": ids[a["image_id"]]} for k, a in enumerate(anns)]
    return {"images": [{**img, "id": ids[img["id"]]} for img in images], "annotations": anns,
            "categories": doc["categories"]}


@pytest.fixture(scope="module")
def nuclei(nuclei_val):
    doc = json.loads(nuclei_val.read_text())
    by_size = sorted(doc["images"], key=lambda i: (i["width"] * i["height"], i["file_name"]))
    small = by_size[:2 * N]  # 256x256
    other = next(i for i in by_size if (i["width"], i["height"]) == (320, 256))
    return {"doc": doc, "small": small, "other": other, "dir": nuclei_val.parent / "images"}


@pytest.fixture()
def changed(nuclei, tmp_path):
    """A semantic project of 3 annotated 256x256 nuclei images whose first file was then replaced by a
    320x256 image under the same name."""
    folder = tmp_path / "project"
    folder.mkdir()
    images = nuclei["small"][:N]
    for img in images:
        shutil.copy(nuclei["dir"] / img["file_name"], folder / img["file_name"])
    (tmp_path / "gt.json").write_text(json.dumps(_subset(nuclei["doc"], images)))
    assert run(["import", str(tmp_path / "gt.json"), str(folder), "--task", "semantic"]) == 0
    name = images[0]["file_name"]
    shutil.copy(nuclei["dir"] / nuclei["other"]["file_name"], folder / name)
    return folder, name, [i["file_name"] for i in images[1:]]


def _says_what_to_do(text: str, name: str) -> None:
    assert f"image {name} is now 320x256 but its masks were drawn on 256x256" in text, text
    assert "put the original image back, or run `maskwork forget-image" in text and name in text


def test_opening_the_image_names_it_and_both_sizes(changed):
    folder, name, others = changed
    project = Project.open(folder)
    with pytest.raises(InputError) as err:
        project.annotation(name)
    _says_what_to_do(str(err.value), name)
    assert all(project.annotation(n).corrected.label_map.shape == (256, 256) for n in others)


def test_an_autosave_snapshot_of_the_old_size_is_not_recovered_over_the_new_file(changed):
    folder, name, _ = changed
    store = folder / ".maskwork"
    doc = json.loads((store / "annotations" / f"{name}.json").read_text())
    doc["saved_ns"] += 10**9  # unsaved work, newer than the saved file
    (store / "autosave" / "annotations").mkdir(parents=True, exist_ok=True)
    (store / "autosave" / "annotations" / f"{name}.json").write_text(json.dumps(doc))
    project = Project.open(folder)
    assert name not in project.recovered and name not in project.dirty
    warning = [w for w in project.warnings if w.startswith(f"autosaved work for {name} could not be recovered")]
    assert len(warning) == 1
    _says_what_to_do(warning[0], name)


def test_export_refuses_instead_of_writing_the_old_size(changed, tmp_path, capsys):
    folder, name, _ = changed
    out = tmp_path / "out.json"
    assert run(["export", str(folder), str(out)]) == 2
    _says_what_to_do(capsys.readouterr().err, name)
    assert not out.exists()


def test_train_and_evaluate_refuse_instead_of_running_silently(changed, tmp_path, capsys, real_models):
    folder, name, _ = changed
    out = tmp_path / "m.pt"
    assert run(["train", "--arch", "unet_small", "--data", str(folder), "--epochs", "1", "--steps-per-epoch", "1",
                "--batch-size", "1", "--crop", "64", "--device", "cpu", "--out", str(out)]) == 2
    _says_what_to_do(capsys.readouterr().err, name)
    assert not out.exists()
    real_models("nuclei-semantic")  # skips when the bundled model is absent
    assert run(["evaluate", "--model", "nuclei-semantic", "--data", str(folder), "--device", "cpu"]) == 2
    _says_what_to_do(capsys.readouterr().err, name)


def test_the_train_dialog_counts_the_other_images_instead_of_failing(changed):
    from maskwork.core.training.project_run import count_corrected  # no Qt: the dialog's counting helper

    folder, _, others = changed
    assert count_corrected(Project.open(folder)) == len(others)


def test_predict_stores_the_others_and_says_what_to_do(changed, capsys, real_models):
    folder, name, others = changed
    real_models("nuclei-semantic")
    assert run(["predict", "--model", "nuclei-semantic", "--project", str(folder)]) == 1
    err = capsys.readouterr().err
    _says_what_to_do(err, name)
    assert "Reopen the project" not in err
    project = Project.open(folder)
    assert all(project.annotation(n).prediction.label_map.shape == (256, 256) for n in others)


def test_forget_image_sets_the_old_work_aside_and_starts_the_image_again(changed, tmp_path, capsys):
    folder, name, others = changed
    stored = (folder / ".maskwork" / "annotations" / f"{name}.json").read_bytes()
    assert run(["forget-image", str(folder), name]) == 0
    kept = list((folder / ".maskwork" / "forgotten").rglob(f"{name}.json"))
    assert len(kept) == 1 and kept[0].read_bytes() == stored  # set aside, not deleted
    project = Project.open(folder)
    fresh = project.annotation(name)
    assert (fresh.width, fresh.height) == (320, 256) and fresh.corrected.is_empty()
    assert all(not project.annotation(n).corrected.is_empty() for n in others)
    out = tmp_path / "out.json"
    assert run(["export", str(folder), str(out), "--all-images"]) == 0
    sizes = {i["file_name"]: (i["width"], i["height"]) for i in json.loads(out.read_text())["images"]}
    assert sizes == {name: (320, 256), **{n: (256, 256) for n in others}}


def test_exported_image_ids_are_unique_when_two_imports_both_count_from_one(nuclei, tmp_path, capsys):
    folder = tmp_path / "project"
    folder.mkdir()
    halves = [nuclei["small"][:N], nuclei["small"][N:2 * N]]
    for k, images in enumerate(halves):
        for img in images:
            shutil.copy(nuclei["dir"] / img["file_name"], folder / img["file_name"])
        (tmp_path / f"part{k}.json").write_text(json.dumps(_subset(nuclei["doc"], images, renumber=True)))
        assert run(["import", str(tmp_path / f"part{k}.json"), str(folder)]) == 0
    out = tmp_path / "out.json"
    assert run(["export", str(folder), str(out)]) == 0
    doc = json.loads(out.read_text())
    ids = [i["id"] for i in doc["images"]]
    assert len(ids) == 2 * N and len(set(ids)) == 2 * N
    assert f"{N} images had an image id that another exported image already has" in capsys.readouterr().err
    objects = {i["file_name"]: 0 for i in doc["images"]}
    names = {i["id"]: i["file_name"] for i in doc["images"]}
    for a in doc["annotations"]:
        objects[names[a["image_id"]]] += 1
    source = {img["file_name"]: sum(a["image_id"] == img["id"] for a in nuclei["doc"]["annotations"])
              for img in nuclei["small"][:2 * N]}
    assert objects == source  # every object stays on its own image
    assert len(COCO(str(out)).getImgIds()) == 2 * N
    assert len(load_coco(out, folder).annotations) == 2 * N  # Maskwork reads its own export back


def _png(width: int, height: int) -> bytes:
    """An all-zero 8-bit gray PNG of this size, built row block by row block (never the whole array)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    z = zlib.compressobj(1)
    rows = bytes(width + 1) * 500
    body = b"".join(z.compress(rows) for _ in range(height // 500)) + z.compress(bytes(width + 1) * (height % 500))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", body + z.flush()) + chunk(b"IEND", b"")


@pytest.mark.parametrize("doc_size", ["damaged too", "still the image's"])
def test_a_stored_label_map_far_larger_than_its_image_is_refused_unread(changed, tmp_path, capsys, monkeypatch,
                                                                       doc_size):
    folder, _, others = changed
    name = others[0]
    path = folder / ".maskwork" / "annotations" / f"{name}.json"
    doc = json.loads(path.read_text())
    doc["corrected"]["label_map"] = {"png": base64.b64encode(_png(30000, 30000)).decode(), "dtype": "uint8"}
    if doc_size == "damaged too":
        doc["width"] = doc["height"] = 30000
    path.write_text(json.dumps(doc))
    real_decode = cv2.imdecode

    def guarded(buf, flags):  # a 30000x30000 label map would take 900 MB (3.6 GB in the old export)
        assert buf.size < 1_000_000, "a stored label map was decoded although its size is not its image's"
        return real_decode(buf, flags)

    monkeypatch.setattr(cv2, "imdecode", guarded)
    with pytest.raises(InputError) as err:
        Project.open(folder).annotation(name)
    expected = ("image %s is now 256x256 but its masks were drawn on 30000x30000" % name
                if doc_size == "damaged too" else "the stored label map has shape (30000, 30000), expected (256, 256)")
    assert expected in str(err.value)
    out = tmp_path / "out.json"
    assert run(["export", str(folder), str(out), "--images", name]) == 2
    assert expected in capsys.readouterr().err and not out.exists()
