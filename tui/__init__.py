"""The Textual terminal agent."""
