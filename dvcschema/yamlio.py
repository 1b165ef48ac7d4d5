"""A strict YAML reader that remembers where every value came from.

PyYAML's ``SafeLoader`` already refuses tags that construct Python objects, but it
silently keeps the last of two duplicate keys (as k6 does with JSON). This loader
refuses duplicates and any explicit tag, and returns mappings and lists that know
the line of each of their items, so that an error can say ``smoke.yaml:12``.

It also refuses anchors and aliases (``&name``, ``*name``): no configuration file
needs them, and nine levels of nine aliases ("billion laughs") make a 1 KB file
stand for 387 million values, which anything that walks or prints the value pays
for. The file itself is read by :func:`dvcschema.files.read_text`: a regular file of
at most :data:`MAX_FILE_BYTES`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from dvcschema.errors import ConfigError, shown
from dvcschema.files import MAX_FILE_BYTES, read_text

__all__ = ["MAX_FILE_BYTES", "LineDict", "LineList", "parse_yaml", "read_yaml_file"]


class LineDict(dict[str, Any]):
    """A mapping read from YAML: ``line`` of itself, ``lines[key]`` of each value."""

    line: int = 0
    lines: dict[str, int]


class LineList(list[Any]):
    """A sequence read from YAML: ``line`` of itself, ``lines[i]`` of each item."""

    line: int = 0
    lines: list[int]


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> LineDict:
    result = LineDict()
    result.line = node.start_mark.line + 1
    result.lines = {}
    loader.flatten_mapping(node)
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str):
            raise yaml.constructor.ConstructorError(
                None, None, f"keys must be text, found {shown(key)}", key_node.start_mark
            )
        if key in result:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"duplicate key {shown(key)} (first on line {result.lines[key]})",
                key_node.start_mark,
            )
        result[key] = loader.construct_object(value_node, deep=True)
        result.lines[key] = key_node.start_mark.line + 1
    return result


def _construct_sequence(loader: yaml.SafeLoader, node: yaml.SequenceNode) -> LineList:
    result = LineList(loader.construct_object(child, deep=True) for child in node.value)
    result.line = node.start_mark.line + 1
    result.lines = [child.start_mark.line + 1 for child in node.value]
    return result


def _construct_undefined(loader: yaml.SafeLoader, node: yaml.Node) -> None:
    raise yaml.constructor.ConstructorError(
        None, None, f"tag {shown(node.tag)} is not allowed; write plain values", node.start_mark
    )


def _refuse(event: Any) -> None:
    """Refuse an anchor or alias, or an explicit tag (``!!python/object``, ``!!str``,
    ``!custom``), at parse time: before anything is built."""
    if getattr(event, "anchor", None) is not None:
        raise yaml.composer.ComposerError(
            None,
            None,
            "anchors and aliases (&name, *name) are not allowed; write each value out",
            event.start_mark,
        )
    tag = getattr(event, "tag", None)
    implicit = getattr(event, "implicit", None)
    explicit = (
        tag is not None
        and tag != "!"
        and not (implicit is True or (isinstance(implicit, tuple) and any(implicit)))
    )
    if explicit:
        raise yaml.composer.ComposerError(
            None, None, f"tag {shown(tag)} is not allowed; write plain values", event.start_mark
        )


class _PythonLoader(yaml.SafeLoader):
    """The strict loader in pure Python (PyYAML without libyaml)."""

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        _refuse(self.peek_event())
        return super().compose_node(parent, index)


class _CLoader(yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader):  # type: ignore[misc]
    """The strict loader on libyaml: 10-20 times faster than pure Python, which takes
    seconds for a file of a megabyte. Its composer is C, so the events are checked by
    :func:`_check_events` first. (Without libyaml it is never used.)"""


def _make_strict(loader: type[yaml.SafeLoader] | type[yaml.CSafeLoader]) -> None:
    """Refuse duplicate keys and explicit tags, and keep lines, in ``loader``."""
    loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
    loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)
    loader.add_constructor(None, _construct_undefined)
    for tag in ("binary", "set", "omap", "pairs", "timestamp"):
        loader.add_constructor(f"tag:yaml.org,2002:{tag}", _construct_undefined)


_make_strict(_PythonLoader)
_make_strict(_CLoader)


def _check_events(text: str) -> None:
    scanner = _CLoader(text)
    try:
        while scanner.check_event():
            _refuse(scanner.get_event())
    finally:
        scanner.dispose()


def _load(text: str) -> Any:
    if not yaml.__with_libyaml__:
        return yaml.load(text, Loader=_PythonLoader)  # strict, SafeConstructor-based
    _check_events(text)
    return yaml.load(text, Loader=_CLoader)  # strict, SafeConstructor-based


def parse_yaml(text: str, source: str) -> Any:
    """Parse YAML text strictly; errors become one-line :class:`ConfigError`."""
    try:
        return _load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = " ".join(str(exc.problem or exc.context or "invalid YAML").split())
        raise ConfigError(f"invalid YAML: {problem}", source=source, line=line) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML: {' '.join(str(exc).split())}", source=source) from None
    except RecursionError:
        raise ConfigError("invalid YAML: nested too deeply", source=source) from None
    except (ValueError, OverflowError):  # an integer of over 4,300 digits, ...
        raise ConfigError("invalid YAML: a number too large to read", source=source) from None


def read_yaml_file(path: str | Path) -> Any:
    """Read and strictly parse a YAML file (a regular file of at most
    :data:`MAX_FILE_BYTES`), with clear errors for unreadable files."""
    return parse_yaml(read_text(path, limit=MAX_FILE_BYTES), str(path))
