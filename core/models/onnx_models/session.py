"""Open an ONNX file in onnxruntime; every failure becomes one ModelError sentence."""
from __future__ import annotations

import os
import re
from pathlib import Path

from maskwork.core.domain.errors import ModelError
from maskwork.core.store import bounded


def providers(device: str | None = None) -> list[str]:
    """CUDA first when onnxruntime has it and the caller did not ask for the CPU."""
    import onnxruntime as ort

    available = ort.get_available_providers()
    if device != "cpu" and "CUDAExecutionProvider" in available:
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    return ["CPUExecutionProvider"]


def _threads() -> int:
    return max(1, int(os.environ.get("MASKWORK_THREADS") or os.cpu_count() or 1))


def open_session(path: str | Path, device: str | None = None):
    import onnxruntime as ort

    path = Path(path)
    if not path.exists():
        raise ModelError(f"{path} does not exist; give the path of an .onnx file.")
    path = bounded.check_file(path, limit=bounded.MODEL_FILE, what="ONNX model")
    opts = ort.SessionOptions()
    opts.log_severity_level = 3  # errors only: notes about unused initializers are noise
    opts.intra_op_num_threads = _threads()
    # idle pool threads would spin after each run and take the cores the decoding needs
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        return ort.InferenceSession(str(path), opts, providers=providers(device))
    except Exception as exc:  # onnxruntime raises its own pybind exception types
        raise ModelError(_why(path, str(exc), ort.__version__)) from exc


def _why(path: Path, message: str, version: str) -> str:
    newer = re.search(r"Opset (\d+) is under development", message)
    if newer:
        till = re.search(r"till opset (\d+)", message)
        upto = f" (it supports up to opset {till.group(1)})" if till else ""
        return (f"{path.name} needs ONNX opset {newer.group(1)}, newer than the installed onnxruntime {version} "
                f"supports{upto}: update onnxruntime or export the model with an older opset.")
    if "INVALID_PROTOBUF" in message or "Protobuf parsing failed" in message:
        return f"{path.name} is not a readable ONNX file (damaged or another format): export it again."
    first = message.split("\n")[0][:240]
    return f"onnxruntime cannot load {path.name}: {first}"
