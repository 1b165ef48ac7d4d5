"""Reading a parsed YAML mapping field by field, with located, one-line errors.

A :class:`Fields` wraps one mapping. Each ``take`` removes a key and parses its value;
``close()`` then refuses whatever is left, listing what is allowed. So unknown keys,
wrong types and impossible values all produce the same kind of message::

    scenarios/smoke.yaml:14: load.users: -3 is out of range; allowed: >= 1
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from dvcschema.errors import ConfigError, shown
from dvcschema.yamlio import LineDict, LineList

T = TypeVar("T")
_MISSING: Any = object()


class Fields:
    """One mapping of a configuration file, read key by key.

    Parameters
    ----------
    value
        The parsed value, expected to be a mapping.
    source
        The file name for messages.
    path
        The dotted path of this mapping inside the file (``""`` at the top).
    line
        The line to report when the mapping itself is wrong.
    error_type
        The :class:`ConfigError` subclass to raise.
    """

    def __init__(
        self,
        value: Any,
        *,
        source: str,
        path: str = "",
        line: int | None = None,
        error_type: type[ConfigError] = ConfigError,
    ) -> None:
        self.source = source
        self.path = path
        self.error_type = error_type
        self.line = getattr(value, "line", None) or line
        if not isinstance(value, dict):
            raise self._error(f"expected a mapping of keys to values, found {_kind(value)}")
        self._value: dict[str, Any] = value
        self._lines: dict[str, int] = getattr(value, "lines", {})
        self._taken: set[str] = set()

    # -- reading -------------------------------------------------------------------
    def has(self, key: str) -> bool:
        return key in self._value

    def remaining(self) -> list[str]:
        return [k for k in self._value if k not in self._taken]

    def line_of(self, key: str) -> int | None:
        return self._lines.get(key, self.line)

    def field_path(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def take(
        self,
        key: str,
        parse: Callable[[Any], T],
        default: T = _MISSING,
    ) -> T:
        """Remove ``key`` and return ``parse(value)``; ``default`` when absent.

        ``parse`` raises ``ValueError`` (or ``ConfigError`` from a nested reader)
        on a bad value; the message is located at the key's line.
        """
        self._taken.add(key)
        if key not in self._value:
            if default is _MISSING:
                raise self._error(f"required field {shown(self.field_path(key))} is missing")
            return default
        raw = self._value[key]
        try:
            return parse(raw)
        except ConfigError:
            raise
        except (ValueError, TypeError) as exc:
            raise self.error_at(key, str(exc)) from None

    def take_raw(self, key: str, default: Any = _MISSING) -> Any:
        return self.take(key, lambda v: v, default)

    def section(self, key: str, *, required: bool = False) -> Fields | None:
        """A nested mapping as its own :class:`Fields` (``None`` when absent)."""
        self._taken.add(key)
        if key not in self._value:
            if required:
                raise self._error(f"required section {shown(self.field_path(key))} is missing")
            return None
        return Fields(
            self._value[key],
            source=self.source,
            path=self.field_path(key),
            line=self.line_of(key),
            error_type=self.error_type,
        )

    def items(self, key: str) -> Iterator[tuple[int, Any, int | None, str]]:
        """Iterate over a list field: ``(index, item, line, path)``."""
        self._taken.add(key)
        raw = self._value.get(key)
        if raw is None:
            return
        if not isinstance(raw, list):
            raise self.error_at(key, f"expected a list, found {_kind(raw)}")
        lines = raw.lines if isinstance(raw, LineList) else [self.line_of(key)] * len(raw)
        for index, item in enumerate(raw):
            yield index, item, lines[index], f"{self.field_path(key)}[{index}]"

    def close(self) -> None:
        """Refuse keys nobody took, listing the allowed ones."""
        unknown = [k for k in self._value if k not in self._taken]
        if unknown:
            key = unknown[0]
            allowed = ", ".join(sorted(self._taken)) or "(none)"
            raise self.error_type(
                f"unknown key {shown(key)}; allowed here: {allowed}",
                source=self.source,
                line=self.line_of(key),
                field=self.path or None,
            )

    # -- errors ----------------------------------------------------------------------
    def error_at(self, key: str, message: str) -> ConfigError:
        return self.error_type(
            message, source=self.source, line=self.line_of(key), field=self.field_path(key)
        )

    def _error(self, message: str) -> ConfigError:
        return self.error_type(message, source=self.source, line=self.line, field=self.path or None)


def sub_fields(parent: Fields, item: Any, line: int | None, path: str) -> Fields:
    """A :class:`Fields` for a list item, carrying the parent's file and error type."""
    return Fields(item, source=parent.source, path=path, line=line, error_type=parent.error_type)


def one_of(*choices: str) -> Callable[[Any], str]:
    """A parser accepting only the given strings."""

    def parse(value: Any) -> str:
        if isinstance(value, str) and value in choices:
            return value
        raise ValueError(f"{shown(value)} is not allowed; options are {', '.join(choices)}")

    return parse


def text(*, max_length: int = 200, pattern: str | None = None) -> Callable[[Any], str]:
    """A parser for a non-empty string (optionally matching a regex)."""
    import re

    regex = re.compile(pattern) if pattern else None

    def parse(value: Any) -> str:
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"{shown(value)} is not a non-empty text")
        if len(value) > max_length:
            raise ValueError(f"text of {len(value)} characters; at most {max_length} allowed")
        if regex is not None and not regex.fullmatch(value):
            raise ValueError(f"{shown(value)} does not match {shown(pattern)}")
        return value

    return parse


def _kind(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, LineDict | dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return f"a boolean ({shown(value)})"
    if isinstance(value, int | float):
        return f"a number ({shown(value)})"
    if isinstance(value, str):
        return f"a text ({shown(value)})"
    return f"a {type(value).__name__}"
