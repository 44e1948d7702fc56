"""The hardened XML reader: hostile files are refused without harm, with a clear message."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cmetrack.transfers.xmlsafe import Node, XmlLimits, XmlRejected, parse_xml

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<CTfile><Header>&lol9;</Header></CTfile>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE CTfile [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<CTfile><Header>&xxe;</Header></CTfile>"""

EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE CTfile SYSTEM "http://example.invalid/ctf.dtd">
<CTfile/>"""

PARAMETER_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE CTfile [<!ENTITY % remote SYSTEM "http://example.invalid/x.dtd"> %remote;]>
<CTfile/>"""


@pytest.mark.parametrize(
    "data",
    [BILLION_LAUGHS, EXTERNAL_ENTITY, EXTERNAL_DTD, PARAMETER_ENTITY],
    ids=["billion-laughs", "external-entity", "external-dtd", "parameter-entity"],
)
def test_any_dtd_is_refused(data: bytes) -> None:
    with pytest.raises(XmlRejected) as caught:
        parse_xml(data)
    assert "document type declaration" in str(caught.value)
    assert caught.value.line == 2


def test_entity_without_dtd_is_an_error_not_an_expansion() -> None:
    with pytest.raises(XmlRejected) as caught:
        parse_xml(b"<CTfile>\n<Header>&lol;</Header></CTfile>")
    assert caught.value.line == 2
    assert "undefined entity" in str(caught.value)


def test_deep_nesting_is_refused() -> None:
    data = b"<a>" * 10_000 + b"</a>" * 10_000
    with pytest.raises(XmlRejected) as caught:
        parse_xml(data)
    assert "nested more than 32 deep" in str(caught.value)


def test_huge_text_is_refused() -> None:
    data = b"<CTfile><Suppinfo>" + b"x" * 200_000 + b"</Suppinfo></CTfile>"
    with pytest.raises(XmlRejected) as caught:
        parse_xml(data)
    assert "longer than 100,000 characters" in str(caught.value)
    assert caught.value.element == "Suppinfo"


def test_huge_text_in_many_small_pieces_is_refused() -> None:
    data = b"<CTfile><Suppinfo>" + b"&amp;" * 150_000 + b"</Suppinfo></CTfile>"
    with pytest.raises(XmlRejected):
        parse_xml(data)


def test_size_limit_checked_before_parsing() -> None:
    with pytest.raises(XmlRejected) as caught:
        parse_xml(b"<a/>" + b" " * 2048, XmlLimits(max_bytes=1024))
    assert "larger than" in str(caught.value)


def test_element_count_limit() -> None:
    with pytest.raises(XmlRejected) as caught:
        parse_xml(b"<a>" + b"<b/>" * 50 + b"</a>", XmlLimits(max_elements=10))
    assert "more than 10 elements" in str(caught.value)


def test_malformed_names_line_and_element() -> None:
    data = b"<CTfile>\n  <Header>\n    <CTFversion>25.0</CTFversion>\n  </Heder>\n</CTfile>"
    with pytest.raises(XmlRejected) as caught:
        parse_xml(data)
    assert caught.value.line == 4
    assert caught.value.element == "Header"
    assert str(caught.value).startswith("Line 4, element <Header>: the XML is not well formed")


def test_empty_and_truncated() -> None:
    with pytest.raises(XmlRejected, match="empty"):
        parse_xml(b"   ")
    with pytest.raises(XmlRejected, match="not well formed"):
        parse_xml(b"<CTfile><Header>")


def test_namespaces_are_dropped_and_lines_kept() -> None:
    root = parse_xml(
        b'<x:CTfile xmlns:x="urn:a">\n<x:Header a="1" x:b="2"> hi </x:Header></x:CTfile>'
    )
    assert root.name == "CTfile"
    header = root.children[0]
    assert (header.name, header.line, header.text, header.attrs) == (
        "Header",
        2,
        "hi",
        {"a": "1", "b": "2"},
    )


_names = st.from_regex(r"[A-Za-z][A-Za-z0-9]{0,8}", fullmatch=True)
_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff"),
    max_size=20,
).map(str.strip)


@st.composite
def trees(draw: st.DrawFn, depth: int = 0) -> Node:
    children = draw(st.lists(trees(depth + 1), max_size=3)) if depth < 3 else []
    return Node(
        name=draw(_names),
        attrs=draw(st.dictionaries(_names, _text, max_size=2)),
        text=draw(_text),
        children=children,
    )


def _strip_lines(node: Node) -> dict[str, object]:
    return node.to_json()


@settings(max_examples=200, deadline=None)
@given(trees())
def test_written_trees_read_back_the_same(tree: Node) -> None:
    for indent in (None, 2):
        again = parse_xml(tree.to_xml(indent=indent).encode("utf-8"))
        assert _strip_lines(again) == _strip_lines(tree)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_fuzz_bytes_never_crash(data: bytes) -> None:
    try:
        parse_xml(data)
    except XmlRejected as exc:
        message = str(exc)
    else:
        return
    assert message.startswith(("Line", "The file"))


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="<>/!?&;=\"' abcCTfileHeader[]%\n-", max_size=200))
def test_fuzz_markup_never_crashes(text: str) -> None:
    try:
        parse_xml(text.encode("utf-8"))
    except XmlRejected as exc:
        message = str(exc)
    else:
        return
    assert message.startswith(("Line", "The file"))
