"""What an ONNX file is, from its inputs, outputs and custom metadata.

KINDS (the layout's `kind`):
- yolo-seg:           Ultralytics segmentation export. Metadata task=segment, names, imgsz, stride;
                      output [1, 4+C+P, anchors] (cx, cy, w, h in input pixels, C class scores, P mask
                      coefficients) and prototypes [1, P, h, w]. Input RGB 0..1, letterboxed (grey 114).
                      NMS-free exports (YOLO26, metadata end2end=True): output [1, K, 6+P] instead
                      (x1, y1, x2, y2, score, class, P coefficients; the file's own top K, best first).
- maskwork-semantic:  `maskwork export-model` semantic file: normalised [N, 3, H, W] -> logits [N, C, H, W].
- maskwork-instance:  `maskwork export-model` Mask R-CNN: [3, H, W] in 0..1 -> boxes, labels, scores, masks.
- semantic:           any other one-input net giving logits [1, C, h, w]; the user names the classes and
                      says how to feed it (size policy, mean/std) by flags, a JSON sidecar or the dialog.
Maskwork exports carry `maskwork.task`, `maskwork.classes` (JSON list of {id, name, color}) and
`maskwork.input` (JSON of InputPolicy fields) in the metadata map; core/models/torch_models/export.py writes them.
"""
from __future__ import annotations

import ast
from dataclasses import asdict, dataclass
from pathlib import Path

from maskwork.core.domain.annotation import ClassList
from maskwork.core.domain.errors import ModelError
from maskwork.core.models.catalog.meta_checks import background_name, checked_class_list, checked_imgsz, checked_names
from maskwork.core.models.catalog.specs import InputPolicy, ModelSpec, OnnxFile
from maskwork.core.models.int8.precision import is_int8

KINDS = ("yolo-seg", "maskwork-semantic", "maskwork-instance", "semantic")
# generic semantic nets with a dynamic input: shorter side to 512 unless the user says otherwise
GENERIC_POLICY = InputPolicy("resize", resize=512, max_size=2048)


@dataclass(frozen=True)
class OnnxLayout:
    kind: str
    input_name: str
    output_names: tuple[str, ...]
    fixed_size: tuple[int, int] | None = None  # (h, w) when the file fixes its input size
    imgsz: tuple[int, int] = (640, 640)  # YOLO: letterbox target of a dynamic input
    stride: int = 32
    int8: bool = False  # the file holds quantized operators
    end2end: bool = False  # YOLO without NMS (YOLO26): [1, K, 6+P] rows, already chosen and sorted

    def to_dict(self) -> dict:
        return asdict(self)

    @staticmethod
    def from_dict(d: dict) -> "OnnxLayout":
        fixed = d.get("fixed_size")
        return OnnxLayout(d["kind"], d["input_name"], tuple(d["output_names"]), tuple(fixed) if fixed else None,
                          checked_imgsz(d.get("imgsz") or (640, 640), f"model layout of {d.get('kind')}"),
                          int(d.get("stride", 32)), bool(d.get("int8")),
                          bool(d.get("end2end")))


def onnx_source(spec: ModelSpec) -> tuple[OnnxFile, OnnxLayout]:
    """The ONNX file of `spec` and how to run it (its layout: the catalog's specs cannot name OnnxLayout)."""
    source = spec.source
    if not isinstance(source, OnnxFile) or not isinstance(source.layout, OnnxLayout):
        raise ModelError(f"model {spec.name} is not an ONNX file")
    return source, source.layout


@dataclass(frozen=True)
class Recognised:
    task: str
    classes: ClassList
    policy: InputPolicy
    layout: OnnxLayout
    description: str


def _dims(shape) -> list:
    return [d if isinstance(d, int) else None for d in shape]


def _shapes(items) -> str:
    return ", ".join(f"{i.name} {list(i.shape)}" for i in items)


def policy_from(values: dict | None, base: InputPolicy = GENERIC_POLICY) -> InputPolicy:
    """InputPolicy from a dict of its fields ("mode" picks the base mode, the rest as in checkpoints)."""
    values = dict(values or {})
    mode = values.pop("mode", None)
    if mode is not None and mode not in ("rcnn", "resize", "tile"):
        raise ModelError(f"input policy mode {mode!r} is not one of rcnn, resize, tile")
    start = InputPolicy(mode) if mode else base
    return start.updated(values)


def classes_from(items) -> ClassList:
    """A ClassList from names (class 0 first) or from [{id, name, color}] dicts."""
    items = list(items) if isinstance(items, (list, tuple)) else items
    if isinstance(items, list) and items and isinstance(items[0], dict):
        return ClassList.from_list(checked_class_list(items, "the classes given"))
    return ClassList.from_names(checked_names(items, "the classes given"))


def recognise(path: str | Path, session, user: dict | None = None) -> Recognised:
    """Classify the file; `user` ({"classes", "input"}) describes a generic semantic net."""
    path = Path(path)
    meta = dict(session.get_modelmeta().custom_metadata_map)
    inputs, outputs = session.get_inputs(), session.get_outputs()
    if len(inputs) != 1:
        raise ModelError(f"{path.name}: expected one image input, the file has {len(inputs)} ({_shapes(inputs)}).")
    inp = inputs[0]
    if inp.type != "tensor(float)":
        raise ModelError(f"{path.name}: expected a float32 image input, the file's input {inp.name} is {inp.type}.")
    names = tuple(o.name for o in outputs)
    if any(k.startswith("maskwork.") for k in meta):
        return _maskwork(path, meta, inp, outputs, names)
    if "task" in meta or "names" in meta:
        return _ultralytics(path, meta, inp, outputs, names)
    return _generic(path, inp, outputs, names, user or {})


def _fixed(inp) -> tuple[int, int] | None:
    dims = _dims(inp.shape)
    return (dims[-2], dims[-1]) if len(dims) >= 2 and dims[-2] and dims[-1] else None


def _maskwork(path, meta, inp, outputs, names) -> Recognised:
    from maskwork.core.models.onnx_models.onnx_meta import classes_from_metadata, parse_metadata, policy_from_metadata

    parsed = parse_metadata(meta, path.name)  # export-model's writer owns the format (one sentence when broken)
    if parsed is None:
        raise ModelError(f"{path.name} has no maskwork.* metadata although it was recognised as a Maskwork export; "
                         "export the model again (maskwork export-model).")
    task, classes, policy = parsed["task"], classes_from_metadata(parsed), policy_from_metadata(parsed)
    rank = len(inp.shape)
    if task == "semantic" and rank == 4 and len(outputs) == 1 and len(outputs[0].shape) == 4:
        layout = OnnxLayout("maskwork-semantic", inp.name, names, _fixed(inp), int8=is_int8(path))
        return Recognised("semantic", classes, policy, layout, "Maskwork ONNX export")
    if task == "instance" and rank == 3 and len(outputs) == 4:
        layout = OnnxLayout("maskwork-instance", inp.name, names, None, int8=is_int8(path))
        return Recognised("instance", classes, policy, layout, "Maskwork ONNX export (Mask R-CNN)")
    raise ModelError(f"{path.name}: its metadata says a Maskwork {task} model, but its input {list(inp.shape)} and "
                     f"outputs ({_shapes(outputs)}) are not what export-model writes for that task.")


def _literal(meta: dict, key: str, path: Path):
    try:
        return ast.literal_eval(meta[key])
    except (KeyError, ValueError, SyntaxError):
        raise ModelError(f"{path.name}: an Ultralytics YOLO file needs the metadata key {key!r} "
                         f"(a Python literal); the file has {sorted(meta)}.") from None


def _whole_stride(value, path: Path) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 1 <= value <= 256 or value != int(value):
        raise ModelError(f"{path.name}: metadata 'stride' is {value!r:.40}, expected a whole number from 1 to 256.")
    return int(value)


def _ultralytics(path, meta, inp, outputs, names) -> Recognised:
    task = meta.get("task")
    if task == "detect":
        raise ModelError(f"{path.name} is an Ultralytics YOLO detection model (boxes only); Maskwork needs masks: "
                         "export the -seg variant of the model.")
    if task != "segment":
        raise ModelError(f"{path.name}: expected Ultralytics metadata task 'segment', the file says {task!r}.")
    labels = checked_names(_literal(meta, "names", path), f"{path.name}: metadata 'names'")
    imgsz = checked_imgsz(_literal(meta, "imgsz", path), f"{path.name}: metadata 'imgsz'")
    stride = _whole_stride(_literal(meta, "stride", path), path)
    ranks = sorted(len(o.shape) for o in outputs)
    if ranks != [3, 4]:
        raise ModelError(f"{path.name}: a YOLO segmentation model has two outputs, [1, 4+classes+32, anchors] and "
                         f"prototypes [1, 32, h, w]; the file has {_shapes(outputs)}.")
    det = next(o for o in outputs if len(o.shape) == 3)
    proto = next(o for o in outputs if len(o.shape) == 4)
    coefs = _dims(proto.shape)[1] or 32
    end2end = str(meta.get("end2end")) == "True"
    if end2end and _dims(det.shape)[2] not in (None, 6 + coefs):
        raise ModelError(f"{path.name}: an NMS-free (end2end) YOLO segmentation model gives rows of x1, y1, x2, y2, "
                         f"score, class and {coefs} mask coefficients; output {det.name} is {list(det.shape)}.")
    want = 4 + len(labels) + coefs
    if not end2end and _dims(det.shape)[1] not in (None, want):
        raise ModelError(f"{path.name}: its metadata names {len(labels)} classes, so output {det.name} should have "
                         f"{want} channels; it has {det.shape[1]}.")
    layout = OnnxLayout("yolo-seg", inp.name, (det.name, proto.name), _fixed(inp), imgsz, stride, is_int8(path),
                        end2end)
    size = max(layout.fixed_size or imgsz)
    policy = InputPolicy("resize", resize=size, max_size=size, mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0))
    classes = ClassList.from_names([background_name(labels), *labels])  # a model may name a class "background"
    return Recognised("instance", classes, policy, layout, meta.get("description") or "Ultralytics YOLO-seg")


def _generic(path, inp, outputs, names, user: dict) -> Recognised:
    if len(inp.shape) != 4 or _dims(inp.shape)[1] not in (None, 3) or len(outputs) != 1 or len(outputs[0].shape) != 4:
        raise ModelError(f"{path.name}: expected a YOLO-seg export, a Maskwork export or a semantic net (one image "
                         f"input [1, 3, H, W], logits [1, C, h, w]); the file has inputs {_shapes([inp])} and "
                         f"outputs {_shapes(outputs)} and no Ultralytics or Maskwork metadata.")
    channels = _dims(outputs[0].shape)[1]
    if not user.get("classes"):
        n = f"{channels} " if channels else ""
        raise ModelError(f"{path.name} looks like a semantic net (logits {list(outputs[0].shape)}) but has no class "
                         f"names: give its {n}class names (--classes a,b,c or a JSON sidecar {path.stem}.json).")
    classes = classes_from(user["classes"])
    if channels and len(classes) != channels:
        raise ModelError(f"{path.name}: its logits have {channels} classes but {len(classes)} names were given "
                         f"({', '.join(classes.names())}).")
    layout = OnnxLayout("semantic", inp.name, names, _fixed(inp), int8=is_int8(path))
    return Recognised("semantic", classes, policy_from(user.get("input")), layout, "semantic ONNX model")
