"""Backends, constrained decoding, the MCP client, the agent loop and the ``bslm`` CLI."""
