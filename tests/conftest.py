"""Shared pytest fixtures: the shared material (../shared or $JITNIC_SHARED) and built programs."""
from __future__ import annotations

import pytest

from jit.paths import PROGRAM_NAMES, program_object, shared_dir


@pytest.fixture(scope="session")
def shared():
    d = shared_dir()
    if not d.is_dir():
        pytest.skip(f"shared material not found at {d} (set JITNIC_SHARED)")
    return d


@pytest.fixture(scope="session")
def pcaps_dir(shared):
    d = shared / "pcaps"
    if not d.is_dir():
        pytest.skip(f"no pcaps at {d}")
    return d


def built_program(name: str):
    path = program_object(name)
    if not path.exists():
        pytest.fail(f"{path} missing: run `make programs` first")
    return path


@pytest.fixture(params=PROGRAM_NAMES)
def program_path(request):
    """Each shipped program's object file, built by `make programs`."""
    return built_program(request.param)
