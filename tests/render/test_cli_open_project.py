"""``studio my.studio.json`` opens the window with that project, as the bundle's ``studio`` does
(issue 14, item 3); before, argparse refused the file name as an unknown command."""

import pytest

import studio.cli as cli


@pytest.fixture
def opened(monkeypatch):
    got = []
    import studio.gui.app

    monkeypatch.setattr(studio.gui.app, "run_gui", lambda project=None: got.append(project) or 0)
    return got


def test_a_project_file_as_the_only_argument_opens_it(tmp_path, opened):
    project = tmp_path / "my.studio.json"
    project.write_text("{}")
    assert cli.main([str(project)]) == 0
    assert opened == [str(project)]
    assert cli.main(["-v", str(project)]) == 0 and opened[-1] == str(project)


def test_a_missing_project_file_is_a_clear_error(tmp_path, opened, capsys):
    missing = tmp_path / "gone.studio.json"
    assert cli.main([str(missing)]) == 2
    err = capsys.readouterr().err
    assert "Project not found" in err and str(missing) in err and opened == []


def test_commands_still_win(tmp_path, opened, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "doctor").write_text("a file named like a command")
    with pytest.raises(SystemExit):
        cli.main(["doctor", "--help"])
    with pytest.raises(SystemExit):  # an unknown word that is no file is still an argparse error
        cli.main(["nonsense"])
    assert opened == []
