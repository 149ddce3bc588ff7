"""The images a command was given: files as they are, folders as the images in them. Shared by
`maskwork predict` (core.cli.model_commands) and its Ray engine (core.cluster.predict_job)."""
from __future__ import annotations

from pathlib import Path

from maskwork.core.domain.errors import InputError
from maskwork.core.store import bounded


def image_files(inputs: list[str]) -> list[tuple[Path, str]]:
    """(path, name in the output) for each image; folders give their images, sorted."""
    from maskwork.core.store.images import IMAGE_SUFFIXES  # cv2 and PIL: loaded when a command runs, not at parse time

    found = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            found += [(p, p.relative_to(path).as_posix()) for p in sorted(path.iterdir())
                      if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES]
        elif path.exists():  # a FIFO or a device is refused as what it is, not as missing
            found.append((bounded.check_file(path, limit=bounded.IMAGE_FILE, what="image"), path.name))
        else:
            raise InputError(f"{path} does not exist; give image files or folders of images.")
    if not found:
        raise InputError(f"no images in {', '.join(inputs)} (looked for {', '.join(IMAGE_SUFFIXES)}).")
    return found
