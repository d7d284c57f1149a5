"""Small helpers shared by the Android tests."""
from __future__ import annotations

import re
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"


def fixture_text(*parts: str) -> str:
    """A fixture file without its `# source:` header line."""
    text = FIXTURES.joinpath(*parts).read_text()
    return "".join(line for line in text.splitlines(keepends=True) if not line.startswith("# source:"))


def strip_kotlin_noise(src: str) -> str:
    """Kotlin source with comments, strings and char literals blanked (for bracket counting)."""
    out, i, n = [], 0, len(src)
    while i < n:
        c = src[i]
        if src.startswith("//", i):
            j = src.find("\n", i)
            i = n if j < 0 else j
        elif src.startswith("/*", i):
            j = src.find("*/", i + 2)
            assert j >= 0, "unterminated block comment"
            i = j + 2
        elif src.startswith('"""', i):
            j = src.find('"""', i + 3)
            assert j >= 0, "unterminated raw string"
            i = j + 3
            out.append('""')
        elif c in "\"'":
            j = i + 1
            while j < n and src[j] != c:
                if src[j] == "\n":
                    raise AssertionError(f"unterminated literal at offset {i}")
                j += 2 if src[j] == "\\" else 1
            assert j < n, f"unterminated literal at offset {i}"
            i = j + 1
            out.append(c + c)
        else:
            out.append(c)
            i += 1
    return "".join(out)


def balanced(src: str) -> bool:
    """Brackets (), [], {} nest properly once comments and literals are removed.

    String templates `${...}` are blanked with their string, so they cannot unbalance the count.
    """
    pairs, stack = {")": "(", "]": "[", "}": "{"}, []
    for c in strip_kotlin_noise(src):
        if c in "([{":
            stack.append(c)
        elif c in pairs:
            if not stack or stack.pop() != pairs[c]:
                return False
    return not stack


def kotlin_parse_errors(src: str) -> list[str] | None:
    """Syntax errors found by tree-sitter-kotlin, or None when the parser is not installed."""
    try:
        import tree_sitter_kotlin
        from tree_sitter import Language, Parser
    except ImportError:
        return None
    tree = Parser(Language(tree_sitter_kotlin.language())).parse(src.encode())
    errors = []

    def walk(node):
        if node.type == "ERROR" or node.is_missing:
            errors.append(f"line {node.start_point[0] + 1}: {src.encode()[node.start_byte:node.end_byte][:60]!r}")
        for child in node.children:
            walk(child)

    walk(tree.root_node)
    return errors


KOTLIN_FLOAT = re.compile(r"-?\d+\.\d+e-?\d+f")
