"""Reading a config file (design, sweep or model config): the file-level rules they all share. UTF-8 text
without control characters, valid YAML, one non-empty mapping, no duplicate key, no YAML tag beyond the plain
types, at most MAX_VALUES values after alias expansion, at most MAX_DEPTH levels, finite numbers; each error one
line naming the file and the key (or line)."""
from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError
from .keys import key_text, short

MAX_BYTES = 1 << 20        # a config is a few hundred bytes; anything near this is not one
MAX_VALUES = 10_000        # YAML values after alias expansion: generous for a sweep, far below an alias bomb
MAX_DEPTH = 16             # nesting levels (the deepest real file, a sweep rule's `when` list, has 5)

_PLAIN_TAGS = {f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "bool", "null", "seq", "map", "merge")}
# YAML's own rule for characters a stream may hold (PyYAML's Reader.NON_PRINTABLE); checked here to name the line
_NOT_PRINTABLE = re.compile("[^\x09\x0A\x0D\x20-\x7E\x85\xA0-\uD7FF\uE000-\uFFFD\U00010000-\U0010ffff]")


class _ConfigLoader(yaml.SafeLoader):
    """SafeLoader that reads dates as plain strings (a config holds no timestamps) and stops at MAX_DEPTH levels
    (PyYAML's composer recurses once per level: 50,000 '[' would end in a RecursionError)."""

    yaml_implicit_resolvers = {first: [(tag, rx) for tag, rx in resolvers if not tag.endswith(":timestamp")]
                               for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}

    def __init__(self, text: str, where: str):
        super().__init__(text)
        self.where, self.depth = where, 0

    def compose_node(self, parent, index):
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise ConfigError(f"{self.where}: {_at(self.peek_event().start_mark)}: must nest at most "
                                  f"{MAX_DEPTH} levels (got deeper)")
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def _at(mark) -> str:
    return f"line {mark.line + 1}, column {mark.column + 1}"


def _children(node) -> list:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return list(node.value) if isinstance(node, yaml.SequenceNode) else []


def _labelled_children(node) -> list[tuple[str, Any]]:
    """(key-path part, value node) of a mapping or sequence node."""
    if isinstance(node, yaml.MappingNode):
        return [(key_text(k.value) if isinstance(k, yaml.ScalarNode) else "<key>", v) for k, v in node.value]
    return [(f"[{i}]", v) for i, v in enumerate(node.value)] if isinstance(node, yaml.SequenceNode) else []


def _join(path: str, part: str) -> str:
    return f"{path}{part}" if part.startswith("[") or not path else f"{path}.{part}"


def _path_to(root, target) -> str:
    """Key path of `target` (each node visited once, so aliases cannot loop)."""
    seen, stack = set(), [("", root)]
    while stack:
        path, node = stack.pop()
        if node is target:
            return path
        if id(node) not in seen:
            seen.add(id(node))
            stack.extend((_join(path, part), c) for part, c in reversed(_labelled_children(node)))
    return ""


def _expanded_sizes(root, where: str) -> dict[int, tuple[int, int]]:
    """(values, levels) each node stands for once aliases are expanded, per id(node), in time linear in the file
    (an alias bomb is small as a graph; only its expansion is huge). Iterative: alias chains can nest deep."""
    sizes: dict[int, tuple[int, int] | None] = {}
    stack = [(root, False)]
    while stack:
        node, done = stack.pop()
        if done:
            inner = [sizes[id(c)] for c in _children(node)]
            sizes[id(node)] = (1 + sum(n for n, _ in inner), 1 + max((d for _, d in inner), default=0))
            continue
        if id(node) in sizes:
            if sizes[id(node)] is None:        # still open: an alias inside its own anchor
                raise ConfigError(f"{where}: {_path_to(root, node) or '<top>'}: must not contain itself through "
                                  f"an alias (got a recursive alias at {_at(node.start_mark)})")
            continue
        sizes[id(node)] = None
        stack.append((node, True))
        stack.extend((c, False) for c in _children(node))
    return sizes


def _innermost(root, sizes: dict, too_big) -> tuple[str, Any]:
    """Key path and node of the innermost value for which too_big(sizes[id(node)]) holds."""
    path, node = "", root
    while True:
        inner = [(part, c) for part, c in _labelled_children(node) if too_big(sizes[id(c)])]
        if not inner:
            return path or "<top>", node
        part, node = inner[0]
        path = _join(path, part)


def _construct_scalar(loader: _ConfigLoader, node, where: str, path: str) -> Any:
    try:
        return loader.construct_object(node)   # e.g. an int of 5,000 digits is a ValueError; name its key here
    except (ValueError, OverflowError):
        kind = node.tag.rsplit(":", 1)[-1]
        expected = {"int": "an integer of at most 4300 digits", "float": "a number"}.get(kind, f"a valid {kind}")
        raise ConfigError(f"{where}: {path or '<top>'}: must be {expected} (got {short(node.value)})") from None


def _check_tag(node, where: str, path: str) -> None:
    if node.tag not in _PLAIN_TAGS:
        tag = node.tag.replace("tag:yaml.org,2002:", "!!")
        raise ConfigError(f"{where}: {path or '<top>'}: must be a plain YAML value (got tag {short(tag)})")


def _check_nodes(loader: _ConfigLoader, root, where: str) -> None:
    """Before any Python value is built: expansion size and depth, duplicate keys, tags, scalars, each error
    naming its key."""
    sizes = _expanded_sizes(root, where)
    if sizes[id(root)][0] > MAX_VALUES:
        path, node = _innermost(root, sizes, lambda size: size[0] > MAX_VALUES)
        raise ConfigError(f"{where}: {path}: must hold at most {MAX_VALUES} values once YAML aliases are expanded "
                          f"(got {sizes[id(node)][0]})")
    if sizes[id(root)][1] > MAX_DEPTH:                 # e.g. a chain of anchors, each holding the one before
        part = next((part for part, c in _labelled_children(root) if 1 + sizes[id(c)][1] > MAX_DEPTH), "<top>")
        raise ConfigError(f"{where}: {part}: must nest at most {MAX_DEPTH} levels once YAML aliases are expanded "
                          f"(got {sizes[id(root)][1]})")
    seen, stack = set(), [("", root)]
    while stack:
        path, node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        _check_tag(node, where, path)
        if isinstance(node, yaml.ScalarNode):
            _construct_scalar(loader, node, where, path)
        if isinstance(node, yaml.MappingNode):
            first_seen: dict = {}
            for k, _ in node.value:
                if not isinstance(k, yaml.ScalarNode) or k.tag.endswith(":merge"):
                    continue
                at = _join(path, key_text(k.value))
                _check_tag(k, where, at)
                ident = (k.tag, _construct_scalar(loader, k, where, at))
                if ident in first_seen:
                    first = first_seen[ident]
                    twice = f"lines {first.line + 1} and {k.start_mark.line + 1}" if first.line != k.start_mark.line \
                        else f"line {first.line + 1}, columns {first.column + 1} and {k.start_mark.column + 1}"
                    raise ConfigError(f"{where}: {at}: must appear once in its mapping (got it on {twice})")
                first_seen[ident] = k.start_mark
        stack.extend((_join(path, part), c) for part, c in reversed(_labelled_children(node)))


def _read_text(path: Path, where: str) -> str:
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise ConfigError(f"{where}: <top>: must be a config file of at most {MAX_BYTES} bytes (got {size})")
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{where}: file not found") from None
    except OSError as exc:
        raise ConfigError(f"{where}: cannot read: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ConfigError(f"{where}: line {line}, column {column}: must be UTF-8 text "
                          f"(got byte 0x{raw[exc.start]:02x})") from None
    bad = _NOT_PRINTABLE.search(text)
    if bad:
        line = text.count("\n", 0, bad.start()) + 1
        column = bad.start() - (text.rfind("\n", 0, bad.start()) + 1) + 1
        kind = "control" if unicodedata.category(bad[0]) == "Cc" else "non-printable"
        raise ConfigError(f"{where}: line {line}, column {column}: must be printable text "
                          f"(got {kind} character U+{ord(bad[0]):04X})")
    return text


def read_yaml(path: str | Path) -> dict:
    """A YAML file's top-level mapping, or ConfigError naming the file, the key (or line) and what is wrong."""
    where = str(path)
    loader = _ConfigLoader(_read_text(Path(path), where), where)
    try:
        root = loader.get_single_node()
        if root is None:
            raise ConfigError(f"{where}: <top>: must be a mapping of config keys (got an empty file)")
        _check_nodes(loader, root, where)
        data = loader.construct_document(root)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where_in = f"{_at(mark)}: " if mark else ""
        what = ", ".join(part for part in (exc.context, exc.problem) if part)
        raise ConfigError(f"{where}: {where_in}YAML syntax error: {what}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{where}: YAML error: {short(str(exc))}") from None
    finally:
        loader.dispose()
    if data is None:            # a file holding only comments, `---` or `~`
        raise ConfigError(f"{where}: <top>: must be a mapping of config keys (got an empty file)")
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: <top>: must be a mapping of config keys (got {short(data)})")
    if not data:
        raise ConfigError(f"{where}: <top>: must be a mapping of config keys (got an empty mapping)")
    return data
