"""Session timeouts per assurance level in the settings: BundID's defaults, overridden by
environment variables (as a test or an operator would), and the session cookie's lifetime."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from rathaus.platform.kernel.settings import SessionSettings, SessionTimeouts, load_settings


def test_defaults_and_an_override_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("RATHAUS_CONFIG", str(tmp_path / "none.toml"))
    defaults = load_settings().sessions
    assert defaults.hoch == SessionTimeouts(absolute_seconds=1800, idle_seconds=300)
    assert defaults.substantiell == SessionTimeouts(absolute_seconds=7200, idle_seconds=1800)
    assert defaults.niedrig == SessionTimeouts(absolute_seconds=43200, idle_seconds=3600)
    assert defaults.warn_seconds == 120 and defaults.longest() == 43200
    monkeypatch.setenv("RATHAUS_SESSIONS__HOCH__IDLE_SECONDS", "20")
    monkeypatch.setenv("RATHAUS_SESSIONS__HOCH__ABSOLUTE_SECONDS", "60")
    monkeypatch.setenv("RATHAUS_SESSIONS__WARN_SECONDS", "8")
    shortened = load_settings().sessions
    assert shortened.hoch == SessionTimeouts(absolute_seconds=60, idle_seconds=20)
    assert shortened.warn_seconds == 8 and shortened.niedrig == defaults.niedrig


def test_a_timeout_is_positive() -> None:
    with pytest.raises(ValidationError):
        SessionTimeouts(absolute_seconds=0, idle_seconds=10)
    with pytest.raises(ValidationError):
        SessionSettings(warn_seconds=-1)
