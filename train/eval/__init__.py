"""Evaluation (``bslm eval``): our suites, BFCL categories (``bfcl.py``, scored by ``checker.py``),
the development set (``devset.py``) and environment tasks, run by ``suites.py`` with the
predictors of ``predictors.py``."""
