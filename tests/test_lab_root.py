"""``graphlive lab`` decides ``--allow-root`` from the effective uid (Jupyter refuses root)."""

from __future__ import annotations

import pytest

from graphlive.cli.lab import root_args


def test_root_gets_allow_root_and_is_told(capsys: pytest.CaptureFixture[str]) -> None:
    assert root_args([], euid=0) == ["--allow-root"]
    assert capsys.readouterr().err.strip() == (
        "graphlive lab: running as root, so JupyterLab gets --allow-root"
    )


def test_unprivileged_user_gets_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    assert root_args([], euid=1000) == []
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("given", ["--allow-root", "--ServerApp.allow_root=False"])
def test_root_keeps_the_users_own_choice(given: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert root_args([given], euid=0) == []
    assert capsys.readouterr().err == ""


def test_exit_status_of_a_signalled_jupyterlab_reads_as_a_shells() -> None:
    from graphlive.cli.lab import shell_status

    assert shell_status(-15) == 143 and shell_status(-2) == 130
    assert shell_status(0) == 0 and shell_status(1) == 1
