"""The measured steps, each run in a process of its own by ``measure.run_step``:

    python -m benchmarks.steps NAME '{"argument": value, ...}'

prints the step's result as one JSON object on its last line.
"""

from __future__ import annotations

import importlib
import json
import sys

# Step name -> module:function of this package; only the step's own module is imported, so
# the process's memory is that step's.
STEPS = {
    "check": "checking:check_step",
    "recheck": "checking:recheck_step",
    "apply": "applying:apply_step",
    "passwords": "applying:passwords_step",
    "page": "pages:page_step",
    "users": "searching:users_step",
    "draft_restore": "drafts:restore_step",
    "draft_memory": "drafts:memory_step",
    "crowd": "crowd:crowd_step",
}


def main() -> None:
    name, arguments = sys.argv[1], json.loads(sys.argv[2])
    module, function = STEPS[name].split(":")
    step = getattr(importlib.import_module(f"benchmarks.{module}"), function)
    print(json.dumps(step(**arguments)))


if __name__ == "__main__":
    main()
