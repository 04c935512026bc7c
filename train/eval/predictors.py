"""The predictors ``bslm eval`` scores (``suites.py``): ``predict(messages, tools) ->
ModelOutput``, one decision of a model.

A ``DecodingPredictor`` decides the way the runtime does: the conversation encoded as the
agent encodes it, one model turn decoded by the engine on a backend under the turn's grammar
(hard, soft or off; the system prompt's tool rules enforced). A ``PromptedPredictor`` is the
baseline: a base model prompted with the tools as JSON. ``open_predictor`` picks the model and
backend from an ``EvalConfig``; ``tool_selector`` is the runtime's retrieval for
``--retrieval``.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from bslm.models.chat import as_spec, encode_chat
from bslm.models.engine import (
    Backend,
    BackendError,
    Help,
    called_tools,
    generate,
    turn_grammar,
)
from bslm.models.parser import ModelOutput, parse_output
from bslm.models.tools import ToolCall
from bslm.models.torch_backend import TorchBackend
from bslm.runtime.backends import open_backend
from bslm.train.eval.suites import EvalConfig, check_config

PROMPT = (
    "You have access to these functions:\n{tools}\n\nTo call functions, answer with only a JSON "
    'list of calls: [{{"name": "function_name", "arguments": {{...}}}}]. If no function fits, '
    "answer in plain text."
)


def json_calls(text: str) -> list[ToolCall]:
    """Calls written as JSON anywhere in ``text``: a list of ``{"name", "arguments"}``, one such
    object, or ``{"tool_calls": [...]}``. Never raises: no JSON, no calls."""
    dec = json.JSONDecoder()
    for i, ch in enumerate(text):
        if ch not in "[{":
            continue
        try:
            obj, _ = dec.raw_decode(text, i)
        except json.JSONDecodeError:
            continue
        if isinstance(obj, dict):
            obj = obj.get("tool_calls", [obj])
        calls = []
        for c in obj if isinstance(obj, list) else []:
            fn = c.get("function", c) if isinstance(c, dict) else None
            if isinstance(fn, dict) and isinstance(fn.get("name"), str):
                args = fn.get("arguments", fn.get("parameters", {}))
                if isinstance(args, str):
                    try:
                        args = json.loads(args)
                    except json.JSONDecodeError:
                        args = None
                if isinstance(args, dict):
                    calls.append(ToolCall(fn["name"], args))
        if calls:
            return calls
    return []


class PromptedPredictor:
    """A base model without the tool language: tools as JSON in a text prompt (its chat
    template when it has one), calls read back from JSON in its answer. The baseline a user
    could assemble from the base alone."""

    def __init__(self, decode: Callable, text_tok, max_new_tokens: int = 128):
        """``decode(prompt, stop, max_new_tokens)`` yields the base's greedy ids: ``greedy``
        over a transformers model, or the runtime's llama.cpp decoding of the base's GGUF."""
        self.decode, self.tok, self.max_new_tokens = decode, text_tok, max_new_tokens

    def prompt_ids(self, messages: list[dict], tools: list) -> list[int]:
        from bslm.models.tools import to_openai_tool

        specs = [to_openai_tool(as_spec(t))["function"] for t in tools or []]
        system = PROMPT.format(tools=json.dumps(specs, ensure_ascii=False))
        rest = [m for m in messages if m.get("role") in ("user", "system", "assistant")]
        chat = [
            {"role": "system", "content": system},
            *({"role": m["role"], "content": m.get("content") or ""} for m in rest),
        ]
        if getattr(self.tok, "chat_template", None):
            return self.tok.apply_chat_template(
                chat, add_generation_prompt=True, tokenize=True, return_dict=False
            )
        text = (
            "\n\n".join(f"{m['role'].capitalize()}: {m['content']}" for m in chat)
            + "\n\nAssistant:"
        )
        return self.tok(text)["input_ids"]

    def __call__(self, messages: list[dict], tools: list) -> ModelOutput:
        stop = {i for i in (self.tok.eos_token_id,) if i is not None}
        out = list(self.decode(self.prompt_ids(messages, tools), stop, self.max_new_tokens))
        text = self.tok.decode(out, skip_special_tokens=True)
        calls = json_calls(text)
        return ModelOutput(parts=calls or [text], ended=True)


class DecodingPredictor:
    """Greedy decisions of a model: (messages, tools) -> ModelOutput, decoded by the runtime
    with the tools' grammar as a hard mask, a soft bias, or off. With a mask, tool rules in the
    system prompt (never / always use a tool) are enforced as the runtime enforces them."""

    def __init__(
        self,
        model,
        tok=None,
        max_new_tokens: int = 128,
        mask: str = "off",
        help: Help | None = None,
    ):
        """``model``: a transformers model (with ``tok``), or an open runtime ``Backend``.
        ``help``: the decoder's inference-side help (``engine.Help``), under a mask."""
        self.backend = model if isinstance(model, Backend) else TorchBackend(model, tok)
        self.tok, self.max_new_tokens, self.mask = self.backend.tokenizer, max_new_tokens, mask
        self.help = help
        self.tokens = 0
        self.seconds = 0.0
        # with a call threshold: the last turn's probability of opening a call, and whether
        # the model's own choice was to open one
        self.last_call: tuple[float, bool] | None = None

    def sibling(self, mask: str, help: Help | None = None) -> DecodingPredictor:
        """The same model, open once, decoded another way."""
        return DecodingPredictor(
            self.backend, max_new_tokens=self.max_new_tokens, mask=mask, help=help
        )

    def grammar(self, messages: list[dict], specs: list):
        system = (
            messages[0].get("content") if messages and messages[0]["role"] == "system" else None
        )
        return turn_grammar(self.tok, specs, system, called_tools(messages))

    def __call__(self, messages: list[dict], tools: list) -> ModelOutput:
        specs = [as_spec(t) for t in tools or []]
        prompt = encode_chat(self.tok, messages, specs, add_generation_prompt=True).ids
        grammar = self.grammar(messages, specs) if self.mask != "off" else None
        help = self.help.for_conversation(self.tok, messages) if self.help else None
        gen = generate(
            self.backend,
            prompt,
            grammar,
            self.mask,
            max_new_tokens=self.max_new_tokens,
            help=help,
        )
        self.last_call = None if gen.call_p is None else (gen.call_p, bool(gen.call_own))
        self.seconds += gen.seconds
        self.tokens += len(gen.ids)
        return parse_output(self.tok.decode(gen.ids))


def open_predictor(cfg: EvalConfig) -> Callable:
    """The predictor ``cfg`` asks for: a prompted base model (``prompted``), or a bslm model
    decoded by the runtime (``backend`` torch: a model directory or ``tiny``; llama: a GGUF,
    the default model's without ``model``; onnx: an exported directory). Raises ValueError
    for bad settings, and what opening the model raises."""
    check_config(cfg)
    if cfg.prompted:
        from bslm.models.bases import DEFAULT_BASE, load_base
        from bslm.models.vocab import split_name

        # the baseline is the base as it ships: its full vocabulary
        base = cfg.model or split_name(DEFAULT_BASE)[0]
        if cfg.backend == "llama":
            decode, text_tok = llama_text_decoder(split_name(base)[0])
        else:
            from functools import partial

            from bslm.models.torch_backend import greedy

            model, text_tok = load_base(base)
            decode = partial(greedy, model.eval())
        return PromptedPredictor(decode, text_tok, cfg.max_new_tokens)
    if cfg.backend != "torch":
        # the runtime's own context: BFCL's longest prompt (live_irrelevance) is ~4,900 tokens
        backend = open_backend(cfg.model, cfg.backend)
        return DecodingPredictor(
            backend, max_new_tokens=cfg.max_new_tokens, mask=cfg.mask, help=config_help(cfg)
        )
    from bslm.models.build import fresh_model, load_model

    model, tok = fresh_model(cfg.model) if cfg.model == "tiny" else load_model(cfg.model)
    return DecodingPredictor(model, tok, cfg.max_new_tokens, cfg.mask, config_help(cfg))


def config_help(cfg: EvalConfig) -> Help | None:
    """The inference-side help ``cfg`` asks for (None: none)."""
    help = Help(cfg.call_threshold, cfg.copy_bias)
    return help if help.active else None


def llama_text_decoder(name: str, n_ctx: int = 8192) -> tuple[Callable, object]:
    """(decode, text tokenizer) for a base model's own GGUF (a shipped base, or a ``.gguf``
    path) run by llama.cpp: ``decode(prompt, stop, max_new_tokens)`` yields greedy ids, the
    stop id included. The base as it ships, several times faster than its de-quantized
    transformers copy. Raises BackendError for a file llama.cpp cannot open."""
    import weakref
    from pathlib import Path

    from bslm.models.bases import BASES, base_tokenizer, gguf_path
    from bslm.runtime.backends.llama import LlamaBackend, f32_file, gguf_header

    if name in BASES:
        path, tok = gguf_path(name), base_tokenizer(name)
    else:
        from transformers import AutoTokenizer

        path = Path(name).expanduser()
        if path.suffix != ".gguf" or not path.is_file():
            raise BackendError(f"{name!r} is neither a shipped base nor a .gguf file")
        tok = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
    llm = LlamaBackend._load(path, n_ctx, f32=f32_file(gguf_header(path)))

    def decode(prompt: list[int], stop: set[int], max_new_tokens: int):
        if len(prompt) + max_new_tokens > llm.n_ctx():
            raise BackendError(f"a prompt of {len(prompt)} tokens does not fit {llm.n_ctx()}")
        # greedy (top_k 1); generate() reuses the cached prefix the prompt shares
        for i, nxt in enumerate(llm.generate(prompt, top_k=1, temp=0.0, reset=True)):
            yield nxt
            if nxt in stop or i + 1 >= max_new_tokens:
                return

    # closed with the decoder, before interpreter shutdown breaks llama-cpp-python's own
    # destructor (as LlamaBackend does)
    weakref.finalize(decode, llm.close)
    return decode, tok


def tool_selector(method: str, k: int) -> Callable | None:
    """``select(messages, tools)``: the ``k`` tools most relevant to the conversation, by the
    runtime's retrieval (``none``: no selection)."""
    if method == "none":
        return None
    from bslm.runtime.retrieval import ToolSelector

    return lambda messages, tools: ToolSelector(tools, method, threshold=0).select(messages, k)
