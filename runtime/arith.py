"""A safe arithmetic evaluator over Python's ``ast`` (no ``eval``): the ``calculate`` tool of
bslm's demo MCP server and of the math environment.

    evaluate("(17.5 * 3) / 4")  # 13.125
"""

from __future__ import annotations

import ast
import math
import operator

_BINARY = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY = {ast.UAdd: operator.pos, ast.USub: operator.neg}
_FUNCTIONS = {
    name: getattr(math, name)
    for name in (
        "sqrt",
        "sin",
        "cos",
        "tan",
        "asin",
        "acos",
        "atan",
        "exp",
        "log",
        "log2",
        "log10",
        "floor",
        "ceil",
        "factorial",
        "radians",
        "degrees",
        "hypot",
    )
} | {"abs": abs, "round": round, "min": min, "max": max}
_CONSTANTS = {"pi": math.pi, "e": math.e, "tau": math.tau}


MAX_BITS = 4096  # integers beyond this are refused before they are computed


def _bits(left: int, right: int, op: ast.operator) -> int:
    """An upper bound on the size of ``left op right`` in bits."""
    if isinstance(op, ast.Mult):
        return left.bit_length() + right.bit_length()
    return left.bit_length() * max(right, 0)


def evaluate(expression: str) -> int | float:
    """Evaluate arithmetic safely: numbers, + - * / // % **, parentheses, and the functions
    and constants above. Raises ValueError for anything else."""
    try:
        tree = ast.parse(
            expression.replace("^", "**").replace("×", "*").replace("÷", "/"), mode="eval"
        )
    except SyntaxError as e:
        raise ValueError(f"not an arithmetic expression: {expression!r}") from e

    def ev(node: ast.AST):
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant) and type(node.value) in (int, float):
            return node.value
        if isinstance(node, ast.Name) and node.id in _CONSTANTS:
            return _CONSTANTS[node.id]
        if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
            return _UNARY[type(node.op)](ev(node.operand))
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            left, right = ev(node.left), ev(node.right)
            # Bound the work: 9**9**9 would run for hours and eat memory.
            if isinstance(node.op, ast.Pow) and abs(right) > 1000 and abs(left) > 1:
                raise ValueError("exponent too large")
            if (
                isinstance(node.op, (ast.Pow, ast.Mult))
                and isinstance(left, int)
                and isinstance(right, int)
                and _bits(left, right, node.op) > MAX_BITS
            ):
                raise ValueError("number too large")
            return _BINARY[type(node.op)](left, right)
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in _FUNCTIONS
            and not node.keywords
        ):
            args = [ev(a) for a in node.args]
            if node.func.id == "factorial" and args and args[0] > 1000:
                raise ValueError("factorial argument too large")
            return _FUNCTIONS[node.func.id](*args)
        raise ValueError(f"unsupported in an expression: {ast.unparse(node)!r}")

    try:
        value = ev(tree)
    except (ZeroDivisionError, OverflowError, TypeError) as e:
        raise ValueError(str(e)) from e
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value
