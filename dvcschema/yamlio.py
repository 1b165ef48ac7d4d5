"""A strict YAML reader that remembers where every value came from.

PyYAML's ``SafeLoader`` already refuses tags that construct Python objects, but it
silently keeps the last of two duplicate keys (as k6 does with JSON). This loader
refuses duplicates and any explicit tag, and returns mappings and lists that know
the line of each of their items, so that an error can say ``smoke.yaml:12``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from dvcschema.errors import ConfigError

MAX_FILE_BYTES = 4 * 1024 * 1024


class LineDict(dict[str, Any]):
    """A mapping read from YAML: ``line`` of itself, ``lines[key]`` of each value."""

    line: int = 0
    lines: dict[str, int]


class LineList(list[Any]):
    """A sequence read from YAML: ``line`` of itself, ``lines[i]`` of each item."""

    line: int = 0
    lines: list[int]


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys and explicit tags, and keeps lines."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode) -> LineDict:
    result = LineDict()
    result.line = node.start_mark.line + 1
    result.lines = {}
    loader.flatten_mapping(node)
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str):
            raise yaml.constructor.ConstructorError(
                None, None, f"keys must be text, found {key!r}", key_node.start_mark
            )
        if key in result:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"duplicate key {key!r} (first on line {result.lines[key]})",
                key_node.start_mark,
            )
        result[key] = loader.construct_object(value_node, deep=True)
        result.lines[key] = key_node.start_mark.line + 1
    return result


def _construct_sequence(loader: _StrictLoader, node: yaml.SequenceNode) -> LineList:
    result = LineList(loader.construct_object(child, deep=True) for child in node.value)
    result.line = node.start_mark.line + 1
    result.lines = [child.start_mark.line + 1 for child in node.value]
    return result


def _construct_undefined(loader: _StrictLoader, node: yaml.Node) -> None:
    raise yaml.constructor.ConstructorError(
        None, None, f"tag {node.tag!r} is not allowed; write plain values", node.start_mark
    )


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)
_StrictLoader.add_constructor(None, _construct_undefined)
for _tag in (
    "tag:yaml.org,2002:binary",
    "tag:yaml.org,2002:set",
    "tag:yaml.org,2002:omap",
    "tag:yaml.org,2002:pairs",
    "tag:yaml.org,2002:timestamp",
):
    _StrictLoader.add_constructor(_tag, _construct_undefined)


class _TagCheckingComposer(_StrictLoader):
    """Refuse explicit tags (``!!python/object``, ``!!str``, ``!custom``) at parse time."""

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        event = self.peek_event()
        tag = getattr(event, "tag", None)
        implicit = getattr(event, "implicit", None)
        explicit = (
            tag is not None
            and tag != "!"
            and not (implicit is True or (isinstance(implicit, tuple) and any(implicit)))
        )
        if explicit:
            raise yaml.composer.ComposerError(
                None, None, f"tag {tag!r} is not allowed; write plain values", event.start_mark
            )
        return super().compose_node(parent, index)


def parse_yaml(text: str, source: str) -> Any:
    """Parse YAML text strictly; errors become one-line :class:`ConfigError`."""
    try:
        return yaml.load(text, Loader=_TagCheckingComposer)  # strict, SafeLoader-based
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = " ".join(str(exc.problem or exc.context or "invalid YAML").split())
        raise ConfigError(f"invalid YAML: {problem}", source=source, line=line) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML: {' '.join(str(exc).split())}", source=source) from None
    except RecursionError:
        raise ConfigError("invalid YAML: nested too deeply", source=source) from None


def read_yaml_file(path: str | Path) -> Any:
    """Read and strictly parse a YAML file, with clear errors for unreadable files."""
    source = str(path)
    file = Path(path)
    try:
        if file.is_dir():
            raise ConfigError("is a folder, expected a YAML file", source=source)
        size = file.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ConfigError(
                f"file is {size} bytes; at most {MAX_FILE_BYTES} are allowed", source=source
            )
        raw = file.read_bytes()
    except FileNotFoundError:
        raise ConfigError("no such file", source=source) from None
    except PermissionError:
        raise ConfigError("permission denied", source=source) from None
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", source=source) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"not UTF-8 text (bad byte at offset {exc.start})", source=source
        ) from None
    if "\x00" in text:
        raise ConfigError("not a text file (contains NUL bytes)", source=source)
    return parse_yaml(text, source)
