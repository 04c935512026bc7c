"""Data synthesis: the curriculum (``synthesis.py``, ``bslm data generate``) built from a tool
catalog (``catalog.py`` over ``domains.py``, ``fields.py``, ``value_types.py``), requests in many
phrasings, answers, system-prompt rules; importers of datasets users bring; the JSONL I/O."""
