"""Every runnable example in the models' docstrings runs and prints what it says."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import models

MODULES = sorted(m.name for m in pkgutil.iter_modules(models.__path__, "models."))


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


# That models imports nothing else of ours is guarded with the other packages' rows in
# tests/test_layering.py.
