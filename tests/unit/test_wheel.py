"""The installed package, as `pip install maskwork` or pipx gives it: build the wheel from the source files,
install it into a folder, then run it with the source tree off the path (ADR 0010).

`python -S` keeps site-packages' .pth files (the editable install's finder for this checkout) from loading;
the dependencies come from the test venv's site-packages through PYTHONPATH, after the installed wheel."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("core", "gui", "resources", "main.py", "setup.py", "pyproject.toml", "README.md")
BUNDLED = ("nuclei-instance", "nuclei-semantic", "aerial-landcover")


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The wheel installed into a target folder; returns that folder."""
    work = tmp_path_factory.mktemp("wheel")
    src = work / "src"
    src.mkdir()
    skip = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, src / name, ignore=skip)
        else:
            shutil.copy2(ROOT / name, src / name)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run(pip + ["wheel", "--no-deps", "--no-build-isolation", "-w", str(work / "dist"), str(src)],
                   check=True, capture_output=True, text=True)
    wheel = next((work / "dist").glob("maskwork-*.whl"))
    target = work / "site"
    subprocess.run(pip + ["install", "--no-deps", "--no-compile", "--target", str(target), str(wheel)],
                   check=True, capture_output=True, text=True)
    return target


def run_installed(target: Path, code: str, cwd: Path) -> subprocess.CompletedProcess:
    deps = [sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(target), *dict.fromkeys(deps)]))
    return subprocess.run([sys.executable, "-S", "-c", code], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


def test_the_wheel_installs_one_package_named_maskwork(installed):
    top = sorted(p.name for p in installed.iterdir() if p.name != "bin")
    assert [n for n in top if not n.endswith(".dist-info")] == ["maskwork"]  # no core/, gui/, main.py
    dist = next(installed.glob("maskwork-*.dist-info"))
    assert "maskwork = maskwork.main:main" in (dist / "entry_points.txt").read_text()
    resources = installed / "maskwork" / "resources"
    for name in BUNDLED:
        assert (resources / "models" / f"{name}.pt").stat().st_size > 100_000
    assert list((resources / "samples" / "nuclei").glob("*.png"))
    assert (resources / "samples" / "LICENSE.md").is_file()
    replay = resources / "replay"  # what a fine-tune of a bundled nuclei model mixes in (core.training.schedule)
    assert (replay / "nuclei" / "annotations.json").is_file() and (replay / "LICENSE.md").is_file()
    assert len(list((replay / "nuclei" / "images").glob("*.png"))) == 32


def test_installed_maskwork_lists_bundled_models_and_predicts(installed, tmp_path):
    code = ("import sys, maskwork, maskwork.core.resources as r\n"
            "print('PATHS', list(maskwork.__path__), r.resources_dir())\n"
            "from maskwork.main import main\n"
            "sys.exit(main(['models']))\n")
    out = run_installed(installed, code, tmp_path)
    assert out.returncode == 0, out.stderr
    paths_line = next(line for line in out.stdout.splitlines() if line.startswith("PATHS"))
    assert str(ROOT) not in paths_line and str(installed) in paths_line
    rows = {line.split()[0]: line for line in out.stdout.splitlines() if line.strip()}
    for name in BUNDLED:
        assert rows[name].rstrip().endswith("bundled"), rows.get(name)

    sample = sorted((installed / "maskwork" / "resources" / "samples" / "nuclei").glob("*.png"))[0]
    code = ("import sys\nfrom maskwork.main import main\n"
            "sys.exit(main(['predict', '--model', 'nuclei-semantic', '--device', 'cpu', '--out', 'out', "
            f"{str(sample)!r}]))\n")
    out = run_installed(installed, code, tmp_path)
    assert out.returncode == 0, out.stderr
    labels = np.asarray(Image.open(tmp_path / "out" / sample.name))
    assert labels.shape == Image.open(sample).size[::-1]
    assert 0.01 < (labels == 1).mean() < 0.9  # the bundled nuclei model found nuclei on its own sample


def test_wheel_file_holds_no_top_level_core_gui_or_main(installed):
    wheel = next(installed.parent.glob("dist/maskwork-*.whl"))
    tops = {name.split("/")[0] for name in zipfile.ZipFile(wheel).namelist()}
    assert tops == {"maskwork", next(n for n in tops if n.endswith(".dist-info"))}
