"""Make the repository root importable when pytest runs without a project-level config.

Only a path bootstrap; the fixtures live in the test module.  Harmless once a root
pytest config sets ``pythonpath = .``.
"""

import sys
from pathlib import Path

REPO_ROOT = str(Path(__file__).resolve().parents[3])
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)
