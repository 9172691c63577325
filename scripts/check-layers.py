#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Checks every `#include "..."` under src/ against the layer graph in docs/architecture.md.

The doc is the one source of truth: this script reads the table between the markers
`<!-- layers:begin -->` and `<!-- layers:end -->` (columns: layer, code, may include) and the
exceptions table between `<!-- layer-exceptions:begin -->` and `<!-- layer-exceptions:end -->`
(columns: file, includes, reason). A file's layer is its directory under src/ (src/app.c,
src/app.h and src/main.c are the layer "app"); an include's layer is the first component of its
path ("app.h" is "app"). Includes within a layer are always allowed. Every other include must be
an arrow of the table or an exception; each violation is printed as file:line. An exception that
no longer matches anything is an error too, so the list cannot outlive the debt it records.

The link order of meson.build enforces the same graph on symbols; this check catches a new
upward include before anyone calls through it, and names the line.

It also holds the rules of the architecture that are not includes (docs/architecture.md,
"What grep proves"):
  - no domain header takes or returns JSON (json_t, jsonw): clients' JSON is built in api/;
  - no topic string literal ("user:", "room:", ...) outside core/topics.h;
  - no route table outside the declarations: api/ files declare routes only with API_MODULE.

Usage: scripts/check-layers.py [repo root]  (exit 0 clean, 1 violations, 2 unreadable table)
"""
import os
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')
DOMAIN_JSON = re.compile(r"\b(json_t|jsonw)\b")
TOPIC_LITERAL = re.compile(r'"(user|room|presence|conn|feed|session|rooms|conversation):[%"a-z]')
ROUTE_TABLE = re.compile(r"\bhttp_route\s+\w+\s*\[")
APP_FILES = {"app.c", "app.h", "main.c"}


def table_rows(text, name):
    """The body rows of the markdown table between <!-- name:begin --> and <!-- name:end -->."""
    m = re.search(r"<!-- %s:begin -->(.*?)<!-- %s:end -->" % (name, name), text, re.S)
    if not m:
        raise ValueError("docs/architecture.md has no <!-- %s:begin/end --> table" % name)
    rows = []
    for line in m.group(1).splitlines():
        line = line.strip()
        if not line.startswith("|") or re.match(r"^\|[\s:|-]+\|$", line):
            continue
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows.append(cells)
    return rows[1:]  # the first row is the header


def words(cell):
    """Backquoted names in a cell ("`store`, `core`" -> ["store", "core"]); "-" is none."""
    return re.findall(r"`([^`]+)`", cell)


def read_graph(doc_path):
    text = open(doc_path, encoding="utf-8").read()
    allowed = {}
    for cells in table_rows(text, "layers"):
        if len(cells) < 3:
            raise ValueError("layers table row needs 3 cells: %r" % cells)
        names = words(cells[0])
        if len(names) != 1:
            raise ValueError("layers table: one `layer` per row, got %r" % cells[0])
        allowed[names[0]] = set(words(cells[2]))
    exceptions = {}
    for cells in table_rows(text, "layer-exceptions"):
        if len(cells) < 3 or not words(cells[0]) or not words(cells[1]) or not cells[2]:
            raise ValueError("exceptions row needs a `file`, an `include` and a reason: %r" % cells)
        exceptions[(words(cells[0])[0], words(cells[1])[0])] = cells[2]
    for layer, targets in allowed.items():
        unknown = targets - set(allowed)
        if unknown:
            raise ValueError("layer %s may include unknown layers %s" % (layer, sorted(unknown)))
    return allowed, exceptions


def layer_of_file(rel):
    parts = rel.split("/")  # src/<layer>/... or src/<file>
    if len(parts) == 2 and parts[1] in APP_FILES:
        return "app"
    return parts[1] if len(parts) > 2 else None


def layer_of_include(path):
    if path == "app.h":
        return "app"
    return path.split("/")[0] if "/" in path else None


def rule_violations(rel, lineno, line):
    """The non-include rules for one source line (comments are code-adjacent enough to skip:
    a rule's name in a comment is not a use)."""
    code = re.sub(r"/\*.*?(\*/|$)", "", line.split("//")[0])
    if code.lstrip().startswith(("*", "/*")):
        return []
    out = []
    if rel.startswith("src/domain/") and rel.endswith(".h") and DOMAIN_JSON.search(code):
        out.append("%s:%d: a domain header names JSON (json_t/jsonw): build clients' JSON in api/"
                   % (rel, lineno))
    if rel != "src/core/topics.h" and TOPIC_LITERAL.search(code):
        out.append("%s:%d: a topic name written out: use core/topics.h" % (rel, lineno))
    if rel.startswith("src/api/") and ROUTE_TABLE.search(code):
        out.append("%s:%d: a hand-written route table: declare routes (api/route.h)"
                   % (rel, lineno))
    return out


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")
    os.chdir(root)
    try:
        allowed, exceptions = read_graph("docs/architecture.md")
    except (OSError, ValueError) as e:
        print("check-layers: %s" % e, file=sys.stderr)
        return 2
    violations, used, files = [], set(), 0
    for dirpath, dirnames, filenames in os.walk("src"):
        dirnames.sort()
        for name in sorted(filenames):
            if not name.endswith((".c", ".h")):
                continue
            rel = os.path.join(dirpath, name).replace(os.sep, "/")
            src_layer = layer_of_file(rel)
            if src_layer not in allowed:
                violations.append("%s: in no layer of docs/architecture.md" % rel)
                continue
            files += 1
            with open(rel, encoding="utf-8", errors="replace") as f:
                for lineno, line in enumerate(f, 1):
                    violations += rule_violations(rel, lineno, line)
                    m = INCLUDE.match(line)
                    if not m:
                        continue
                    target = layer_of_include(m.group(1))
                    if target is None or target == src_layer:
                        continue  # a same-directory or generated header
                    if target not in allowed:
                        violations.append("%s:%d: includes %s from no known layer"
                                          % (rel, lineno, m.group(1)))
                    elif target in allowed[src_layer]:
                        continue
                    elif (rel, m.group(1)) in exceptions:
                        used.add((rel, m.group(1)))
                    else:
                        violations.append("%s:%d: %s -> %s: %s may not include %s (%s)"
                                          % (rel, lineno, src_layer, target, src_layer,
                                             m.group(1), "allowed: " +
                                             (", ".join(sorted(allowed[src_layer])) or "none")))
    for key in sorted(set(exceptions) - used):
        violations.append("docs/architecture.md: stale exception %s -> %s (no such include)" % key)
    for v in violations:
        print(v)
    print("check-layers: %d files, %d violation(s), %d exception(s) in use"
          % (files, len(violations), len(used)))
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
