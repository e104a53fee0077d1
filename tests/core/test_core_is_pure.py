"""The domain core is plain Python: no framework, no third-party package, no float."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

CORE = Path(__file__).resolve().parents[2] / "src" / "prepaid" / "core"
MODULES = sorted(
    "prepaid." + ".".join(p.relative_to(CORE.parent).with_suffix("").parts)
    for p in CORE.rglob("*.py")
)


def test_importing_the_whole_core_loads_no_django():
    modules = [m.removesuffix(".__init__") for m in MODULES]
    code = (
        "import sys\n"
        + "".join(f"import {m}\n" for m in modules)
        + "bad = sorted({m.split('.')[0] for m in sys.modules} & {'django', 'asgiref'})\n"
        + "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_core_imports_only_the_standard_library_and_itself():
    allowed = set(sys.stdlib_module_names) | {"prepaid", "__future__"}
    for path in CORE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                assert name.split(".")[0] in allowed, f"{path.name} imports {name}"


def test_core_never_uses_float():
    for path in CORE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            assert not (isinstance(node, ast.Name) and node.id == "float"), path.name
            assert not (isinstance(node, ast.Constant) and isinstance(node.value, float)), (
                f"{path.name}:{node.lineno} has a float literal"
            )
