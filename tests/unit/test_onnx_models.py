"""ONNX models registered and run like the built-in ones (core/models/onnx_models).

The YOLO tests use the seed's real model in ../shared/models (test data only, never copied into the
repository) and skip when it is absent. The reference decoder below is written from the format
description in ../shared/models/README.md, not from Maskwork's decoder.
"""
from __future__ import annotations

import ast
import contextlib
import io
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from maskwork.core.domain.errors import Cancelled, ModelError
from maskwork.core.domain.progress import CancelToken

YOLO = Path(__file__).resolve().parents[2].parent / "shared" / "models" / "yolo11n-seg-quantized.onnx"
FLOOR = 0.05  # candidates above this score on both sides (Maskwork's SCORE_FLOOR), so AP compares decoders


@pytest.fixture()
def config(tmp_path, monkeypatch):
    monkeypatch.setenv("MASKWORK_CONFIG_DIR", str(tmp_path / "config"))
    return tmp_path / "config"


@pytest.fixture()
def yolo(config):
    if not YOLO.is_file():
        pytest.skip(f"the seed's YOLO model is not at {YOLO}")
    from maskwork.core.models.onnx_models.register import register_onnx

    return register_onnx(YOLO, name="yolo-seed")


def _entries(config: Path) -> list:
    f = config / "models.json"
    return json.loads(f.read_text())["models"] if f.is_file() else []


# ---- reference decoder: numpy + onnxruntime, from the README's description -----------------------------
def _reference_predict(session, rgb: np.ndarray, names: int):
    h, w = rgb.shape[:2]
    r = min(320 / h, 320 / w)
    nh, nw = int(round(h * r)), int(round(w * r))
    top, left = int(round((320 - nh) / 2 - 0.1)), int(round((320 - nw) / 2 - 0.1))
    canvas = np.full((320, 320, 3), 114, np.uint8)
    canvas[top:top + nh, left:left + nw] = cv2.resize(rgb, (nw, nh), interpolation=cv2.INTER_LINEAR)
    x = canvas.transpose(2, 0, 1)[None].astype(np.float32) / 255.0
    out0, out1 = session.run(["output0", "output1"], {"images": x})
    a = out0[0].T  # (anchors, 4 + names + 32)
    cls_scores = a[:, 4:4 + names]
    best, score = cls_scores.argmax(1), cls_scores.max(1)
    keep = np.flatnonzero(score >= FLOOR)
    keep = keep[np.argsort(-score[keep])]
    boxes = np.stack([a[keep, 0] - a[keep, 2] / 2, a[keep, 1] - a[keep, 3] / 2,
                      a[keep, 0] + a[keep, 2] / 2, a[keep, 1] + a[keep, 3] / 2], 1)
    chosen = []
    for i in range(len(keep)):  # greedy NMS per class, IoU 0.7
        ok = True
        for j in chosen:
            if best[keep[i]] != best[keep[j]]:
                continue
            ix = max(0, min(boxes[i, 2], boxes[j, 2]) - max(boxes[i, 0], boxes[j, 0]))
            iy = max(0, min(boxes[i, 3], boxes[j, 3]) - max(boxes[i, 1], boxes[j, 1]))
            inter = ix * iy
            union = np.prod(boxes[i, 2:] - boxes[i, :2]) + np.prod(boxes[j, 2:] - boxes[j, :2]) - inter
            if inter / union > 0.7:
                ok = False
                break
        if ok:
            chosen.append(i)
    results = []
    protos = out1[0]
    for i in chosen[:300]:
        coef = a[keep[i], 4 + names:]
        m = 1 / (1 + np.exp(-(coef @ protos.reshape(32, -1)).reshape(80, 80)))
        bx = boxes[i] / 4  # 320 input pixels -> 80 prototype cells
        ys, xs = np.arange(80)[:, None], np.arange(80)[None, :]
        m = m * ((xs >= bx[0]) & (xs < bx[2]) & (ys >= bx[1]) & (ys < bx[3]))  # cropped to the box
        up = cv2.resize(m.astype(np.float32), (320, 320), interpolation=cv2.INTER_LINEAR)
        up = up[top:top + nh, left:left + nw]  # letterbox removed
        full = cv2.resize(up, (w, h), interpolation=cv2.INTER_LINEAR) > 0.5
        if full.any():
            results.append((int(best[keep[i]]), float(score[keep[i]]), full))
    return results


def _reference_person_ap(gt_file: Path) -> float:
    import onnxruntime as ort
    from pycocotools import mask as mask_utils
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    session = ort.InferenceSession(str(YOLO), providers=["CPUExecutionProvider"])
    names = ast.literal_eval(session.get_modelmeta().custom_metadata_map["names"])
    person = [k for k, v in names.items() if v == "person"][0]
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(gt_file))
    dets = []
    for img in gt.dataset["images"]:
        bgr = cv2.imread(str(gt_file.parent / "val2017" / img["file_name"]))
        for c, s, full in _reference_predict(session, bgr[:, :, ::-1].copy(), len(names)):
            if c == person:
                rle = mask_utils.encode(np.asfortranarray(full.astype(np.uint8)))
                rle["counts"] = rle["counts"].decode()
                dets.append({"image_id": img["id"], "category_id": 1, "segmentation": rle, "score": s})
    with contextlib.redirect_stdout(io.StringIO()):
        ev = COCOeval(gt, gt.loadRes(dets), "segm")
        ev.params.catIds, ev.params.maxDets = [1], [1, 10, 300]
        ev.evaluate()
        ev.accumulate()
    p = ev.eval["precision"][:, :, 0, 0, -1]
    return float(p[p > -1].mean())


def test_person_mask_ap_matches_an_independent_decoder(yolo, coco_sample_val):
    from maskwork.core.training.evaluate import evaluate

    table = evaluate("yolo-seed", coco_sample_val)
    ours = table.summary["ap_per_class"]["person"]
    ref = _reference_person_ap(Path(coco_sample_val))
    assert ref > 0.1  # the model finds people at all: a broken letterbox or decoder scores near 0
    assert abs(ours - ref) <= 0.01, (ours, ref)
    assert any("person -> dataset person" in line for line in table.mapping)


# ---- registration ----------------------------------------------------------------------------------------
def test_register_yolo_describes_itself(yolo, config):
    assert yolo.task == "instance" and yolo.backend == "onnx"
    assert yolo.classes.get(1).name == "person" and len(yolo.classes) == 81  # 80 COCO names + background
    layout = yolo.source.layout
    assert (layout.kind, layout.fixed_size, layout.int8) == ("yolo-seg", (320, 320), True)
    from maskwork.core.models.catalog.registry import get_model

    again = get_model("yolo-seed")  # read back from models.json
    assert again.source.layout == layout and again.classes == yolo.classes


def test_cli_models_add_and_predict(config, tmp_path, capsys, coco_sample_val):
    if not YOLO.is_file():
        pytest.skip(f"the seed's YOLO model is not at {YOLO}")
    from maskwork.core.cli import run as main

    assert main(["models", "add", str(YOLO), "--name", "yolo-cli"]) == 0
    assert "ONNX yolo-seg, int8, 81 classes" in capsys.readouterr().out
    images = Path(coco_sample_val).parent / "val2017"
    first = sorted(images.iterdir())[:2]
    out = tmp_path / "pred.json"
    assert main(["predict", "--model", "yolo-cli", *map(str, first), "--out", str(out)]) == 0
    data = json.loads(out.read_text())
    assert len(data["images"]) == 2 and data["annotations"]
    names = {c["id"]: c["name"] for c in data["categories"]}
    assert "person" in {names[a["category_id"]] for a in data["annotations"]}


def test_results_at_original_size_threshold_without_new_forward(yolo, coco_sample_val):
    from maskwork.core.models.predict import Predictor
    from maskwork.core.store.images import read_image

    p = Predictor("yolo-seed")
    img = read_image(sorted((Path(coco_sample_val).parent / "val2017").iterdir())[0])
    calls = []
    run = p.model.run
    p.model = type("Counting", (), {"run": lambda self, *a: calls.append(1) or run(*a),
                                    "get_providers": lambda self: ["CPUExecutionProvider"]})()
    res = p.predict(img, score_threshold=0.5)
    assert (res.height, res.width) == img.shape[:2]
    assert all(m.shape == img.shape[:2] for m in res.masks)
    assert list(res.scores) == sorted(res.scores, reverse=True) and res.scores.min() >= FLOOR
    x, y, w, h = res.boxes.T
    assert (x >= 0).all() and (x + w <= img.shape[1] + 1e-3).all() and (y + h <= img.shape[0] + 1e-3).all()
    assert len(res.filtered(0.3)) > len(res.filtered(0.6)) and len(calls) == 1


def test_batch_progress_and_cancel(yolo, coco_sample_val):
    from maskwork.core.models.batch import predict_batch
    from maskwork.core.models.predict import Predictor

    paths = sorted((Path(coco_sample_val).parent / "val2017").iterdir())[:3]
    p = Predictor("yolo-seed")
    seen = []
    out = list(predict_batch(p, paths, progress=lambda d, t, m: seen.append((d, t))))
    assert [q for q, _ in out] == paths and seen[-1] == (3, 3)
    token = CancelToken()
    gen = predict_batch(p, paths, cancel=token)
    next(gen)
    token.cancel()
    with pytest.raises(Cancelled):
        next(gen)


# ---- generic semantic nets and bad input ---------------------------------------------------------------
def _semantic_net(path: Path, inputs=("image",), out_channels=3, size=(None, None), opset=17, meta=None):
    """A 1x1 convolution: logit c = 10 * channel c of the normalised image (class = the brightest channel)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    w = numpy_helper.from_array((np.eye(out_channels, 3) * 10).astype(np.float32).reshape(out_channels, 3, 1, 1), "w")
    nodes = [helper.make_node("Conv", [inputs[0], "w"], ["logits"])]
    if len(inputs) > 1:
        nodes.append(helper.make_node("Add", ["logits", inputs[1]], ["sum"]))
    ins = [helper.make_tensor_value_info(n, TensorProto.FLOAT, [1, 3, *size]) for n in inputs]
    outs = [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, out_channels, *size])]
    graph = helper.make_graph(nodes, "net", ins, outs, [w])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    for k, v in (meta or {}).items():
        model.metadata_props.add(key=k, value=v)
    onnx.save(model, str(path))
    return path


def test_generic_semantic_with_sidecar(config, tmp_path):
    from maskwork.core.models.onnx_models.register import register_onnx
    from maskwork.core.models.predict import Predictor

    net = _semantic_net(tmp_path / "rgb.onnx")
    (tmp_path / "rgb.json").write_text(json.dumps({"classes": ["red", "green", "blue"],
                                                   "input": {"mode": "resize", "resize": 32, "mean": [0, 0, 0],
                                                             "std": [1, 1, 1]}}))
    spec = register_onnx(net)
    assert spec.task == "semantic" and spec.classes.names() == ["red", "green", "blue"]
    img = np.zeros((40, 60, 3), np.uint8)
    img[:, :20, 0], img[:, 20:40, 1], img[:, 40:, 2] = 200, 200, 200
    res = Predictor(spec.name).predict(img)
    assert res.label_map.shape == (40, 60)
    assert (res.label_map[:, 2:18] == 0).all() and (res.label_map[:, 22:38] == 1).all()
    assert (res.label_map[:, 42:] == 2).all()


def test_generic_semantic_fixed_input_and_cli_flags(config, tmp_path, capsys):
    from maskwork.core.cli import run as main
    from maskwork.core.models.predict import Predictor

    net = _semantic_net(tmp_path / "fixed.onnx", size=(64, 64))
    assert main(["register-model", str(net), "--classes", "r,g,b", "--mean", "0,0,0", "--std", "1,1,1"]) == 0
    img = np.zeros((30, 90, 3), np.uint8)
    img[:, 45:, 2] = 255
    img[:, :45, 1] = 255
    res = Predictor("fixed").predict(img)
    assert res.label_map.shape == (30, 90)
    assert (res.label_map[:, :40] == 1).all() and (res.label_map[:, 50:] == 2).all()


@pytest.mark.parametrize("case, words", [
    ("corrupt", "not a readable ONNX file"),
    ("two inputs", "expected one image input, the file has 2"),
    ("no classes", "has no class names"),
    ("wrong count", "logits have 3 classes but 2 names"),
    ("detect", "detection model (boxes only)"),
    ("bad names", "needs the metadata key 'names'"),
    ("opset", "newer than the installed onnxruntime"),
    ("maskwork broken", "maskwork.task"),
])
def test_bad_files_refused_in_one_sentence(config, tmp_path, case, words):
    from maskwork.core.models.onnx_models.register import register_onnx

    path = tmp_path / "bad.onnx"
    user = None
    if case == "corrupt":
        path.write_bytes(b"\x08\x07 this is not protobuf" * 20)
    elif case == "two inputs":
        _semantic_net(path, inputs=("image", "bias"))
    elif case == "no classes":
        _semantic_net(path)
    elif case == "wrong count":
        _semantic_net(path)
        user = {"classes": ["a", "b"]}
    elif case == "detect":
        _semantic_net(path, meta={"task": "detect", "names": "{0: 'person'}"})
    elif case == "bad names":
        _semantic_net(path, meta={"task": "segment", "names": "person, car", "imgsz": "[320, 320]", "stride": "32"})
    elif case == "opset":
        _semantic_net(path, opset=40)
    else:
        _semantic_net(path, meta={"maskwork.classes": "[]"})
    with pytest.raises(ModelError) as err:
        register_onnx(path, user=user)
    message = str(err.value)
    assert words in message and "\n" not in message
    assert _entries(config) == []
