"""Our own stylesheets parse: one unclosed block silently turns every later rule into a print-only rule."""

from pathlib import Path

import pytest
import tinycss2

STATIC = Path(__file__).resolve().parent.parent / "static"
STYLESHEETS = sorted(path for path in STATIC.rglob("*.css") if "vendor" not in path.parts)


def problems(css):
    """Parse errors (an unmatched closing bracket is one) and unclosed blocks in a stylesheet."""
    found = []

    def walk(nodes):
        for node in nodes:
            if node.type == "error":
                found.append(f"line {node.source_line}: {node.message}")
            for part in ("prelude", "value", "arguments"):
                if isinstance(getattr(node, part, None), list):
                    walk(getattr(node, part))
            if node.type in ("qualified-rule", "at-rule") and node.content is not None:
                # A rule's block holds declarations and nested rules: parse it as such, to any depth.
                walk(tinycss2.parse_blocks_contents(node.content, skip_whitespace=True, skip_comments=True))
            elif node.type in ("() block", "[] block", "{} block", "function"):
                walk(getattr(node, "content", None) or [])

    walk(tinycss2.parse_stylesheet(css, skip_whitespace=True, skip_comments=True))
    # The parser closes a block left open at the end of the file; writing the tokens back out then adds
    # the missing bracket, so the text no longer matches the file.
    if tinycss2.serialize(tinycss2.parse_component_value_list(css)) != css:
        found.append("a block is never closed")
    return found


def test_there_are_stylesheets_to_check():
    assert STATIC / "css" / "site.css" in STYLESHEETS
    assert not any("vendor" in path.parts for path in STYLESHEETS)


@pytest.mark.parametrize("path", STYLESHEETS, ids=lambda path: str(path.relative_to(STATIC)))
def test_each_stylesheet_parses_with_every_block_closed(path):
    assert problems(path.read_text()) == []


@pytest.mark.parametrize(
    ("css", "problem"),
    [
        ("@media print {\n  .a { color: red; }\n\n.b { color: blue; }\n", "a block is never closed"),
        (".a { color: red; }\n}\n.b { color: blue; }\n", "line 2: Unmatched }"),
        (".a { color red; }\n", "line 1: "),
        ("@media print { .a { color red; } }\n", "line 1: "),
        ('.a { content: "unfinished\n}\n', "line 1: "),
    ],
)
def test_the_check_finds_broken_stylesheets(css, problem):
    assert any(found.startswith(problem) for found in problems(css)), problems(css)


def test_the_check_accepts_a_well_formed_stylesheet():
    css = "@media print {\n  .a { color: red; }\n  @page { size: A4; }\n}\n.b:not([hidden]) { width: calc(1% - 2px); }"
    assert problems(css) == []
