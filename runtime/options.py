"""What an agent runs with, as ``bslm run`` and ``bslm chat`` share it: the model and its
backend, the MCP servers, the system prompt, the approval override, the grammar's mask and the
loop's limits. ``RunOptions`` (``runtime/run.py``) and ``ChatOptions`` (``tui/app.py``) add
their own; ``runtime/cli.py`` holds the flags that set them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(kw_only=True)
class AgentOptions:
    model: str | None = None  # GGUF file, ONNX directory or bslm model directory (None: default)
    backend: str | None = None  # llama, onnx or torch (None: from what ``model`` is)
    mcp_config: str | None = None  # mcpServers JSON (None: $BSLM_MCP_CONFIG, ~/.config/...)
    system: str | None = None
    approve: str | None = None  # ask, all or none: override the approval policy
    mask: str = "hard"
    # inference-side help under the mask (models/engine.Help); None: the model's own setting
    call_threshold: float | None = None
    copy_bias: float | None = None
    max_steps: int = 6
    max_new_tokens: int = 384
    n_ctx: int | None = None  # None: the model's own context

    def help(self, backend):
        """The decoder's help for ``backend``: the model's calibrated settings (its
        ``bslm.decoding`` metadata), overridden by ``call_threshold`` / ``copy_bias`` where
        given. None without a mask, or with nothing to do."""
        from bslm.models.engine import Help

        if self.mask == "off":
            return None
        help = Help.from_settings(backend.info.get("decoding"), self.call_threshold, self.copy_bias)
        return help if help.active else None
