"""The ``bslm`` command line: the top of the house, where the rooms meet (``cli/main.py``)."""
