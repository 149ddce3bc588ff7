"""main.py: subcommands run headless, paths open the app, typos get the command list."""
from __future__ import annotations

import main


def test_subcommand_wins_over_a_same_named_folder(tmp_path, monkeypatch):
    (tmp_path / "export").mkdir()
    monkeypatch.chdir(tmp_path)
    assert main._is_command("export")
    assert main._is_command("--help")


def test_existing_path_opens_the_app_and_typo_goes_to_the_cli(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "images").mkdir()
    assert not main._is_command("images")       # a folder: open it in the app
    assert main._is_command("predcit")          # no such path: argparse lists the commands


def test_typo_exits_with_the_command_list(capsys):
    import pytest

    with pytest.raises(SystemExit) as exc:
        main.main(["predcit"])
    assert exc.value.code == 2
    assert "invalid choice: 'predcit'" in capsys.readouterr().err
