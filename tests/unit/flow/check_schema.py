"""Validates JSON documents against a JSON Schema the way editors do (draft-07, the python
jsonschema package). Usage: check_schema.py SCHEMA DOC.json...; prints one line per document,
"ok <file>" or "error <file>: <first message>". Exit 77 when jsonschema is not installed."""
import json
import sys

try:
    import jsonschema
except ImportError:
    print("python3 jsonschema is not installed")
    sys.exit(77)

with open(sys.argv[1], encoding="utf-8") as f:
    schema = json.load(f)
jsonschema.Draft7Validator.check_schema(schema)
validator = jsonschema.Draft7Validator(schema)
for path in sys.argv[2:]:
    with open(path, encoding="utf-8") as f:
        document = json.load(f)
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.path))
    if errors:
        print("error %s: %s" % (path, errors[0].message))
    else:
        print("ok %s" % path)
