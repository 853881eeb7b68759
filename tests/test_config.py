"""Settings: documented, safe by default, and the secret key kept private."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from pydantic import ValidationError

from app.config import PROJECT_ROOT, Settings

DOCS = (PROJECT_ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_every_setting_is_documented(name: str) -> None:
    assert f"`TFQUIZ_{name.upper()}`" in DOCS
    assert Settings.model_fields[name].description


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TFQUIZ_PORT", "9001")
    monkeypatch.setenv("TFQUIZ_MAX_ANSWER_CHARS", "500")
    settings = Settings()
    assert (settings.port, settings.max_answer_chars) == (9001, 500)


def test_bad_values_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TFQUIZ_PORT", "70000")
    with pytest.raises(ValidationError, match="port"):
        Settings()


def test_defaults_use_sqlite_in_the_data_dir(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    assert settings.resolved_database_url == f"sqlite:///{tmp_path.resolve()}/tfquiz.sqlite3"
    assert Settings().questions_dir == PROJECT_ROOT / "questions"


def test_secret_key_is_generated_once_and_private(tmp_path: Path) -> None:
    first = Settings(data_dir=tmp_path).resolved_secret_key
    second = Settings(data_dir=tmp_path).resolved_secret_key
    assert first == second and len(first) >= 48
    mode = stat.S_IMODE((tmp_path / "secret_key").stat().st_mode)
    assert mode == 0o600


def test_an_explicit_secret_key_wins(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, secret_key="s" * 40)
    assert settings.resolved_secret_key == "s" * 40
    assert not (tmp_path / "secret_key").exists()


def test_the_secret_key_never_shows_in_settings_output() -> None:
    settings = Settings(secret_key="do-not-print-me-0123456789")
    for text in (str(settings), repr(settings), settings.model_dump_json()):
        assert "do-not-print-me" not in text
