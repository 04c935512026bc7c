"""Running the model with MCP tools: backends (llama.cpp, onnxruntime), the MCP client, approval,
pinning and the audit log, the agent loop and its events, ``bslm run``."""
