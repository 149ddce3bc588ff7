"""One bounded reader for every input (issue 19 section 5): FIFOs, devices, pixel bombs and huge counts are
refused with one sentence and exit code 2 by the real commands, or survived cheaply (peak memory measured in
a child process, never timings)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from maskwork.core.cli import run
from maskwork.core.domain.errors import InputError
from maskwork.core.store import bounded

ROOT = Path(__file__).resolve().parents[2]

# Runs one CLI command in a fresh interpreter under an address-space cap and reports its exit code, stderr
# and peak memory (VmHWM of the child itself). A regression that reads /dev/zero dies at the cap, not the
# machine.
CHILD = """
import json, resource, sys
resource.setrlimit(resource.RLIMIT_AS, (int(sys.argv[2]) << 20, int(sys.argv[2]) << 20))
def hwm_mb():
    line = next(l for l in open("/proc/self/status") if l.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024
for name in sys.argv[3:]:
    __import__(name)  # what the command loads anyway (torch): the bound is on top of it
from maskwork.core.cli import run
base = hwm_mb()
rc = run(json.loads(sys.argv[1]))
print(json.dumps({"rc": rc, "base_mb": base, "peak_mb": hwm_mb()}))
"""


def _child(argv: list[str], cap_mb: int = 3072, env: dict | None = None, preload: tuple[str, ...] = ()
           ) -> tuple[dict, str]:
    proc = subprocess.run([sys.executable, "-c", CHILD, json.dumps(argv), str(cap_mb), *preload], cwd=ROOT,
                          capture_output=True, text=True, timeout=300, env={**os.environ, **(env or {})})
    lines = proc.stdout.strip().splitlines()
    assert lines and proc.returncode == 0, f"the command crashed (exit {proc.returncode}): {proc.stderr[-1500:]}"
    return json.loads(lines[-1]), proc.stderr


def _one_sentence(err: str, *needles: str) -> None:
    assert "Traceback" not in err and err.strip().count("\n") == 0, err
    for n in needles:
        assert n in err, (n, err)


# ---- the reader itself ----------------------------------------------------------------------------
@pytest.mark.timeout(10)
def test_reader_refuses_a_fifo_without_blocking(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    link = tmp_path / "project.json"
    link.symlink_to(fifo)
    with pytest.raises(InputError, match=r"is a named pipe \(FIFO\) \(it links to .*pipe\), not a regular file"):
        bounded.read_bytes(link, limit=1000, what="project file")
    with pytest.raises(InputError, match="named pipe"):
        bounded.check_file(fifo, limit=1000, what="model")


def test_reader_refuses_devices_folders_and_oversize(tmp_path):
    zero = tmp_path / "lock"
    zero.symlink_to("/dev/zero")
    with pytest.raises(InputError, match="is a character device"):
        bounded.read_bytes(zero, limit=1 << 20, what="lock file")
    with pytest.raises(InputError, match="is a folder"):
        bounded.read_bytes(tmp_path, limit=10, what="annotation")
    big = tmp_path / "big.json"
    big.write_bytes(b" " * 2001)
    with pytest.raises(InputError, match=r"too large \(2.0 KB, above the 2.0 KB limit"):
        bounded.read_bytes(big, limit=2000, what="annotation")
    assert bounded.read_bytes(big, limit=2001, what="annotation") == b" " * 2001
    with pytest.raises(FileNotFoundError):  # callers keep their own "does not exist" sentences
        bounded.read_bytes(tmp_path / "nope", limit=10, what="x")


# ---- stored files and inputs that are FIFOs or /dev/zero, through the real commands ---------------
@pytest.fixture
def imported(nuclei_small) -> tuple[Path, Path]:
    folder, gt, _doc = nuclei_small
    assert run(["import", str(gt), str(folder)]) == 0
    return folder, gt


@pytest.mark.timeout(10)
@pytest.mark.parametrize("stored", ["lock", "project.json"])
def test_a_stored_file_linked_to_a_fifo_is_refused(imported, tmp_path, capsys, stored):
    folder, gt = imported
    capsys.readouterr()
    target = folder / ".maskwork" / stored
    target.unlink(missing_ok=True)
    os.mkfifo(tmp_path / "pipe")
    target.symlink_to(tmp_path / "pipe")
    assert run(["export", str(folder), str(tmp_path / "out.json")]) == 2
    _one_sentence(capsys.readouterr().err, "named pipe (FIFO)", stored)


@pytest.mark.parametrize("stored", ["lock", "annotation"])
def test_a_stored_file_linked_to_dev_zero_is_refused_cheaply(imported, tmp_path, stored):
    folder, _gt = imported
    store = folder / ".maskwork"
    target = store / "lock" if stored == "lock" else sorted((store / "annotations").glob("*.json"))[0]
    target.unlink(missing_ok=True)
    target.symlink_to("/dev/zero")
    cost, err = _child(["export", str(folder), str(tmp_path / "out.json")])
    assert cost["rc"] == 2
    _one_sentence(err, "character device", target.name)
    assert cost["peak_mb"] - cost["base_mb"] < 200


@pytest.mark.timeout(10)
def test_models_add_of_a_fifo_is_refused(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("MASKWORK_CONFIG_DIR", str(tmp_path / "config"))
    fifo = tmp_path / "model.onnx"
    os.mkfifo(fifo)
    assert run(["models", "add", str(fifo)]) == 2
    _one_sentence(capsys.readouterr().err, "named pipe (FIFO)", "model.onnx")


def test_models_add_of_dev_zero_is_refused_cheaply(tmp_path):
    link = tmp_path / "model.onnx"
    link.symlink_to("/dev/zero")
    cost, err = _child(["models", "add", str(link)], cap_mb=6144,
                       env={"MASKWORK_CONFIG_DIR": str(tmp_path / "config")})
    assert cost["rc"] == 2
    _one_sentence(err, "ONNX model /dev/zero is a character device")


# ---- pixel caps in every image reader -------------------------------------------------------------
def _flat_png(path: Path, side: int, mode: str = "I;16") -> None:
    """A single-colour PNG of side x side pixels: a few hundred KB on disk, gigabytes once decoded."""
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")

    depth, row = (16, b"\0" + b"\0\1" * side) if mode == "I;16" else (8, b"\0" + b"\1" * side)
    z = zlib.compressobj(9)
    idat = b"".join(z.compress(row) for _ in range(side)) + z.flush()
    ihdr = side.to_bytes(4, "big") * 2 + bytes([depth, 0, 0, 0, 0])
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b""))


@pytest.mark.parametrize("side", [19_000, 25_000])  # 361 MP (our cap) and 625 MP (Pillow's own bomb refusal)
def test_iou_refuses_a_mask_above_the_pixel_cap_cheaply(tmp_path, side):
    gt, pred = tmp_path / "gt", tmp_path / "pred"
    gt.mkdir(), pred.mkdir()
    _flat_png(gt / "a.png", side)
    shutil.copy(gt / "a.png", pred / "a.png")
    cost, err = _child(["iou", "--gt", str(gt), "--pred", str(pred)])
    assert cost["rc"] == 2
    _one_sentence(err, "a.png is too large", "MP limit")
    assert cost["peak_mb"] - cost["base_mb"] < 300


def test_train_data_masks_are_checked_against_their_images_and_classes(tmp_path, aerial_dir):
    """A PNG folder: the classes come from the values present; a value beyond the classes or a mask of another
    size than its image is one sentence naming the file (it was an IndexError deep in training)."""
    from maskwork.core.training.datasets import from_png_folder

    src = sorted((aerial_dir / "images").iterdir())[0]
    (tmp_path / "images").mkdir(), (tmp_path / "masks").mkdir()
    w, h = Image.open(src).size
    for name, values in (("a", (0, 3)), ("b", (0, 7))):
        shutil.copy(src, tmp_path / "images" / f"{name}{src.suffix}")
        lm = np.zeros((h, w), np.uint8)
        lm[: h // 2] = values[1]
        Image.fromarray(lm).save(tmp_path / "masks" / f"{name}.png")
    data = from_png_folder(tmp_path)
    assert data.classes.ids() == [0, 3, 7] and data.classes.names() == ["background", "class 3", "class 7"]
    (tmp_path / "classes.json").write_text(json.dumps([{"id": 0, "name": "bg"}, {"id": 3, "name": "roof"}]))
    data = from_png_folder(tmp_path)
    with pytest.raises(InputError, match=r"b\.png holds the value 7, but the classes \(from .*json\) end at 3"):
        [it.label_map() for it in data.items]
    (tmp_path / "classes.json").unlink()
    Image.fromarray(np.zeros((h, w + 1), np.uint8)).save(tmp_path / "masks" / "a.png")
    with pytest.raises(InputError, match=rf"a\.png is {w + 1}x{h} but its image a.* is {w}x{h}"):
        from_png_folder(tmp_path).items[0].label_map()


def test_train_on_a_mask_with_value_65535_and_no_class_list_is_refused_cheaply(tmp_path, aerial_dir):
    src = sorted((aerial_dir / "images").iterdir())[0]
    (tmp_path / "images").mkdir(), (tmp_path / "masks").mkdir()
    shutil.copy(src, tmp_path / "images" / src.name)
    w, h = Image.open(src).size
    lm = np.zeros((h, w), np.uint16)
    lm[0, 0] = 65535
    Image.fromarray(lm).save(tmp_path / "masks" / f"{src.stem}.png")
    cost, err = _child(["train", "--arch", "unet_tiny", "--data", str(tmp_path), "--epochs", "1",
                        "--out", str(tmp_path / "m.pt")], cap_mb=8192,
                       preload=("torch", "maskwork.core.training.loop"))
    assert cost["rc"] == 2
    _one_sentence(err, f"{src.stem}.png holds the value 65535", "classes.json")
    assert cost["peak_mb"] - cost["base_mb"] < 500


# ---- counts checked against what was declared -----------------------------------------------------
def test_coco_with_40000_categories_is_refused(nuclei_small, tmp_path, capsys):
    folder, gt, doc = nuclei_small
    doc["categories"] = [{"id": k, "name": f"c{k}"} for k in range(1, 40_001)]
    coco = tmp_path / "many.json"
    coco.write_text(json.dumps(doc))
    assert run(["import", str(coco), str(folder)]) == 2
    _one_sentence(capsys.readouterr().err, "40,000 categories, more than the 10,000 classes")


def test_class_list_of_many_classes_is_built_with_indexed_lookups():
    """ClassList.add checked names and ids by scanning the list: 40,000 classes cost minutes. Now indexed."""
    from maskwork.core.domain.annotation import ClassList

    classes = ClassList.from_list([{"id": k, "name": f"c{k}"} for k in range(9_999)])
    assert classes.get(9_998).name == "c9998" and classes.by_name("c17").id == 17 and 5_000 in classes
    classes.rename(17, "renamed")
    assert classes.by_name("renamed").id == 17 and "c17" not in classes.names()
    with pytest.raises(KeyError):
        classes.by_name("c17")
    with pytest.raises(ValueError, match="already exists"):
        classes.add("renamed")
    classes.remove(17)
    assert classes.add("c17").id == 9_999 and classes.add("renamed", class_id=17).id == 17


def test_yolo_file_of_a_million_lines_is_refused_cheaply(nuclei_small, tmp_path):
    folder, _gt, doc = nuclei_small
    labels = tmp_path / "yolo"
    labels.mkdir()
    (labels / "classes.txt").write_text("nucleus\n")
    first = Path(doc["images"][0]["file_name"]).stem
    (labels / f"{first}.txt").write_text("0 0.1 0.1 0.2 0.1 0.2 0.2\n" * 1_000_000)  # 27 MB
    cost, err = _child(["import", str(labels), str(folder)])
    assert cost["rc"] == 2
    _one_sentence(err, f"{first}.txt has 1,000,000 object lines, more than the 20,000 objects")
    assert cost["peak_mb"] - cost["base_mb"] < 400
    stored = folder / ".maskwork" / "annotations"
    assert not stored.exists() or not any(stored.iterdir())


# ---- model metadata -----------------------------------------------------------------------------
YOLO = ROOT / "tests" / "fixtures" / "ultralytics" / "tiny-seg-dynamic.onnx"


def _yolo_with(tmp_path: Path, **meta: str) -> Path:
    """The tiny dynamic-input YOLO-seg export with some metadata entries replaced."""
    import onnx

    model = onnx.load(str(YOLO))
    for prop in model.metadata_props:
        if prop.key in meta:
            prop.value = meta[prop.key]
    out = tmp_path / "yolo.onnx"
    onnx.save(model, str(out))
    return out


def test_yolo_with_a_huge_imgsz_on_a_dynamic_input_is_refused_cheaply(tmp_path):
    model = _yolo_with(tmp_path, imgsz="[16000, 16000]")
    config = {"MASKWORK_CONFIG_DIR": str(tmp_path / "config")}
    cost, err = _child(["models", "add", str(model)], cap_mb=6144, env=config,
                       preload=("onnxruntime", "maskwork.core.models.onnx_models.register"))
    assert cost["rc"] == 2
    _one_sentence(err, "yolo.onnx: metadata 'imgsz': imgsz is 16000, expected a whole number from 16 to 4096")
    assert cost["peak_mb"] - cost["base_mb"] < 400, cost
    assert not (tmp_path / "config" / "models.json").exists()


NAMES_80 = {k: str(k) for k in range(80)}


@pytest.mark.parametrize("meta, refusal", [
    ({"names": repr({**NAMES_80, 5: "3"})}, "the class name '3' is given twice"),
    ({"names": repr({**{k: v for k, v in NAMES_80.items() if k}, "zero": "0"})}, "expected the indices 0, 1, 2"),
    ({"imgsz": "'abc'"}, "imgsz is 'abc', expected a whole number"),
    ({"stride": "'x'"}, "metadata 'stride' is 'x'"),
])
def test_yolo_metadata_that_cannot_be_used_is_refused_in_one_sentence(tmp_path, capsys, monkeypatch, meta, refusal):
    monkeypatch.setenv("MASKWORK_CONFIG_DIR", str(tmp_path / "config"))
    assert run(["models", "add", str(_yolo_with(tmp_path, **meta))]) == 2
    _one_sentence(capsys.readouterr().err, refusal)


def test_yolo_with_a_class_named_background_and_string_keys_registers(tmp_path, monkeypatch):
    from maskwork.core.models.onnx_models.register import register_onnx

    monkeypatch.setenv("MASKWORK_CONFIG_DIR", str(tmp_path / "config"))
    names = {str(k): ("background" if k == 0 else f"thing {k}") for k in range(80)}  # "0": ..., as some tools write
    spec = register_onnx(_yolo_with(tmp_path, names=repr(names)))
    assert spec.classes.names()[:3] == ["no object", "background", "thing 1"] and len(spec.classes) == 81


def _semantic_net(path: Path, *, loop_steps: int | None = None, meta: dict | None = None) -> Path:
    """[1, 3, H, W] -> [1, 3, H, W] logits (identity), optionally through a Loop of `loop_steps` empty steps."""
    import onnx
    from onnx import TensorProto, helper

    shape = [1, 3, "h", "w"]
    x, y = (helper.make_tensor_value_info(n, TensorProto.FLOAT, shape) for n in ("image", "logits"))
    if loop_steps is None:
        nodes, inits = [helper.make_node("Identity", ["image"], ["logits"])], []
    else:
        body = helper.make_graph(
            [helper.make_node("Identity", ["cond"], ["cond_out"]), helper.make_node("Identity", ["v"], ["v_out"])],
            "body", [helper.make_tensor_value_info("i", TensorProto.INT64, []),
                     helper.make_tensor_value_info("cond", TensorProto.BOOL, []),
                     helper.make_tensor_value_info("v", TensorProto.FLOAT, None)],
            [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
             helper.make_tensor_value_info("v_out", TensorProto.FLOAT, None)])
        inits = [helper.make_tensor("steps", TensorProto.INT64, [], [loop_steps]),
                 helper.make_tensor("go", TensorProto.BOOL, [], [True])]
        nodes = [helper.make_node("Loop", ["steps", "go", "image"], ["logits"], body=body)]
    model = helper.make_model(helper.make_graph(nodes, "net", [x], [y], inits),
                              opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    for k, v in (meta or {}).items():
        model.metadata_props.add(key=k, value=v)
    onnx.save(model, str(path))
    return path


@pytest.mark.parametrize("flags, refusal", [
    (["--classes", "bg,bg,x"], "the class name 'bg' is given twice"),
])
def test_semantic_net_flags_that_cannot_be_used_are_refused(tmp_path, capsys, monkeypatch, flags, refusal):
    monkeypatch.setenv("MASKWORK_CONFIG_DIR", str(tmp_path / "config"))
    net = _semantic_net(tmp_path / "net.onnx")
    assert run(["register-model", str(net), *flags]) == 2
    _one_sentence(capsys.readouterr().err, refusal)


def test_semantic_net_sidecar_with_a_word_for_a_tile_is_refused(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("MASKWORK_CONFIG_DIR", str(tmp_path / "config"))
    net = _semantic_net(tmp_path / "net.onnx")
    (tmp_path / "net.json").write_text(json.dumps({"classes": ["a", "b", "c"], "input": {"tile": "big"}}))
    assert run(["register-model", str(net)]) == 2
    _one_sentence(capsys.readouterr().err, "tile is 'big', expected a whole number from 16 to 4096")


@pytest.mark.parametrize("classes, refusal", [
    ([{"id": 10 ** 12, "name": "a", "color": "#FF0000"}], "is 1000000000000, expected a whole number from 0 to 9999"),
    ([{"id": 1, "name": "a", "color": "nope"}], "has colour 'nope', expected #RRGGBB"),
    ([{"id": 1, "name": "a", "color": "#FF0000"}, {"id": 1, "name": "b", "color": "#00FF00"}], "class id 1"),
])
def test_maskwork_metadata_with_unusable_classes_is_refused_at_registration(tmp_path, capsys, monkeypatch, classes,
                                                                            refusal):
    monkeypatch.setenv("MASKWORK_CONFIG_DIR", str(tmp_path / "config"))
    meta = {"maskwork.format_version": "1", "maskwork.model": "x", "maskwork.task": "semantic",
            "maskwork.classes": json.dumps(classes), "maskwork.input": json.dumps({"mode": "resize", "resize": 64})}
    from maskwork.core.models.onnx_models.onnx_meta import FORMAT_VERSION

    meta["maskwork.format_version"] = FORMAT_VERSION
    net = _semantic_net(tmp_path / "mw.onnx", meta=meta)
    assert run(["models", "add", str(net)]) == 2
    _one_sentence(capsys.readouterr().err, "maskwork.classes", refusal)


def _test_run_ended() -> None:
    """The test-run thread was stopped by onnxruntime's terminate flag, not left spinning (a Loop of 2e9 steps)."""
    import threading

    for t in threading.enumerate():
        if t.name == "onnx-test-run":
            t.join(30)
            assert not t.is_alive()


@pytest.mark.timeout(120)
def test_a_test_run_that_never_ends_is_stopped_at_its_time_limit(tmp_path, capsys, monkeypatch):
    """A Loop of 2e9 empty steps ran for as long as one cared to wait, deaf to Ctrl-C; now the test run has a time
    limit (and Ctrl-C raises the same terminate flag)."""
    from maskwork.core.models.onnx_models import register

    monkeypatch.setenv("MASKWORK_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setattr(register, "SMOKE_TEST_S", 2.0)
    net = _semantic_net(tmp_path / "loop.onnx", loop_steps=2_000_000_000)
    assert run(["register-model", str(net), "--classes", "a,b,c"]) == 2
    _one_sentence(capsys.readouterr().err, "loop.onnx: its test run on a 128x96 grey image took longer than 2 s")
    assert not (tmp_path / "config" / "models.json").exists()
    _test_run_ended()


@pytest.mark.timeout(120)
def test_ctrl_c_during_a_test_run_stops_it(tmp_path, capsys, monkeypatch):
    """Ctrl-C while the endless test run is going (it used to be ignored for 30 s and more)."""
    import _thread
    import threading
    import time

    monkeypatch.setenv("MASKWORK_CONFIG_DIR", str(tmp_path / "config"))
    net = _semantic_net(tmp_path / "loop.onnx", loop_steps=2_000_000_000)

    def press_ctrl_c_once_the_test_run_runs():
        while not any(t.name == "onnx-test-run" for t in threading.enumerate()):
            time.sleep(0.05)
        time.sleep(0.5)
        _thread.interrupt_main()

    threading.Thread(target=press_ctrl_c_once_the_test_run_runs, daemon=True).start()
    assert run(["register-model", str(net), "--classes", "a,b,c"]) == 130
    assert "cancelled: the test run of loop.onnx was interrupted; nothing was registered" in capsys.readouterr().err
    _test_run_ended()
    assert not (tmp_path / "config" / "models.json").exists()


# ---- one bad image among many -------------------------------------------------------------------
def test_a_one_pixel_high_strip_is_skipped_by_an_instance_model_and_the_rest_predicted(nuclei_small, tmp_path, capsys):
    folder, gt, doc = nuclei_small
    assert run(["import", str(gt), str(folder)]) == 0
    Image.fromarray(np.full((1, 100_000, 3), 128, np.uint8)).save(folder / "strip.png")
    capsys.readouterr()
    out = tmp_path / "pred.json"
    assert run(["predict", "--model", "nuclei-instance", "--out", str(out), str(folder)]) == 1
    err = capsys.readouterr().err
    assert "strip.png is 100000x1 pixels, too thin for this model" in err and "Traceback" not in err
    assert sorted(i["file_name"] for i in json.loads(out.read_text())["images"]) == sorted(
        i["file_name"] for i in doc["images"])
    assert run(["predict", "--model", "nuclei-instance", "--project", str(folder)]) == 1
    assert f"stored predictions of {len(doc['images'])} images" in capsys.readouterr().out


# ---- downloads ----------------------------------------------------------------------------------
def test_a_download_that_never_ends_stops_at_the_expected_size(tmp_path):
    import http.server
    import threading

    from maskwork.core.domain.errors import ModelError
    from maskwork.core.models.catalog.download import download_file

    class Endless(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"  # no Content-Length: the body ends when the server closes

        def do_GET(self):
            self.send_response(200)
            self.end_headers()
            try:
                while True:
                    self.wfile.write(b"\0" * 65536)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Endless)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        dest = tmp_path / "cache" / "model.onnx"
        with pytest.raises(ModelError, match=r"the server sent more than 1 MB for model.onnx.*stopped and deleted"):
            download_file(f"http://127.0.0.1:{server.server_address[1]}/m", dest, check_hash=False,
                          max_bytes=1 << 20)
        assert not any((tmp_path / "cache").iterdir())
    finally:
        server.shutdown()
