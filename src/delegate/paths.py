"""Where the project lives, for defaults that must not depend on the current directory.

With the editable install of the README's set-up, the package sits in ``<root>/src/delegate`` and
``conf/``, ``mlruns/`` and ``outputs/`` are at ``<root>``. When installed elsewhere (no ``conf/``
two levels up), the current directory is the root.
"""

from __future__ import annotations

from pathlib import Path

_SOURCE_ROOT = Path(__file__).resolve().parents[2]
PROJECT_ROOT = _SOURCE_ROOT if (_SOURCE_ROOT / "conf").is_dir() else Path.cwd()
CONF_DIR = PROJECT_ROOT / "conf"
