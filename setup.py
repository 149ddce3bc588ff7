"""Packaging: the repository keeps core/, gui/, resources/ and main.py at the top; installed, they live under
one `maskwork` package (maskwork.core, maskwork.gui, maskwork.resources, maskwork.main) so nothing clashes
with other top-level packages in a user's environment (docs/adr/0010-installed-package-name.md)."""
from setuptools import find_namespace_packages, find_packages, setup
from setuptools.command.build_py import build_py

SUBPACKAGES = find_packages(include=["core", "core.*", "gui", "gui.*"])


class BuildPy(build_py):
    """`maskwork` is the repository root: of its own modules only main.py belongs in the package."""

    def find_package_modules(self, package, package_dir):
        modules = super().find_package_modules(package, package_dir)
        return [m for m in modules if package != "maskwork" or m[1] == "main"]


# the data folders under resources/ are listed as (data-only) packages: setuptools warns about folders
# it can import but was not told about
DATA_PACKAGES = ["maskwork.resources." + name for name in find_namespace_packages("resources")]

setup(
    cmdclass={"build_py": BuildPy},
    package_dir={"maskwork": "."},
    packages=["maskwork", "maskwork.resources", *DATA_PACKAGES] + [f"maskwork.{name}" for name in SUBPACKAGES],
    package_data={"maskwork.resources": ["*.md"],
                  "maskwork.resources.models": ["*.pt", "*.md", "*.json"],
                  "maskwork.resources.samples": ["*.md"],
                  "maskwork.resources.replay": ["*.md"],
                  **{name: ["*"] for name in DATA_PACKAGES if ".samples." in name},  # each sample folder whole
                  **{name: ["*"] for name in DATA_PACKAGES if ".replay." in name}},  # fine-tune replay sets
    exclude_package_data={"maskwork": ["*"]},
)
