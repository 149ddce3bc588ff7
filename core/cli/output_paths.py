"""Which arguments of each command are paths it writes, reads, or works on: checked before the command runs.

`run()` (core/cli/__init__.py) calls `check_outputs(args)` before any command function: every output
path goes through core.store.writer_guard.check_output with the command's inputs and projects. Every
string argument of every command must be declared here (tests/unit/test_writer_guard_cli.py walks the
parsers), so a new command or a new `--out` flag cannot skip the guard: it fails that test until declared.
"""
from __future__ import annotations

from argparse import Namespace
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from maskwork.core.store.names import STORE_DIR
from maskwork.core.store.writer_guard import check_output

KindFn = Callable[[Namespace], "str | None"]


@dataclass(frozen=True)
class Output:
    """An argument naming a path the command writes.

    kind: "file", "folder", or a function of the arguments giving one of those (None: not written as files,
    e.g. `predict --engine ray --out PROJECT` stores prediction layers). writes_images: the files written are
    images (None: as writer_guard decides from the name). suffix: what a non-image file should end in."""
    dest: str
    kind: str | KindFn
    writes_images: bool | Callable[[Namespace], bool] | None = None
    suffix: str = ""
    positional: bool = False

    def label(self) -> str:
        return "" if self.positional else "--" + self.dest.replace("_", "-")


@dataclass(frozen=True)
class Paths:
    outputs: tuple[Output, ...] = ()
    inputs: tuple[str, ...] = ()      # files or folders the command reads
    projects: tuple[str, ...] = ()    # project folders it works on (their images and stores are protected)
    not_paths: tuple[str, ...] = ()   # string arguments that name no file: models, devices, image names


def _export_kind(args: Namespace) -> str:
    from maskwork.core.formats.project_io import export_target

    return export_target(args.format, args.out)[0]


def _export_images(args: Namespace) -> bool:
    from maskwork.core.formats.project_io import export_target

    return export_target(args.format, args.out)[1]


def _predict_kind(args: Namespace) -> str | None:
    if args.project:
        return None  # the command refuses --out beside --project itself
    if args.engine == "ray" and (Path(args.out) / STORE_DIR).is_dir():
        return None  # `--engine ray --out PROJECT`: the project's prediction layers (core.cluster.predict_job)
    return "file" if args.out.lower().endswith(".json") else "folder"


def _predict_images(args: Namespace) -> bool:
    """Semantic models write label PNGs; instance models one COCO JSON (unknown model: assume images)."""
    from maskwork.core.domain.errors import MaskworkError
    from maskwork.core.models.catalog.registry import get_model

    if args.out.lower().endswith(".json"):
        return False
    try:
        return get_model(args.model).task != "instance"
    except MaskworkError:
        return True


MODEL_FLAGS = ("arch", "name", "classes", "mean", "std")

COMMAND_PATHS: dict[str, Paths] = {
    "import": Paths(inputs=("source",), projects=("project",)),  # writes the project's store (core.store.import_txn)
    "export": Paths(outputs=(Output("out", _export_kind, _export_images, ".json", positional=True),),
                    projects=("project",), not_paths=("images",)),
    "iou": Paths(outputs=(Output("json", "file", False, ".json"),), inputs=("gt", "pred")),
    "models": Paths(inputs=("checkpoint",), not_paths=MODEL_FLAGS),
    "register-model": Paths(inputs=("checkpoint",), not_paths=MODEL_FLAGS),
    "predict": Paths(outputs=(Output("out", _predict_kind, _predict_images, ".json"),), inputs=("inputs",),
                     projects=("project",), not_paths=("model", "device", "address", "sam_model")),
    "train": Paths(outputs=(Output("out", "file", False, ".pt"),), inputs=("data", "val", "init"),
                   not_paths=("val_names", "device")),
    "evaluate": Paths(inputs=("model", "data", "calibration"), not_paths=("only", "device", "address")),
    "quantize": Paths(outputs=(Output("cache_dir", "folder", False),), inputs=("model", "calibration")),
    "export-model": Paths(outputs=(Output("out", "file", False, ".onnx"),), inputs=("model", "calibration")),
    "sam-models": Paths(),
    "sam-download": Paths(not_paths=("name",)),  # into Maskwork's own cache folder
    "sam-register": Paths(inputs=("encoder", "decoder"), not_paths=("name", "layout")),
    "segment": Paths(outputs=(Output("out", "file", True),), inputs=("image", "mask"),
                     not_paths=("model", "layout", "box", "point")),
    "forget-image": Paths(projects=("project",), not_paths=("images",)),  # moves store files aside (core.store.forget)
    "compare": Paths(outputs=(Output("report", "file", False, ".html"),), inputs=("a", "b", "data", "calibration"),
                     not_paths=("sort", "device", "address")),
}


def _values(args: Namespace, dests: tuple[str, ...]) -> list[str]:
    found: list[str] = []
    for dest in dests:
        value = getattr(args, dest, None)
        if isinstance(value, (list, tuple)):
            found += [str(v) for v in value if v]
        elif value:
            found.append(str(value))
    return found


def check_outputs(args: Namespace) -> None:
    """Refuse, before the command does any work, every declared output path that would lose data."""
    paths = COMMAND_PATHS.get(args.command)
    if paths is None:  # a bug, caught by tests/unit/test_writer_guard_cli.py before it ships
        raise RuntimeError(f"the command {args.command!r} declares no paths in core/cli/output_paths.py")
    projects, inputs = _values(args, paths.projects), _values(args, paths.inputs)
    for out in paths.outputs:
        value = getattr(args, out.dest, None)
        if not value:
            continue
        kind = out.kind(args) if callable(out.kind) else out.kind
        if kind is None:
            continue
        images = out.writes_images(args) if callable(out.writes_images) else out.writes_images
        check_output(value, kind=kind, writes_images=images, suffix=out.suffix, inputs=inputs, projects=projects,
                     flag=out.label())
