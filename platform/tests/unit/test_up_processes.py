"""`rathaus up` on two cores: which modules run where, and the second process gets exactly
the settings the first runs with (the embedded servers' addresses and credentials)."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from rathaus.platform.kernel.settings import COMPONENTS, Settings
from rathaus.platform.runtime import processes
from rathaus.platform.runtime.serve import child_env, split_modules


def test_every_module_runs_once_in_one_of_the_two_processes() -> None:
    first, second = split_modules(Settings(seed_demo=False))
    assert second and set(first) | set(second) == set(COMPONENTS) and not set(first) & set(second)
    assert "portal" in first and "orchestration" in second
    alone, none = split_modules(Settings(seed_demo=False, web={"processes": 1}))
    assert alone == COMPONENTS and none == ()


def test_the_second_process_gets_the_settings_this_one_runs_with(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(
        data_dir=tmp_path / "rathaus",
        seed_demo=False,
        deadline_scale=0.01,
        databases={"eakte": "postgresql+asyncpg://rathaus@db/eakte"},
        procedure_dirs=[tmp_path / "verfahren"],
        payment={"url": "http://127.0.0.1:9991", "user": "kasse", "password": "geheim"},
        sqlite_power_safe={"opendata": False, "broker": False},
    )
    settings.nats.user, settings.nats.password = "rathaus", "nats-geheim"  # as `rathaus up` sets them
    settings.smtp.host = "127.0.0.1"
    env = child_env(settings, 4711)
    for key in list(os.environ):
        if key.startswith("RATHAUS_"):
            monkeypatch.delenv(key)
    for key, value in env.items():
        if key.startswith("RATHAUS_"):
            monkeypatch.setenv(key, value)
    child = Settings()
    assert (child.web.host, child.web.port, child.web.processes) == ("127.0.0.1", 4711, 1)
    # what it links citizens to (the payment provider's way back, e-mails) is this process's origin
    assert child.web.public_url == f"http://{settings.web.host}:{settings.web.port}"
    assert child.model_dump(exclude={"web"}) == settings.model_dump(exclude={"web"})


def test_a_further_replica_never_seeds_and_knows_its_number(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With --replicas, a group's first replica seeds the demo city into new databases; a
    second one starting beside it on the same files must not seed them too."""
    settings = Settings(data_dir=tmp_path / "rathaus", seed_demo=True, web={"replicas": 2})
    for key in list(os.environ):
        if key.startswith("RATHAUS_"):
            monkeypatch.delenv(key)
    first, further = child_env(settings, 4711, replica=0), child_env(settings, 4712, replica=1)
    assert (first["RATHAUS_REPLICA"], further["RATHAUS_REPLICA"]) == ("0", "1")
    for env, seeds in ((first, True), (further, False)):
        with monkeypatch.context() as m:
            for key, value in env.items():
                if key.startswith("RATHAUS_"):
                    m.setenv(key, value)
            child = Settings()
        assert child.seed_demo is seeds
        assert child.web.replicas == 1  # a replica starts no replicas of its own


def test_a_slow_step_of_stopping_is_named(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    clock = iter([100.0, 100.1, 200.0, 231.0])
    monkeypatch.setattr(processes.time, "monotonic", lambda: next(clock))
    with caplog.at_level(logging.WARNING, logger="rathaus.runtime"):
        with processes.stopping("Modul eakte"):
            pass  # 0.1 s: said nothing
        with processes.stopping("Temporal"):
            pass  # 31 s
    assert [r.getMessage() for r in caplog.records] == ["Beenden: Temporal brauchte 31 s"]


def test_the_platform_and_its_processes_take_two_malloc_arenas_unless_the_operator_chose(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MALLOC_ARENA_MAX", "")  # whatever was there comes back after the test
    monkeypatch.delenv("MALLOC_ARENA_MAX")
    processes.two_malloc_arenas()
    assert os.environ["MALLOC_ARENA_MAX"] == "2"  # inherited by every process it starts
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    processes.two_malloc_arenas()
    assert os.environ["MALLOC_ARENA_MAX"] == "4"
