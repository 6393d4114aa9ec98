"""``python -m gateway.simulator``: the documented command, kept; the simulator itself is ``aliasgate.simulator``.

The simulator is a test double, so it left the data-plane package (and the gateway image). This forwarder
runs it by module name with :func:`runpy.run_module` instead of importing it, so ``gateway`` keeps no
static import of ``aliasgate.simulator`` (an import-linter contract forbids one) and the gateway image,
which does not ship the simulator, still imports cleanly. Prefer ``python -m aliasgate.simulator``.
"""

from __future__ import annotations

import runpy

if __name__ == "__main__":
    runpy.run_module("aliasgate.simulator", run_name="__main__", alter_sys=True)
