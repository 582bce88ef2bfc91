#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Validate merged chart values (JSON, as `helm-render values` prints) against the chart's
values.schema.json with python3-jsonschema, as `helm install/template` does with its own
JSON-Schema validator. Prints one line per violation (path: message).

usage: values_schema_check.py SCHEMA.json VALUES.json
"""
import json
import sys

import jsonschema


def main():
    schema = json.load(open(sys.argv[1]))
    values = json.load(open(sys.argv[2]))
    jsonschema.Draft7Validator.check_schema(schema)
    errs = sorted(jsonschema.Draft7Validator(schema).iter_errors(values), key=lambda e: list(e.path))
    for e in errs:
        print("%s: %s" % ("/".join(str(p) for p in e.path) or "(root)", e.message))
    return 1 if errs else 0


if __name__ == "__main__":
    sys.exit(main())
