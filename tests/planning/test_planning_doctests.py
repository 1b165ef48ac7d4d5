"""Every runnable example in the planning package's docstrings runs and prints what it says."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import planning

MODULES = sorted(m.name for m in pkgutil.iter_modules(planning.__path__, "planning."))


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


def test_the_numerical_examples_are_there() -> None:
    for name in ("planning.clock", "planning.curve"):
        assert doctest.testmod(importlib.import_module(name)).attempted > 0, name
