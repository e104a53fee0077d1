"""Several ``prepaid`` command lines in one process, each as the command would run it (tests
only): a sweep of refusals costs one start-up instead of one each.

    python cli_batch.py OUTPUT < {"site": {"root": R, "database_url": U}, "cases": [...]}

Each case is ``{"argv": [...], "stdin": "...", "env": {NAME: value or null}}``; after it the
site's state (:func:`station_kit.site_state`) is taken again. OUTPUT gets one JSON list of
``{"status", "stdout", "stderr", "state"}``. An exception that escapes the command is caught
and its traceback given in ``stderr`` (status -1), as the program would have printed it.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import traceback
from pathlib import Path
from typing import Any

from station_kit import Site, site_state


def run_case(case: dict[str, Any]) -> tuple[int, str, str]:
    from django.utils import translation

    from prepaid.cli.main import main

    saved_env = {name: os.environ.get(name) for name in case.get("env", {})}
    for name, value in case.get("env", {}).items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    saved_stdin, out, err = sys.stdin, io.StringIO(), io.StringIO()
    sys.stdin = io.StringIO(case.get("stdin", ""))
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                status = main(case["argv"])
            except SystemExit as exc:
                status = exc.code if isinstance(exc.code, int) else -1
            except BaseException:
                traceback.print_exc()
                status = -1
    finally:
        sys.stdin = saved_stdin
        translation.deactivate()
        for name, value in saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    return status, out.getvalue(), err.getvalue()


def main() -> None:
    request = json.load(sys.stdin)
    site = Site(Path(request["site"]["root"]), request["site"]["database_url"])
    results = []
    for case in request["cases"]:
        status, stdout, stderr = run_case(case)
        results.append(
            {"status": status, "stdout": stdout, "stderr": stderr, "state": site_state(site)}
        )
    Path(sys.argv[1]).write_text(json.dumps(results))


if __name__ == "__main__":
    main()
