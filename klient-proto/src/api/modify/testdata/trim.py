#!/usr/bin/env python3
"""Cuts an OpenAPI v3 document of one group-version down to what one kind needs.

    trim.py DOC.json GROUP VERSION KIND > OUT.json

Keeps the kind's root schema and every schema it reaches through $ref, drops `paths`, and drops
`description` texts (which are most of the bytes and which list-key lookup never reads).
"""
import json
import sys

doc_path, group, version, kind = sys.argv[1:5]
with open(doc_path) as f:
    doc = json.load(f)
schemas = doc["components"]["schemas"]
PREFIX = "#/components/schemas/"


def is_root(schema):
    return {"group": group, "version": version, "kind": kind} in schema.get(
        "x-kubernetes-group-version-kind", []
    )


def strip(node, found):
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "description" and isinstance(value, str):
                continue
            if key == "$ref" and isinstance(value, str) and value.startswith(PREFIX):
                found.append(value[len(PREFIX):])
            out[key] = strip(value, found)
        return out
    if isinstance(node, list):
        return [strip(item, found) for item in node]
    return node


roots = [name for name, schema in schemas.items() if is_root(schema)]
if len(roots) != 1:
    sys.exit(f"expected one root schema for {group}/{version} {kind}, found {roots}")
kept, queue = {}, list(roots)
while queue:
    name = queue.pop()
    if name in kept:
        continue
    found = []
    kept[name] = strip(schemas[name], found)
    queue.extend(found)
out = {"openapi": doc["openapi"], "info": doc["info"], "components": {"schemas": dict(sorted(kept.items()))}}
json.dump(out, sys.stdout, indent=1, sort_keys=True)
sys.stdout.write("\n")
