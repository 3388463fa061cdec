"""infra/Containerfile without a container engine: what it copies exists and is not
ignored, its base images are pinned, it runs the real `rathaus` command as a non-root user,
and it builds from uv.lock and makes the same assets as `make assets`."""

from __future__ import annotations

import json
import re
import tomllib

import pytest

from infra.tests.manifests import (
    INFRA,
    ROOT,
)
from rathaus.platform.cli import main


def instructions() -> list[tuple[str, str]]:
    text = (INFRA / "Containerfile").read_text(encoding="utf-8")
    joined = re.sub(r"\\\n(\s*#.*\n)*", " ", text)  # continuation lines (and comments between them)
    lines = [
        line.strip() for line in joined.splitlines() if line.strip() and not line.strip().startswith("#")
    ]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def ignored() -> list[str]:
    lines = (ROOT / ".containerignore").read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line and not line.startswith("#")]


def test_the_containerfile_copies_what_exists_and_is_not_ignored() -> None:
    assert (ROOT / ".containerignore").read_text() == (ROOT / ".dockerignore").read_text()
    copies = [args.split() for op, args in instructions() if op == "COPY" and not args.startswith("--from")]
    assert copies
    for *sources, _target in copies:
        for source in sources:
            assert (ROOT / source).exists(), source
            assert not any(source == i or source.startswith(i.rstrip("/") + "/") for i in ignored()), source


def test_the_containerfile_pins_its_base_images() -> None:
    images = [args.split()[0] for op, args in instructions() if op == "FROM"]
    images += [
        m for op, args in instructions() if op == "COPY" for m in re.findall(r"--from=(\S+/\S+)", args)
    ]
    assert len(images) == 4, images  # node, python (build and runtime), uv
    for image in images:
        name, _, tag = image.rpartition(":")
        assert name and re.fullmatch(r"\d+(\.\d+)+(-[a-z0-9-]+)?", tag), image


def test_the_containerfile_runs_a_real_command_as_a_non_root_user(capsys: pytest.CaptureFixture[str]) -> None:
    ops = instructions()
    entrypoint = json.loads(next(args for op, args in ops if op == "ENTRYPOINT"))
    command = json.loads(next(args for op, args in ops if op == "CMD"))
    scripts = tomllib.loads((ROOT / "platform/pyproject.toml").read_text(encoding="utf-8"))["project"][
        "scripts"
    ]
    assert entrypoint == ["rathaus"] and "rathaus" in scripts
    assert command[:2] == ["serve", "portal"] and command[2:] == ["--port", "8000"]
    with pytest.raises(SystemExit) as exit_code:
        main(["serve", "--help"])  # the image's command line, parsed by the real CLI
    assert exit_code.value.code == 0 and "orchestration" in capsys.readouterr().out
    user = [args for op, args in ops if op == "USER"]
    assert user == ["10001:10001"]
    assert "EXPOSE" in dict(ops) and dict(ops)["EXPOSE"] == "8000"
    assert "RATHAUS_WEB__HOST=0.0.0.0" in dict(ops)["ENV"] or any(
        "RATHAUS_WEB__HOST=0.0.0.0" in args for op, args in ops if op == "ENV"
    )


def test_the_containerfile_builds_from_the_lock_and_makes_the_assets_like_make() -> None:
    ops = instructions()
    runs = " ".join(args for op, args in ops if op == "RUN")
    assert "uv sync --frozen --no-dev --all-packages" in runs
    assert "npm ci" in runs
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    vendor = re.search(r"^VENDOR := (\S+)$", makefile, re.M)
    assert vendor
    assert any(op == "COPY" and args.endswith(vendor.group(1)) for op, args in ops)
    for source in re.findall(r"cp (?:-r )?(node_modules/\S+?)(?:/\.)? ", makefile):
        assert source in runs, source  # the same files as `make assets`
    apt = re.search(r"apt-get install -y --no-install-recommends ([^&]+)&&", runs)
    assert apt
    for package in ("libpango-1.0-0", "libpangoft2-1.0-0", "xmlsec1"):
        assert package in apt.group(1).split()
