"""The Textual terminal agent (``bslm chat``)."""
