"""What flow/ and kan/ both build on: the one-line errors (errors.py), the typed-schema machinery every config file
is checked with (keys.py, yaml_file.py) and the sections a design config and a model config share (kan.py).

Imports go one way: flow/ imports kan/ (a design point's model accuracy, the model's power workload, its RTL
inference), both import config_schema/, and config_schema/ imports neither (tests/test_imports.py checks it)."""
