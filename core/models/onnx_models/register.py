"""Register ONNX files as the user's models (entries in <config>/models.json with "backend": "onnx").

A YOLO-seg or Maskwork export describes itself. A generic semantic net is described by the user:
`user = {"classes": [...], "input": {InputPolicy fields, mean, std}}` from CLI flags or the dialog,
else a JSON sidecar beside the file (`NAME.json` or the `NAME.classes.json` that export-model writes),
with the same keys ("input_policy" is read as well). The file is opened and run once on a grey
image before anything is written, so a misfit is reported at registration.
"""
from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np

from maskwork.core.domain.errors import Cancelled, InputError, ModelError
from maskwork.core.models.catalog.builtin import MODELS
from maskwork.core.models.catalog.specs import ModelSpec
from maskwork.core.models.catalog.user_models import read_entries, write_entries
from maskwork.core.models.int8.precision import is_int8, pair_key
from maskwork.core.models.onnx_models.entries import spec_from_entry, spec_of
from maskwork.core.models.onnx_models.layouts import recognise
from maskwork.core.models.onnx_models.onnx_meta import raw_metadata
from maskwork.core.models.onnx_models.runner import OnnxPredictor
from maskwork.core.models.onnx_models.session import open_session
from maskwork.core.store import bounded
from maskwork.core.store.schemas import loads


def sidecar(path: Path) -> dict:
    """{"classes", "input"} from NAME.json / NAME.classes.json beside the file ({} when none)."""
    for candidate in (path.with_suffix(".json"), path.with_name(path.stem + ".classes.json")):
        if candidate.is_file():
            try:
                data = loads(bounded.read_text(candidate, limit=bounded.SMALL_JSON, what="model sidecar"),
                             str(candidate))
            except (OSError, ValueError) as exc:
                raise ModelError(f"{candidate.name}: expected JSON with 'classes' and 'input', it cannot be read "
                                 f"({exc}).") from exc
            if not isinstance(data, dict):
                raise ModelError(f"{candidate.name}: expected a JSON object with 'classes' and 'input'.")
            policy = {**(data.get("input_policy") or {}), **(data.get("input") or {})}
            keys = ("mode", "resize", "max_size", "tile", "overlap", "scale", "mean", "std")
            return {"classes": data.get("classes"), "input": {k: v for k, v in policy.items() if k in keys}}
    return {}


def describe_file(path: str | Path, user: dict | None = None):
    """(Recognised, session) for `path`, or ModelError in one sentence. Nothing is written."""
    path = Path(path).expanduser().resolve()
    session = open_session(path, "cpu")
    given = {k: v for k, v in (user or {}).items() if v}
    found = {**sidecar(path), **given}
    return recognise(path, session, found), session


SMOKE_TEST_S = 120.0  # one run on a 128x96 image; a model that needs longer is broken or hostile


class _Stoppable:
    """The session, run with one RunOptions whose terminate flag another thread can raise (Ctrl-C, time limit)."""

    def __init__(self, session) -> None:
        import onnxruntime as ort

        self._session = session
        self.options = ort.RunOptions()

    def run(self, output_names, feeds, run_options=None):
        return self._session.run(output_names, feeds, self.options)

    def __getattr__(self, name: str):
        return getattr(self._session, name)


def _smoke_test(rec, session, path: Path) -> None:
    """One run on a grey image: the declared layout must really come out of the file.

    It runs in a worker thread so that Ctrl-C and SMOKE_TEST_S stop it (onnxruntime's terminate flag): a graph
    of a billion loop steps would otherwise hold the command with no way out but SIGTERM."""
    spec = spec_of("check", str(path), rec.task, rec.classes, rec.policy, rec.layout, "")
    grey = np.full((96, 128, 3), 128, np.uint8)
    stoppable, failed = _Stoppable(session), []

    def work() -> None:
        try:
            OnnxPredictor(spec, model=stoppable).predict(grey)
        except Exception as exc:  # reported on the calling thread below
            failed.append(exc)

    worker = threading.Thread(target=work, name="onnx-test-run", daemon=True)
    worker.start()
    deadline = time.monotonic() + SMOKE_TEST_S
    try:
        while worker.is_alive() and time.monotonic() < deadline:
            worker.join(0.1)
    except KeyboardInterrupt:
        stoppable.options.terminate = True
        worker.join(5.0)
        raise Cancelled(f"the test run of {path.name} was interrupted; nothing was registered") from None
    if worker.is_alive():
        stoppable.options.terminate = True
        worker.join(5.0)
        raise ModelError(f"{path.name}: its test run on a 128x96 grey image took longer than {SMOKE_TEST_S:.0f} s "
                         "and was stopped; nothing was registered. Check that the file is the model you meant.")
    if not failed:
        return
    exc = failed[0]
    if isinstance(exc, ModelError):
        raise exc
    raise ModelError(f"{path.name} was recognised as {rec.layout.kind} but running it failed: "
                     f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}") from exc


def register_onnx(path: str | Path, name: str | None = None, user: dict | None = None) -> ModelSpec:
    """Recognise, test-run and add the file to the user's models; returns its spec.

    The float and the int8 file of one model (same onnx_quant.pair_key) pair under one entry, whichever
    comes first: the entry keeps the float file as its `path` and the int8 one as `int8_path`."""
    path = Path(path).expanduser().resolve()
    if (name or path.stem) in MODELS:
        raise InputError(f"{name or path.stem!r} is a built-in model name; register {path.name} under another "
                         "name (--name).")
    entries = read_entries()
    key, partner = _partner(path, entries, name)
    if partner is not None:  # a generic net's int8 file needs no second description
        user = {**_entry_user(partner), **{k: v for k, v in (user or {}).items() if v}}
    rec, session = describe_file(path, user)
    _smoke_test(rec, session, path)
    entry = {"name": name or path.stem, "path": str(path), "backend": "onnx", "task": rec.task, "arch": "onnx",
             "classes": rec.classes.to_list(), "input": {"mode": rec.policy.mode, **_policy_dict(rec.policy)},
             "layout": rec.layout.to_dict(), "description": rec.description, "pair_key": key}
    if partner is not None:
        entry = _paired(partner, entry, path)
    write_entries([e for e in entries if e["name"] != entry["name"]] + [entry])
    return spec_from_entry(entry)


def _sides(entry: dict) -> dict[bool, tuple[str, dict]]:
    """int8? -> (file, layout) of an entry's files."""
    sides = {bool(entry["layout"].get("int8")): (entry["path"], entry["layout"])}
    if entry.get("int8_path"):
        sides[True] = (entry["int8_path"], entry["int8_layout"])
    return sides


def _entry_key(entry: dict) -> str | None:
    if entry.get("pair_key"):
        return entry["pair_key"]
    try:  # entries written before pairing existed
        return pair_key(entry["path"], raw_metadata(entry["path"]))
    except (ModelError, OSError):
        return None


def _partner(path: Path, entries: list[dict], name: str | None) -> tuple[str | None, dict | None]:
    """(pair key of the file, the ONNX entry it pairs with: same key, and it brings the missing precision or
    replaces one file of a pair). A file that cannot be read pairs with nothing (describe_file says why)."""
    try:
        key, int8 = pair_key(path, raw_metadata(path)), is_int8(path)
    except (ModelError, OSError):
        return None, None
    for e in entries:
        if e.get("backend") != "onnx" or (name and e["name"] != name) or _entry_key(e) != key:
            continue
        sides = _sides(e)
        if int8 not in sides or len(sides) == 2:
            return key, e
    return key, None


def _entry_user(entry: dict) -> dict:
    return {"classes": entry["classes"], "input": entry["input"]}


def _paired(partner: dict, new: dict, path: Path) -> dict:
    """One entry for both files: the float file's description, both files and layouts."""
    names = [c["name"] for c in new["classes"]], [c["name"] for c in partner["classes"]]
    if new["task"] != partner["task"] or names[0] != names[1]:
        raise ModelError(f"{path.name} pairs with {partner['name']} by name, but its task or classes differ "
                         f"({new['task']}: {', '.join(names[0][:5])}... vs {partner['task']}: "
                         f"{', '.join(names[1][:5])}...); register it under another name (--name).")
    new_int8 = bool(new["layout"].get("int8"))
    sides = _sides(partner)
    sides[new_int8] = (new["path"], new["layout"])
    merged = dict(partner if new_int8 else new)
    (merged["path"], merged["layout"]), (merged["int8_path"], merged["int8_layout"]) = sides[False], sides[True]
    merged.update(name=partner["name"], pair_key=new["pair_key"])
    return merged


def _policy_dict(policy) -> dict:
    d = policy.to_dict()
    d.pop("mode")
    return {**d, "mean": list(policy.mean), "std": list(policy.std)}


def user_input(classes: str | None = None, resize: int | None = None, tile: int | None = None,
               mean: str | None = None, std: str | None = None) -> dict:
    """The user's description of a generic semantic net, from CLI-style text fields."""
    values: dict = {}
    if resize:
        values.update(mode="resize", resize=resize, max_size=max(2048, resize))
    if tile:
        values.update(mode="tile", tile=tile)
    for key, text in (("mean", mean), ("std", std)):
        if text:
            try:
                nums = [float(v) for v in text.split(",")]
            except ValueError:
                raise InputError(f"--{key} expects three numbers like 0.485,0.456,0.406, got {text!r}") from None
            if len(nums) != 3:
                raise InputError(f"--{key} expects three numbers (R,G,B), got {len(nums)}")
            values[key] = nums
    names = [c.strip() for c in classes.split(",") if c.strip()] if classes else None
    return {"classes": names, "input": values}
