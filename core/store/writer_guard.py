"""One check for every path Maskwork writes, made before any work (issue 19).

A user-given output path is refused, in one sentence that names it and says what to do, when writing there
would lose data or corrupt a project:
  - it lies inside a project's store (`.maskwork`: project.json, annotations, journal);
  - it is an input of the same command (the images being predicted, the COCO file being scored);
  - it is a file a project lists as an image, or a new image file or image folder inside a project's image
    tree (the project would take the masks for images: its listing is Project.image_names, which skips
    hidden folders and settings["exclude_dirs"]);
  - an output file that is an existing folder, or an output folder that is an existing file.

Projects checked: those the command names, input folders that are projects, and every project whose
folder encloses the output path. The CLI dispatcher calls this for each output argument that
core/cli/output_paths.py declares; the GUI calls it for the paths its dialogs return.
"""
from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from maskwork.core.domain.errors import InputError, MaskworkError
from maskwork.core.store.images import is_image_file
from maskwork.core.store.names import PROJECT_FILE, STORE_DIR

KINDS = ("file", "folder")


@dataclass(frozen=True)
class ProjectTree:
    """Where a project keeps its work (`store`) and the folder tree it lists images from (`images`)."""
    folder: Path
    store: Path
    images: Path
    exclude_dirs: frozenset[str]

    def lists_folder(self, folder: Path) -> bool:
        """Would Project.image_names take image files in `folder` for images of this project?"""
        rel = _relative(folder, self.images)
        if rel is None:
            return False
        parts = rel.parts
        if any(p.startswith(".") for p in parts):
            return False
        return not any(Path(*parts[:k + 1]).as_posix() in self.exclude_dirs for k in range(len(parts)))

    def lists_file(self, file: Path) -> bool:
        return is_image_file(file) and not file.name.startswith(".") and self.lists_folder(file.parent)


def _real(path: str | Path) -> Path:
    """The absolute path with symlinks of its existing part followed (a link to an image is the image)."""
    return Path(os.path.realpath(os.path.expanduser(str(path))))


def _relative(path: Path, base: Path) -> Path | None:
    try:
        return path.relative_to(base)
    except ValueError:
        return None


def project_tree(folder: str | Path) -> ProjectTree:
    """The tree of the project in `folder`; a plain folder (no store yet) lists its whole tree."""
    root = _real(folder)
    images, excluded = root, frozenset[str]()
    if (root / STORE_DIR).is_dir():
        from maskwork.core.store.project import Project  # a sibling in the store layer; imported when used

        try:
            project = Project.open(root, read_only=True)
            images = _real(project.root)
            excluded = frozenset(str(d).strip("/") for d in project.settings.get("exclude_dirs", []))
            project.close()
        except MaskworkError:
            pass  # a damaged project.json: its folder tree, as the project would list it once repaired
    return ProjectTree(root, root / STORE_DIR, images, excluded)


def enclosing_projects(path: Path) -> list[ProjectTree]:
    """Every project whose folder holds `path` (nearest first)."""
    found = []
    for folder in path.parents:
        if (folder / STORE_DIR).is_dir():
            found.append(project_tree(folder))
    return found


def _store_of(path: Path) -> Path | None:
    parts = path.parts
    if STORE_DIR not in parts:
        return None
    return Path(*parts[:parts.index(STORE_DIR) + 1])


def _elsewhere(tree: ProjectTree) -> Path:
    return tree.images.parent / f"{tree.images.name}-export"


def _refuse(flag: str, path, why: str, todo: str) -> InputError:
    where = f"{flag} {path}" if flag else str(path)
    return InputError(f"{where} {why}; {todo}.")


def _check_inputs(flag: str, given, out: Path, kind: str, writes_images: bool, inputs: list[Path]) -> None:
    for inp in inputs:
        if not inp.exists():
            continue
        if kind == "file":  # the input itself, or an image inside an input folder (read by the next run)
            same = out == inp or (inp.is_dir() and is_image_file(out) and _relative(out, inp) is not None)
        else:  # images written into an input folder, or beside input files, overwrite inputs of the same name
            same = writes_images and (out == inp or (inp.is_file() and inp.parent == out))
        if same:
            raise _refuse(flag, given, f"is {'an input' if out == inp else 'beside the inputs'} of this command "
                          f"({inp}): writing there would overwrite what the command reads",
                          f"give another {kind}")


def _check_project(flag: str, given, out: Path, kind: str, writes_images: bool, tree: ProjectTree) -> None:
    if kind == "file" and tree.lists_file(out):
        state = "is an image of" if out.exists() else "would become an image of"
        raise _refuse(flag, given, f"{state} the project {tree.folder}",
                      f"write it outside the project's image folders, e.g. into {_elsewhere(tree)}")
    if kind == "folder" and writes_images and tree.lists_folder(out):
        raise _refuse(flag, given, f"is a folder of the project {tree.folder}, which would take the files written "
                      "there for new images", f"pick a folder outside it, e.g. {_elsewhere(tree)}")


def check_output(path: str | Path, *, kind: str = "file", writes_images: bool | None = None, suffix: str = "",
                 inputs: Iterable[str | Path] = (), projects: Iterable[str | Path] = (), flag: str = "") -> Path:
    """Refuse (InputError, one sentence) an output path that would overwrite data or corrupt a project.

    kind: "file" (one file written at `path`) or "folder" (files written inside it). writes_images: whether
    the files written are images (default: a file with an image suffix; a folder: True); suffix: what a file
    that is not an image should end in (said when it is named like one). inputs: the files and folders the
    same command reads. projects: the project folders it works on. Returns the resolved path."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    out = _real(path)
    if writes_images is None:
        writes_images = is_image_file(out) if kind == "file" else True
    store = _store_of(out)
    if store is not None:
        raise _refuse(flag, path, f"is inside the Maskwork store {store}, which holds a project's own files",
                      "write to a path outside .maskwork")
    blocker = next((a for a in out.parents if a.exists()), None)
    if blocker is not None and not blocker.is_dir():
        raise _refuse(flag, path, f"cannot be made: {blocker} is a file, not a folder", "give another path")
    if kind == "file" and out.is_dir():
        raise _refuse(flag, path, "is a folder", f"give a file name, e.g. {Path(path) / ('out' + suffix)}")
    if kind == "folder" and out.exists() and not out.is_dir():
        raise _refuse(flag, path, "is a file, not a folder", "give a folder (it is created if missing)")
    if kind == "file" and not writes_images and is_image_file(out):  # a checkpoint over an image, a JSON as .png
        raise _refuse(flag, path, f"is named like an image ({out.suffix}) but what is written there is not one",
                      f"give a name ending in {suffix}" if suffix else "give another name")
    real_inputs = [_real(p) for p in inputs if p]
    trees = {t.folder: t for t in enclosing_projects(out if kind == "file" else out / "x")}
    for folder in [*projects, *(p for p in real_inputs if (p / STORE_DIR).is_dir())]:
        tree = project_tree(folder)
        trees.setdefault(tree.folder, tree)
    for tree in trees.values():
        _check_project(flag, path, out, kind, writes_images, tree)
    _check_inputs(flag, path, out, kind, writes_images, real_inputs)
    return out


def check_new_store(folder: str | Path, current: str | Path) -> Path:
    """Save to another folder: never inside a store, never over the store of another project."""
    target = _real(folder)
    store = _store_of(target / STORE_DIR)
    if store is not None and store != target / STORE_DIR:
        raise _refuse("", folder, f"is inside the Maskwork store {store}", "pick a folder outside .maskwork")
    new_store = target / STORE_DIR
    if new_store != _real(current) and (new_store / PROJECT_FILE).exists():
        raise _refuse("", folder, "already holds another Maskwork project, whose work saving there would replace",
                      "pick a folder without a .maskwork folder")
    return new_store
