"""A hardened XML reader for files from outside the authority (Common Transfer Files).

Built on the standard library's expat, with everything dangerous refused rather than
tolerated:

* no DTD at all (a ``<!DOCTYPE`` is an error), so no entity declarations, no billion
  laughs, no external entities, no network access; parameter entities are never parsed;
* limits on the file size, the element depth, the number of elements and the length of
  any one text, checked while parsing, so a hostile file stops early;
* every error names the line and the element, in words a school's data manager can act on.

:func:`parse_xml` returns a small tree of :class:`Node` (local names, attributes, text,
children, line numbers). Namespace prefixes are dropped from names (CTFs come with and
without a namespace) and namespace declarations are not kept as attributes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from xml.parsers import expat


@dataclass(frozen=True)
class XmlLimits:
    """How much a file may hold. Defaults suit a whole school's CTF with attendance."""

    max_bytes: int = 50 * 1024 * 1024
    max_depth: int = 32
    max_elements: int = 2_000_000
    max_text: int = 100_000
    max_attributes: int = 32


DEFAULT_LIMITS = XmlLimits()


class XmlRejected(Exception):
    """The file is not acceptable XML. ``line`` is 0 when the problem is the whole file."""

    def __init__(self, message: str, *, line: int = 0, element: str = "") -> None:
        self.message = message
        self.line = line
        self.element = element
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"Line {self.line}" if self.line else "The file"
        if self.element:
            where += f", element <{self.element}>"
        return f"{where}: {self.message}"


@dataclass(slots=True)
class Node:
    """One element: local name, attributes, stripped text, children, line it starts on."""

    name: str
    attrs: dict[str, str] = field(default_factory=dict)
    text: str = ""
    children: list[Node] = field(default_factory=list)
    line: int = 0

    def child(self, *names: str) -> Node | None:
        """The first child with any of ``names`` (case-insensitive), else None."""
        wanted = {n.lower() for n in names}
        for c in self.children:
            if c.name.lower() in wanted:
                return c
        return None

    def all(self, name: str) -> list[Node]:
        lowered = name.lower()
        return [c for c in self.children if c.name.lower() == lowered]

    def value(self, *names: str) -> str:
        """Text of the first child with any of ``names``, or ""."""
        found = self.child(*names)
        return found.text if found is not None else ""

    def to_json(self) -> dict[str, Any]:
        """A JSON-safe copy (for storing a section without losing anything)."""
        out: dict[str, Any] = {"n": self.name}
        if self.attrs:
            out["a"] = dict(self.attrs)
        if self.text:
            out["t"] = self.text
        if self.children:
            out["c"] = [c.to_json() for c in self.children]
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Node:
        return cls(
            name=str(data["n"]),
            attrs={str(k): str(v) for k, v in (data.get("a") or {}).items()},
            text=str(data.get("t", "")),
            children=[cls.from_json(c) for c in data.get("c", [])],
        )

    def to_xml(self, indent: int | None = None, level: int = 0) -> str:
        """The element as XML text (escaped; indented when ``indent`` is given)."""
        pad = "" if indent is None else "\n" + " " * (indent * level)
        attrs = "".join(f' {k}="{escape_attr(v)}"' for k, v in self.attrs.items())
        if not self.children and not self.text:
            return f"{pad}<{self.name}{attrs}/>"
        inner = escape_text(self.text)
        inner += "".join(c.to_xml(indent, level + 1) for c in self.children)
        close_pad = pad if self.children and indent is not None else ""
        return f"{pad}<{self.name}{attrs}>{inner}{close_pad}</{self.name}>"


def escape_text(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def escape_attr(value: str) -> str:
    return (
        escape_text(value)
        .replace('"', "&quot;")
        .replace("\n", "&#10;")
        .replace("\r", "&#13;")
        .replace("\t", "&#9;")
    )


def _local(name: str) -> str:
    return name.rpartition(":")[2] if ":" in name else name


class _Refused(Exception):
    """Raised inside an expat handler to stop parsing at once."""

    def __init__(self, message: str, line: int, element: str) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.element = element


class _Builder:
    def __init__(self, parser: Any, limits: XmlLimits) -> None:
        self.parser = parser
        self.limits = limits
        self.stack: list[tuple[Node, list[str]]] = []
        self.root: Node | None = None
        self.elements = 0
        self.text_length: list[int] = []

    @property
    def current(self) -> str:
        return self.stack[-1][0].name if self.stack else ""

    def refuse(self, message: str, element: str | None = None) -> None:
        raise _Refused(
            message, self.parser.CurrentLineNumber, self.current if element is None else element
        )

    # Anything from a DTD is refused: these handlers only ever raise.
    def doctype(self, name: str, *_args: Any) -> None:
        self.refuse(
            "the file has a document type declaration (<!DOCTYPE>); transfer files must not "
            "have one, and it is refused for safety",
            element="",
        )

    def entity(self, name: str, *_args: Any) -> None:
        self.refuse(f"the file declares an entity ({name}); entities are refused for safety")

    def external(self, *_args: Any) -> int:
        self.refuse("the file refers to an external entity; that is refused for safety")
        return 0  # pragma: no cover - refuse() raises

    def notation(self, name: str, *_args: Any) -> None:
        self.refuse(f"the file declares a notation ({name}); that is refused for safety")

    def start(self, name: str, attributes: dict[str, str]) -> None:
        self.elements += 1
        local = _local(name)
        if self.elements > self.limits.max_elements:
            self.refuse(
                f"the file has more than {self.limits.max_elements:,} elements", element=local
            )
        if len(self.stack) >= self.limits.max_depth:
            self.refuse(
                f"elements are nested more than {self.limits.max_depth} deep", element=local
            )
        if len(attributes) > self.limits.max_attributes:
            self.refuse(f"the element has more than {self.limits.max_attributes} attributes")
        attrs = (
            {
                _local(k): v
                for k, v in attributes.items()
                if k != "xmlns" and not k.startswith(("xmlns:", "xsi:"))
            }
            if attributes
            else {}
        )
        node = Node(name=local, attrs=attrs, line=self.parser.CurrentLineNumber)
        if self.stack:
            self.stack[-1][0].children.append(node)
        elif self.root is None:
            self.root = node
        self.stack.append((node, []))
        self.text_length.append(0)

    def end(self, name: str) -> None:
        node, parts = self.stack.pop()
        self.text_length.pop()
        node.text = "".join(parts).strip()

    def data(self, text: str) -> None:
        if not self.stack:
            return
        parts = self.stack[-1][1]
        parts.append(text)
        self.text_length[-1] += len(text)
        if self.text_length[-1] > self.limits.max_text:
            self.refuse(
                f"the text is longer than {self.limits.max_text:,} characters; "
                "a transfer file never needs that much"
            )


def parse_xml(data: bytes, limits: XmlLimits = DEFAULT_LIMITS) -> Node:
    """Parse ``data`` safely into a :class:`Node` tree, or raise :class:`XmlRejected`."""
    if len(data) > limits.max_bytes:
        raise XmlRejected(f"the file is larger than {limits.max_bytes // (1024 * 1024)}MB")
    if not data.strip():
        raise XmlRejected("the file is empty")
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    builder = _Builder(parser, limits)
    parser.StartDoctypeDeclHandler = builder.doctype
    parser.EntityDeclHandler = builder.entity
    parser.UnparsedEntityDeclHandler = builder.entity
    parser.NotationDeclHandler = builder.notation
    parser.ExternalEntityRefHandler = builder.external
    parser.StartElementHandler = builder.start
    parser.EndElementHandler = builder.end
    parser.CharacterDataHandler = builder.data
    parser.buffer_text = True
    parser.ordered_attributes = False
    try:
        step = 1 << 16
        for offset in range(0, len(data), step):
            parser.Parse(data[offset : offset + step], False)
        parser.Parse(b"", True)
    except _Refused as exc:
        raise XmlRejected(exc.message, line=exc.line, element=exc.element) from None
    except expat.ExpatError as exc:
        message = expat.ErrorString(exc.code) if exc.code else str(exc)
        raise XmlRejected(
            f"the XML is not well formed ({message}, column {exc.offset + 1}); "
            "check the tags around this line",
            line=exc.lineno,
            element=builder.current,
        ) from None
    except (ValueError, LookupError) as exc:  # an unknown or broken encoding declaration
        raise XmlRejected(f"the file's character encoding cannot be read ({exc})") from None
    if builder.root is None:  # pragma: no cover - expat reports "no element found" first
        raise XmlRejected("the file has no elements")
    return builder.root
