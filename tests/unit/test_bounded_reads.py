"""Every read of a user's file in core/ goes through core.store.bounded (regular files only, size-capped).

The scan walks the AST of every module under core/ and fails on a raw read (open(...) for reading,
Path.read_bytes/read_text, cv2.imread, np.fromfile, Image.open, onnx.load, torch.load, json.load on a file
object, an onnxruntime session from a path) unless its argument was vetted by core.store.bounded in the same
function, or it reads an in-memory buffer (io.BytesIO), or it is in ALLOWED below with the reason. A reader
added later is covered or fails here.
"""
from __future__ import annotations

import ast
from pathlib import Path

CORE = Path(__file__).resolve().parents[2] / "core"
BOUNDED = CORE / "store" / "bounded.py"

# dotted call names that read a file given to them
READERS = {"cv2.imread", "np.fromfile", "np.load", "np.loadtxt", "np.genfromtxt", "numpy.fromfile",
           "Image.open", "PIL.Image.open", "onnx.load", "onnx.load_model", "torch.load", "json.load",
           "pickle.load", "yaml.safe_load", "yaml.load", "ort.InferenceSession", "onnxruntime.InferenceSession",
           "InferenceSession", "io.open", "tifffile.imread", "imageio.imread"}
METHODS = {"read_bytes", "read_text"}  # pathlib reads: unbounded and follow links to FIFOs and /dev/zero

# (file under core/, function, call): why a raw read is fine there. Keep this short and say why.
ALLOWED: dict[tuple[str, str, str], str] = {
}


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        inner = _dotted(node.value)
        return f"{inner}.{node.attr}" if inner else ""
    return ""


def _is_bounded_call(node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and _dotted(node.func).split(".")[0] == "bounded"


def _vetted_names(func: ast.AST) -> set[str]:
    """Names bound to a core.store.bounded result in this function (assignments and `with ... as`)."""
    names = set()
    for node in ast.walk(func):
        if isinstance(node, ast.Assign) and _is_bounded_call(node.value):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                if _is_bounded_call(item.context_expr) and isinstance(item.optional_vars, ast.Name):
                    names.add(item.optional_vars.id)
    return names


def _procfs(arg: ast.AST) -> bool:
    """A literal path under /proc: written by the kernel, never a user's FIFO or a huge file."""
    first = arg.values[0] if isinstance(arg, ast.JoinedStr) and arg.values else arg
    return isinstance(first, ast.Constant) and isinstance(first.value, str) and first.value.startswith("/proc/")


def _vetted(arg: ast.AST, names: set[str]) -> bool:
    """The argument is a bounded result, a name bound to one, an in-memory buffer or a /proc file (str()/Path()
    around it allowed)."""
    while isinstance(arg, ast.Call) and _dotted(arg.func) in ("str", "Path", "os.fspath") and arg.args:
        arg = arg.args[0]
    if _procfs(arg):
        return True
    if _is_bounded_call(arg) or (isinstance(arg, ast.Name) and arg.id in names):
        return True
    return isinstance(arg, ast.Call) and _dotted(arg.func) in ("io.BytesIO", "BytesIO")


def _reads_for_reading(call: ast.Call) -> bool:
    """open(path[, mode]) whose mode reads (no mode, or one without w/a/x)."""
    mode = call.args[1] if len(call.args) > 1 else next((k.value for k in call.keywords if k.arg == "mode"), None)
    if mode is None:
        return True
    modes = [n.value for n in ast.walk(mode) if isinstance(n, ast.Constant) and isinstance(n.value, str)]
    return not modes or any(not set(m) & set("wax") for m in modes)


def raw_reads(path: Path) -> list[tuple[str, str, str, int]]:
    """(file, function, call, line) of every raw read in one module."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    rel = path.relative_to(CORE).as_posix()
    found = []

    def visit(node: ast.AST, func: str, names: set[str]) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                visit(child, child.name, names | _vetted_names(child))
                continue
            if isinstance(child, ast.Call):
                name = _dotted(child.func)
                first = child.args[0] if child.args else None
                raw = ((name in READERS and not (first is not None and _vetted(first, names)))
                       or (name == "open" and _reads_for_reading(child)
                           and not (first is not None and _vetted(first, names)))
                       or (isinstance(child.func, ast.Attribute) and child.func.attr in METHODS
                           and _dotted(child.func.value) != "bounded"))
                if raw:
                    found.append((rel, func, name or f".{child.func.attr}", child.lineno))  # type: ignore[union-attr]
            visit(child, func, names)

    visit(tree, "<module>", set())
    return found


def test_every_read_in_core_goes_through_the_bounded_reader():
    assert BOUNDED.is_file()
    found = [hit for path in sorted(CORE.rglob("*.py")) if path != BOUNDED for hit in raw_reads(path)]
    unexplained = [f"core/{f}:{line} {func}(): {call}" for f, func, call, line in found
                   if (f, func, call) not in ALLOWED]
    assert not unexplained, ("raw reads outside core.store.bounded (read through bounded.read_bytes / "
                             "read_text / open_binary / check_file, or add an ALLOWED row saying why):\n"
                             + "\n".join(unexplained))


def test_allow_list_has_no_stale_rows():
    found = {(f, func, call) for path in sorted(CORE.rglob("*.py")) if path != BOUNDED
             for f, func, call, _ in raw_reads(path)}
    assert not set(ALLOWED) - found, f"ALLOWED rows that match no read any more: {set(ALLOWED) - found}"


def test_the_scan_sees_raw_reads(tmp_path, monkeypatch):
    """The scan itself: each kind of raw read is caught, vetted ones are not."""
    module = tmp_path / "core" / "m.py"
    module.parent.mkdir()
    module.write_text(
        "import json, io\nfrom pathlib import Path\n"
        "def a(p):\n    return Path(p).read_bytes()\n"
        "def b(p):\n    with open(p) as fh:\n        return json.load(fh)\n"
        "def c(p):\n    return Image.open(p)\n"
        "def d(p):\n    return torch.load(p, weights_only=True)\n"
        "def ok(p):\n    v = bounded.check_file(p, limit=1, what='x')\n    return torch.load(v), onnx.load(str(v))\n"
        "def ok2(data):\n    return Image.open(io.BytesIO(data)), open(data, 'wb')\n"
        "def ok3(pid):\n    return open(f'/proc/{pid}/stat', 'rb'), open('/etc/passwd')\n")
    monkeypatch.setattr(__import__(__name__, fromlist=["CORE"]), "CORE", tmp_path / "core")
    hits = {(func, call) for _, func, call, _ in raw_reads(module)}
    assert hits == {("a", ".read_bytes"), ("b", "open"), ("b", "json.load"), ("c", "Image.open"),
                    ("d", "torch.load"), ("ok3", "open")}
