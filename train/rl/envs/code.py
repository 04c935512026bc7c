"""The code-repair environment: fix the one bug injected into a short Python function.

A task is a function from ``CATALOG`` with one line changed (off by one, wrong operator, wrong
comparison, wrong variable, missing return...) and its tests (``assert`` lines: the catalog's
fixed cases, which catch every listed bug, plus one or two random ones). The model sees the
tests, reads and edits the file through a line DSL (``view``, ``replace_line``, ``insert_line``,
``delete_line``) and runs ``run_tests``. The score is the fraction of tests the final code
passes. Code runs only in a subprocess (``python -I``, own session and temporary directory,
memory and file-size limits, killed after ``timeout`` seconds). A task's split is decided by a
hash of its bug (function and changed line), so ``test`` bugs are never seen in ``train``.

    env = CodeEnv()
    task = env.tasks("test", 1)[0]
    episode = run_episode(env, task, act)
"""

from __future__ import annotations

import ast
import functools
import hashlib
import itertools
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass

from bslm.models.tools import ToolCall, ToolResult
from bslm.train.rl.envs.base import Environment, Task, check_split, error, text


@dataclass(frozen=True)
class Function:
    """A correct function, the argument lists of its fixed tests, the bugs that can be
    injected (kind, a fragment of exactly one line, what the fragment becomes) and a draw of
    the arguments of one more, random test."""

    source: str
    cases: tuple[str, ...]
    bugs: tuple[tuple[str, str, str], ...]
    draw: Callable[[random.Random], str]

    @property
    def name(self) -> str:
        return self.source.split("(", 1)[0].removeprefix("def ")


def _ints(r: random.Random, lo: int, hi: int, sizes: tuple[int, ...]) -> list[int]:
    return [r.randint(lo, hi) for _ in range(r.choice(sizes))]


CATALOG: tuple[Function, ...] = (
    Function(
        '''def sum_evens(nums):
    """Return the sum of the even numbers in nums."""
    total = 0
    for n in nums:
        if n % 2 == 0:
            total += n
    return total''',
        ("[1, 2, 3, 4]", "[]", "[5, 7]", "[2]"),
        (
            ("wrong_initial_value", "total = 0", "total = 1"),
            ("wrong_comparison", "n % 2 == 0", "n % 2 == 1"),
            ("wrong_operator", "total += n", "total -= n"),
            ("missing_return", "return total", "total"),
        ),
        lambda r: repr(_ints(r, -9, 20, (2, 3, 4, 5))),
    ),
    Function(
        '''def count_vowels(text):
    """Return how many letters of text are vowels (a, e, i, o, u), ignoring case."""
    count = 0
    for ch in text.lower():
        if ch in "aeiou":
            count += 1
    return count''',
        ("'Hello World'", "''", "'AEIOU'", "'rhythm'"),
        (
            ("wrong_initial_value", "count = 0", "count = 1"),
            ("wrong_comparison", 'ch in "aeiou"', 'ch not in "aeiou"'),
            ("missing_call", "text.lower()", "text"),
            ("missing_return", "return count", "count"),
        ),
        lambda r: repr("".join(r.choice("abeiouxyzAEO ") for _ in range(r.randint(3, 9)))),
    ),
    Function(
        '''def argmax(values):
    """Return the index of the largest value (the first one on ties)."""
    best = 0
    for i in range(1, len(values)):
        if values[i] > values[best]:
            best = i
    return best''',
        ("[1, 5, 2]", "[4, 1, 3, 9]", "[3, 1, 3]", "[7]"),
        (
            ("off_by_one", "range(1, len(values))", "range(1, len(values) - 1)"),
            ("wrong_comparison", "values[i] > values[best]", "values[i] < values[best]"),
            ("wrong_comparison", "values[i] > values[best]", "values[i] >= values[best]"),
            ("wrong_variable", "values[i] > values[best]", "values[i] > values[0]"),
        ),
        lambda r: repr(_ints(r, 0, 50, (1, 3, 4, 6))),
    ),
    Function(
        '''def factorial(n):
    """Return n! (the product 1 * 2 * ... * n) for n >= 0."""
    result = 1
    for k in range(2, n + 1):
        result *= k
    return result''',
        ("0", "1", "4", "5"),
        (
            ("wrong_initial_value", "result = 1", "result = 0"),
            ("off_by_one", "range(2, n + 1)", "range(2, n)"),
            ("wrong_operator", "result *= k", "result += k"),
            ("missing_return", "return result", "result"),
        ),
        lambda r: str(r.randint(2, 12)),
    ),
    Function(
        '''def is_palindrome(s):
    """Return True if s reads the same forwards and backwards."""
    i, j = 0, len(s) - 1
    while i < j:
        if s[i] != s[j]:
            return False
        i += 1
        j -= 1
    return True''',
        ("'racecar'", "'abca'", "''", "'abba'", "'ab'"),
        (
            ("off_by_one", "len(s) - 1", "len(s) - 2"),
            ("wrong_comparison", "s[i] != s[j]", "s[i] == s[j]"),
            ("wrong_constant", "return True", "return False"),
            ("wrong_operator", "j -= 1", "j += 1"),
        ),
        lambda r: repr("".join(r.choice("ab") for _ in range(r.randint(1, 5)))),
    ),
    Function(
        '''def clamp(x, lo, hi):
    """Return x limited to the range lo..hi."""
    if x < lo:
        return lo
    if x > hi:
        return hi
    return x''',
        ("5, 0, 10", "-3, 0, 10", "12, 0, 10", "0, 0, 10"),
        (
            ("wrong_comparison", "x < lo", "x > lo"),
            ("wrong_comparison", "x > hi", "x < hi"),
            ("wrong_variable", "return hi", "return lo"),
            ("wrong_variable", "return lo", "return x"),
        ),
        lambda r: f"{r.randint(-20, 20)}, {r.randint(-10, 0)}, {r.randint(1, 10)}",
    ),
    Function(
        '''def prefix_sums(nums):
    """Return the running totals of nums: [a, a + b, a + b + c, ...]."""
    sums = []
    total = 0
    for n in nums:
        total += n
        sums.append(total)
    return sums''',
        ("[1, 2, 3]", "[]", "[5]", "[2, -2, 4]"),
        (
            ("wrong_variable", "sums.append(total)", "sums.append(n)"),
            ("wrong_initial_value", "total = 0", "total = 1"),
            ("wrong_operator", "total += n", "total = n"),
            ("missing_return", "return sums", "sums"),
        ),
        lambda r: repr(_ints(r, -5, 9, (1, 2, 3, 4, 5))),
    ),
    Function(
        '''def index_of(items, target):
    """Return the first index of target in items, or -1 if it is absent."""
    for i in range(len(items)):
        if items[i] == target:
            return i
    return -1''',
        ("[4, 2, 7], 7", "[4, 2, 7], 4", "[1, 2], 5", "[], 3", "[3, 3], 3"),
        (
            ("off_by_one", "range(len(items))", "range(1, len(items))"),
            ("wrong_comparison", "items[i] == target", "items[i] != target"),
            ("wrong_constant", "return -1", "return 0"),
            ("wrong_variable", "return i", "return target"),
        ),
        lambda r: f"{_ints(r, 0, 6, (0, 2, 3, 5))!r}, {r.randint(0, 6)}",
    ),
    Function(
        '''def fizzbuzz(n):
    """Return "FizzBuzz", "Fizz" or "Buzz" when 15, 3 or 5 divides n, else str(n)."""
    if n % 15 == 0:
        return "FizzBuzz"
    if n % 3 == 0:
        return "Fizz"
    if n % 5 == 0:
        return "Buzz"
    return str(n)''',
        ("15", "9", "10", "7", "30"),
        (
            ("wrong_constant", "n % 15 == 0", "n % 10 == 0"),
            ("wrong_comparison", "n % 3 == 0", "n % 3 != 0"),
            ("wrong_constant", 'return "Buzz"', 'return "Fizz"'),
            ("missing_call", "return str(n)", "return n"),
        ),
        lambda r: str(r.randint(1, 100)),
    ),
    Function(
        '''def binary_search(items, target):
    """Return the index of target in the sorted list items, or -1 if it is absent."""
    lo, hi = 0, len(items) - 1
    while lo <= hi:
        mid = (lo + hi) // 2
        if items[mid] == target:
            return mid
        if items[mid] < target:
            lo = mid + 1
        else:
            hi = mid - 1
    return -1''',
        ("[1, 3, 5, 7], 7", "[1, 3, 5, 7], 1", "[2], 2", "[1, 3, 5], 4", "[], 1"),
        (
            ("off_by_one", "while lo <= hi", "while lo < hi"),
            ("off_by_one", "len(items) - 1", "len(items) - 2"),
            ("wrong_comparison", "items[mid] < target", "items[mid] > target"),
            ("wrong_constant", "return -1", "return 0"),
        ),
        lambda r: f"{sorted(r.sample(range(12), r.randint(0, 6)))!r}, {r.randint(0, 12)}",
    ),
    Function(
        '''def average(nums):
    """Return the mean of nums, or 0.0 for an empty list."""
    if not nums:
        return 0.0
    total = 0
    for n in nums:
        total += n
    return total / len(nums)''',
        ("[1, 2]", "[]", "[4]", "[2, 4, 9]"),
        (
            ("wrong_operator", "total / len(nums)", "total // len(nums)"),
            ("negated_condition", "if not nums", "if nums"),
            ("off_by_one", "total / len(nums)", "total / (len(nums) - 1)"),
            ("wrong_initial_value", "total = 0", "total = 1"),
        ),
        lambda r: repr(_ints(r, 0, 20, (1, 2, 4))),
    ),
)


def bug_line(fn: Function, bug: tuple[str, str, str]) -> int:
    """The 1-based line ``bug`` changes. Raises ValueError unless its fragment is on one line."""
    hits = [k for k, line in enumerate(fn.source.splitlines(), 1) if bug[1] in line]
    if len(hits) != 1:
        raise ValueError(f"{fn.name}: fragment {bug[1]!r} is on {len(hits)} lines, not one")
    return hits[0]


def inject(fn: Function, bug: tuple[str, str, str]) -> str:
    """``fn``'s source with ``bug`` in it."""
    lines, k = fn.source.splitlines(), bug_line(fn, bug)
    lines[k - 1] = lines[k - 1].replace(bug[1], bug[2])
    return "\n".join(lines)


def bug_split(fn: Function, bug: tuple[str, str, str]) -> str:
    """``test`` for about a third of the bugs, by a hash of the function and the change."""
    digest = hashlib.sha256(f"{fn.name}:{bug[1]}->{bug[2]}".encode()).hexdigest()
    return "test" if int(digest, 16) % 3 == 0 else "train"


@functools.cache
def reference(fn: Function) -> Callable:
    """The correct function, to compute the expected values (catalog code, run in-process)."""
    namespace: dict = {}
    exec(fn.source, namespace)
    return namespace[fn.name]


# Runs in the child: load the source, check each test (``assert CALL == LITERAL``), write
# [[passed, note], ...] to argv[1]. ``same`` wants equal values of the same type, item by item,
# so no object whose ``__eq__`` always says yes can pass (ints and floats compare as numbers).
RUNNER = r"""
import ast, contextlib, io, json, sys
try:
    import resource
    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
    resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 24, 1 << 24))
except (ImportError, ValueError, OSError):
    pass
def same(got, want, type=type, len=len, all=all, zip=zip, numbers=(int, float)):
    if type(want) in numbers and type(got) in numbers:
        return got == want
    if type(got) is not type(want):
        return False
    if type(want) in (list, tuple):
        return len(got) == len(want) and all(same(g, w) for g, w in zip(got, want))
    return got == want
def short(text):
    return text if len(text) <= 120 else text[:117] + "..."
def failure(e):
    return short(f"{type(e).__name__}: {e}")
job = json.load(sys.stdin)
results, ns = [], {"__name__": "solution"}
with contextlib.redirect_stdout(io.StringIO()):
    try:
        exec(compile(job["source"], "solution.py", "exec"), ns)
        broken = None
    except BaseException as e:
        broken = "the code does not run: " + failure(e)
    for test in job["tests"]:
        if broken:
            results.append([False, broken])
            continue
        try:
            check = ast.parse(test).body[0].test
            want = ast.literal_eval(check.comparators[0])
            got = eval(compile(ast.Expression(check.left), "test", "eval"), ns)
            ok = same(got, want)
            note = "" if ok else "got " + short(repr(got))
            if not ok and got == want:
                note += f" (type {type(got).__name__}, expected {type(want).__name__})"
            results.append([ok, note])
        except BaseException as e:
            results.append([False, failure(e)])
with open(sys.argv[1], "w") as f:
    json.dump(results, f)
"""


def _kill_group(proc: subprocess.Popen) -> None:
    try:  # the whole session, in case the code started processes of its own
        os.killpg(proc.pid, signal.SIGKILL)
    except (AttributeError, OSError):
        proc.kill()


def run_tests(source: str, tests: list[str], timeout: float = 3.0) -> list[tuple[bool, str]]:
    """Run ``tests`` (``assert CALL == LITERAL`` lines) against ``source`` in a fresh, isolated
    subprocess; one (passed, note) per test. A run past ``timeout`` seconds is killed and every
    test fails."""
    job = json.dumps({"source": source, "tests": tests}).encode()
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "results.json")
        cmd = [sys.executable, "-I", "-c", RUNNER, out]
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        with subprocess.Popen(
            cmd, stdin=subprocess.PIPE, cwd=tmp, start_new_session=True, **quiet
        ) as proc:
            try:
                proc.communicate(job, timeout=timeout)
            except subprocess.TimeoutExpired:
                note = f"timed out after {timeout:g} s (an endless loop?)"
                return [(False, note)] * len(tests)
            finally:
                _kill_group(proc)
        try:
            with open(out) as f:
                results = [(bool(ok), str(note)) for ok, note in json.loads(f.read(1 << 20))]
            if len(results) == len(tests):
                return results
        except (OSError, ValueError, TypeError):
            pass
        return [(False, f"the test run crashed (exit code {proc.returncode})")] * len(tests)


def numbered(lines: list[str], start: int, end: int) -> str:
    return "\n".join(f"{k:>3}| {lines[k - 1]}" for k in range(start, end + 1))


def _tool(name: str, description: str, required: list[str], **props: dict) -> dict:
    params = {"type": "object", "properties": props, "required": required}
    params = {k: v for k, v in params.items() if v != []} | {"additionalProperties": False}
    return {
        "type": "function",
        "function": {"name": name, "description": description, "parameters": params},
    }


_LINE = {"type": "integer", "minimum": 1, "description": "Line number (from 1)."}
_TEXT = {"type": "string", "maxLength": 200, "description": "The whole line, indentation included."}
TOOLS = [
    _tool(
        "view",
        "Show the file's numbered lines, all or start..end.",
        [],
        start={**_LINE, "description": "First line to show."},
        end={**_LINE, "description": "Last line to show."},
    ),
    _tool("replace_line", "Replace one line.", ["line", "text"], line=_LINE, text=_TEXT),
    _tool(
        "insert_line",
        "Insert a line so that it becomes line `line` (one past the last line appends).",
        ["line", "text"],
        line=_LINE,
        text=_TEXT,
    ),
    _tool("delete_line", "Delete one line.", ["line"], line=_LINE),
    _tool("run_tests", "Run the tests; says which pass and why the others fail.", []),
]
SYSTEM = (
    "You repair Python code through tools: view shows the file's numbered lines, replace_line, "
    "insert_line and delete_line edit it (give each line whole, indentation included), "
    "run_tests runs its tests. Fix the bug, check that the tests pass, then reply briefly in text."
)
MAX_LINES = 60


class CodeEnv(Environment):
    """One buggy function behind a line-editing DSL and its tests; scored by tests passed."""

    name = "code"
    max_turns = 8

    def __init__(self, timeout: float = 3.0) -> None:
        super().__init__()
        self.timeout = timeout
        self.lines: list[str] = []
        self._last: tuple[str, list[tuple[bool, str]]] | None = None

    def tasks(self, split: str, n: int, seed: int = 0) -> list[Task]:
        check_split(split)
        bugs = [(fn, bug) for fn in CATALOG for bug in fn.bugs if bug_split(fn, bug) == split]
        out: list[Task] = []
        seen: set[str] = set()
        for i in itertools.count():
            if len(out) == n:
                break
            if i > 100 * (n + 10):
                raise RuntimeError(f"could not draw {n} distinct {split} code tasks")
            task = make_task(random.Random(f"code:{seed}:{i}"), bugs)
            if task.id not in seen:
                seen.add(task.id)
                out.append(task)
        return out

    def reset(self, task: Task) -> None:
        self.lines = task.data["source"].splitlines()
        self._last = None

    def _line(self, k: int, extra: int = 0) -> int:
        if int(k) != k or not 1 <= k <= len(self.lines) + extra:
            raise ValueError(f"line {k} is out of range: use 1-{len(self.lines) + extra}")
        return int(k)

    def step(self, call: ToolCall) -> ToolResult:
        a, n = call.arguments, len(self.lines)
        if "\n" in a.get("text", "") or "\r" in a.get("text", ""):
            return error("text must be one line; insert further lines one by one")
        if call.name == "view":
            start = self._line(a.get("start", 1)) if n else 1
            end = min(int(a.get("end", n)), n)
            if end < start:
                raise ValueError(f"end {end} is before start {start}")
            return text(numbered(self.lines, start, end) if n else "(the file is empty)")
        if call.name == "replace_line":
            k = self._line(a["line"])
            self.lines[k - 1] = a["text"]
            return text(f"line {k} is now:\n{numbered(self.lines, k, k)}")
        if call.name == "insert_line":
            k = self._line(a["line"], extra=1)
            if n >= MAX_LINES:
                raise ValueError(f"the file is at its limit of {MAX_LINES} lines")
            self.lines.insert(k - 1, a["text"])
            around = numbered(self.lines, max(1, k - 1), min(k + 1, n + 1))
            return text(f"inserted line {k}:\n{around}")
        if call.name == "delete_line":
            k = self._line(a["line"])
            del self.lines[k - 1]
            return text(f"deleted line {k}; the file now has {n - 1} lines")
        if call.name == "run_tests":
            assert self.task is not None
            results = self.results()
            passed = sum(ok for ok, _ in results)
            whole = ("timed out", "the test run crashed", "the code does not run")
            if results and results[0][1].startswith(whole):  # one note for the whole run
                return text(f"0 of {len(results)} tests pass: {results[0][1]}")
            tests = self.task.data["tests"]
            report = [
                f"{'PASS' if ok else 'FAIL'} {t}" + (f"  -> {note}" if note else "")
                for t, (ok, note) in zip(tests, results, strict=True)
            ]
            return text(f"{passed} of {len(results)} tests pass\n" + "\n".join(report))
        return error(f"{call.name} is not a code tool")

    def results(self) -> list[tuple[bool, str]]:
        """The tests' results on the current file (the last run's, if the file is the same)."""
        assert self.task is not None, "results() before start()"
        source = "\n".join(self.lines) + "\n"
        if self._last is None or self._last[0] != source:
            self._last = (source, run_tests(source, self.task.data["tests"], self.timeout))
        return self._last[1]

    def score(self, answer: str) -> float:
        """The fraction of the tests the final file passes."""
        results = self.results()
        return sum(ok for ok, _ in results) / len(results) if results else 0.0


def make_task(rng: random.Random, bugs: list[tuple[Function, tuple[str, str, str]]]) -> Task:
    """One task: a bug drawn from ``bugs`` and tests (the fixed cases and 1-2 random ones, in
    a random order); its id hashes the buggy source and the tests."""
    fn, bug = rng.choice(bugs)
    args = list(dict.fromkeys([*fn.cases, *(fn.draw(rng) for _ in range(rng.randint(1, 2)))]))
    rng.shuffle(args)
    ref = reference(fn)
    tests = [f"assert {fn.name}({a}) == {ref(*ast.literal_eval(f'({a},)'))!r}" for a in args]
    source, k = inject(fn, bug), bug_line(fn, bug)
    fixed = fn.source.splitlines()[k - 1]
    digest = hashlib.sha256(json.dumps([source, tests]).encode()).hexdigest()
    request = (
        f"The function {fn.name} fails some of its tests:\n\n"
        + "\n".join(tests)
        + "\n\nFind the bug and fix it."
    )
    turns = [
        [{"name": "view", "arguments": {}}],
        [{"name": "replace_line", "arguments": {"line": k, "text": fixed}}],
        [{"name": "run_tests", "arguments": {}}],
    ]
    data = {
        "function": fn.name,
        "bug": bug[0],
        "line": k,
        "source": source,
        "fixed": fixed,
        "tests": tests,
    }
    messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": request}]
    answer = f"Fixed line {k} of {fn.name}; all tests pass."
    return Task("code", f"code-{digest[:16]}", messages, TOOLS, turns, answer, data)
