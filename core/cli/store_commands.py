"""CLI command `forget-image`: start images again, their stored work set aside (core/store/forget.py)."""
from __future__ import annotations

from maskwork.core.domain.text import plural


def cmd_forget_image(args) -> int:
    from maskwork.core.store.forget import forget_image
    from maskwork.core.store.project import Project

    project = Project.open(args.project, writer="main.py forget-image")
    try:
        aside = [forget_image(project, name.replace("\\", "/")) for name in args.images]
    finally:
        project.close()
    where = aside[-1].relative_to(project.store.parent)
    print(f"set aside the stored work of {plural(len(args.images), 'image')} (now under {where}); "
          f"{'it starts' if len(args.images) == 1 else 'they start'} again from the image file.")
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("forget-image", help="start images again: set their stored annotations aside",
                              description="Move the stored annotation, autosave and crash journal of images to "
                              ".maskwork/forgotten/ (nothing is deleted), e.g. after an image file was replaced by "
                              "one of another size. The images then open as new ones.")
    p.add_argument("project", help="project folder")
    p.add_argument("images", nargs="+", metavar="IMAGE", help="image names as the project lists them (relative paths)")
    p.set_defaults(func=cmd_forget_image)
