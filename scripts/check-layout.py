#!/usr/bin/env python3
"""Checks the layout rules the code holds itself to (run by .ci/run):

- no import cycle between the crate's top-level rooms (`crate::x` uses);
- no import cycle between sibling files of a module (`super::y` uses);
- `src/proxy/` imports nothing from `aws`, `approval` or `policy`;
- in `src/gate/` and `src/proxy/`: no function over 60 lines, no file over 400.

Test modules (after `#[cfg(test)]`) and comments are left out. Prints what
breaks a rule and exits 1, or prints a summary and exits 0.
"""

import re
import sys
from collections import defaultdict
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"
MAX_FUNCTION = 60
MAX_FILE = 400
BOUNDED = ("gate", "proxy")
PROXY_MAY_NOT_USE = {"aws", "approval", "policy"}


def module_path(path):
    """`src/gate/mod.rs` -> ('gate',), `src/gate/route.rs` -> ('gate', 'route')."""
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "mod":
        parts.pop()
    return tuple(parts) if parts not in (["lib"], ["main"]) else ()


def product_code(path):
    """The file's text before its test module, without comments."""
    text = path.read_text().split("#[cfg(test)]")[0]
    return re.sub(r"//[^\n]*", "", text)


def cycles(graph):
    """Strongly connected components with more than one node (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in graph.get(node, ()):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                other = stack.pop()
                on_stack.discard(other)
                component.append(other)
                if other == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in list(graph):
        if node not in index:
            visit(node)
    return found


def long_functions(path):
    """(name, first line, length) of every function longer than the limit."""
    lines = path.read_text().split("#[cfg(test)]")[0].split("\n")
    found = []
    for start, line in enumerate(lines):
        match = re.match(r"\s*(?:pub(?:\([^)]*\))?\s+)?(?:async\s+)?fn\s+(\w+)", line)
        if not match:
            continue
        depth, opened = 0, False
        for end in range(start, len(lines)):
            depth += lines[end].count("{") - lines[end].count("}")
            opened = opened or "{" in lines[end]
            if (opened and depth == 0) or (not opened and lines[end].rstrip().endswith(";")):
                break
        if end - start + 1 > MAX_FUNCTION:
            found.append((match.group(1), start + 1, end - start + 1))
    return found


def main():
    files = sorted(SRC.rglob("*.rs"))
    modules = {module_path(f): f for f in files}
    rooms, siblings, problems = defaultdict(set), defaultdict(set), []
    for path in files:
        module = module_path(path)
        code = product_code(path)
        for room in re.findall(r"crate::(\w+)", code):
            if module and room != module[0]:
                rooms[module[0]].add(room)
        if module and module[0] == "proxy":
            for room in PROXY_MAY_NOT_USE & set(re.findall(r"crate::(\w+)", code)):
                problems.append(f"{path.relative_to(SRC)} uses crate::{room}; proxy/ is transport only")
        if path.name != "mod.rs" and len(module) > 1:
            for group in re.findall(r"super::(\{[^}]*\}|\w+)", code):
                for name in re.findall(r"\w+", group):
                    sibling = modules.get(module[:-1] + (name,))
                    if sibling and sibling != path:
                        siblings[str(path.relative_to(SRC))].add(str(sibling.relative_to(SRC)))
        if module and module[0] in BOUNDED:
            length = len(path.read_text().split("\n"))
            if length > MAX_FILE:
                problems.append(f"{path.relative_to(SRC)} has {length} lines (at most {MAX_FILE})")
            for name, line, length in long_functions(path):
                problems.append(f"{path.relative_to(SRC)}:{line}: fn {name} has {length} lines (at most {MAX_FUNCTION})")
    problems += [f"import cycle between rooms: {' <-> '.join(c)}" for c in cycles(rooms)]
    problems += [f"import cycle between files: {' <-> '.join(c)}" for c in cycles(siblings)]
    if problems:
        print("\n".join(problems))
        return 1
    print(f"layout: {len(files)} files, {len(rooms)} rooms, no import cycles; gate/ and proxy/ within limits")
    return 0


if __name__ == "__main__":
    sys.exit(main())
