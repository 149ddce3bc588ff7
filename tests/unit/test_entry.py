"""main.py: subcommands run headless, paths open the app, typos get the command list."""
from __future__ import annotations

from maskwork import main


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


def test_a_missing_folder_is_named_not_a_command_list(capsys):
    assert main.main(["/no/such/folder"]) == 2
    err = capsys.readouterr().err
    assert "the folder /no/such/folder does not exist" in err and "invalid choice" not in err
    assert main.main(["./missing/image.png"]) == 2
    assert "the file ./missing/image.png does not exist" in capsys.readouterr().err


def test_help_shows_how_to_open_a_folder(capsys):
    import pytest

    with pytest.raises(SystemExit) as exc:
        main.main(["--help"])
    assert exc.value.code == 0
    assert "main.py [FOLDER]" in capsys.readouterr().out
