"""A line-mode chat with a bslm model: streams the model's text, shows the tool calls it makes.

No MCP server is connected here: tools come from an OpenAI-style ``tools`` JSON file, and
the calls the model writes are shown, parsed and checked, never run.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from rich.console import Console

from bslm.models.chat import encode_chat
from bslm.models.generate import greedy
from bslm.models.parser import parse_output


def load_tools(path: Path | None) -> list:
    """Tools from a JSON file: a list of OpenAI tools, or ``{"tools": [...]}``. Raises
    ValueError with the reason when the file is not that."""
    if path is None:
        return []
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise ValueError(f"cannot read tools from {path}: {e}") from e
    tools = data.get("tools") if isinstance(data, dict) else data
    if not isinstance(tools, list):
        raise ValueError(f"{path}: expected a list of tools or an object with a 'tools' list")
    return tools


def reply(model, tok, messages: list[dict], tools: list, max_new_tokens: int, console: Console):
    """Generate one model turn, streaming its text; returns the parsed ``ModelOutput`` and
    whether the model closed its turn (False: cut at the token limit)."""
    prompt = encode_chat(tok, messages, tools, add_generation_prompt=True).ids
    generated: list[int] = []
    text_run: list[int] = []
    shown = ""
    for token in greedy(model, prompt, {tok.eot_id}, max_new_tokens):
        generated.append(token)
        if tok.is_tool(token):
            text_run, shown = [], ""
            continue
        text_run.append(token)
        text = tok.decode_text(text_run)
        if not text.endswith("\ufffd"):  # wait for the rest of a split character
            console.print(text[len(shown) :], end="", markup=False, highlight=False)
            shown = text
    console.print()
    return parse_output(tok.decode(generated)), bool(generated) and generated[-1] == tok.eot_id


def run(model_dir: Path | None, tools_file: Path | None, max_new_tokens: int) -> int:
    from bslm.models.build import load_model

    console = Console()
    tools = load_tools(tools_file)
    with console.status("loading the model..."):
        model, tok = load_model(model_dir)
        model.eval()
    console.print(
        f"[bold]bslm chat[/] - {tok.base_name or 'model'} with {len(tools)} tool(s) described; "
        "calls are shown, not run (no MCP server is connected in this mode). Ctrl-D quits."
    )
    messages: list[dict] = []
    while True:
        try:
            line = console.input("[bold cyan]you>[/] ")
        except (EOFError, KeyboardInterrupt):
            console.print()
            return 0
        if not line.strip():
            continue
        messages.append({"role": "user", "content": line})
        console.print("[bold green]model>[/] ", end="")
        try:
            out, closed = reply(model, tok, messages, tools, max_new_tokens, console)
        except KeyboardInterrupt:
            console.print("\n[yellow](stopped)[/]")
            messages.pop()
            continue
        for call in out.calls:
            console.print(
                f"[magenta]call[/] {call.name}({json.dumps(call.arguments, ensure_ascii=False)})"
            )
        if out.error:
            console.print(
                f"[red]unreadable output at item {out.error.position}: {out.error.message}[/]"
            )
        if not closed:
            console.print("[yellow](turn cut at the token limit)[/]")
        messages.append({"role": "assistant", "parts": out.parts})


if __name__ == "__main__":
    sys.exit(run(None, None, 256))
