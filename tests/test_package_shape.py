"""The helper package stays small and obvious: no function over 60 lines, no module over ~400 lines."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "sfdpo_helpers"


def test_no_function_over_60_lines_and_no_module_over_420():
    long_functions, long_modules = [], []
    for path in sorted(PACKAGE.rglob("*.py")):
        source = path.read_text()
        if source.count("\n") > 420:
            long_modules.append(f"{path.name}: {source.count(chr(10))} lines")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno >= 60:
                long_functions.append(f"{path.name}:{node.lineno} {node.name} ({node.end_lineno - node.lineno + 1})")
    assert long_functions == [] and long_modules == []


def test_the_shape_check_can_fail(tmp_path):
    body = "\n".join(f"    x{i} = {i}" for i in range(61))
    tree = ast.parse(f"def long():\n{body}\n")
    node = tree.body[0]
    assert node.end_lineno - node.lineno >= 60
