"""Entry point: regenerate the committed test vectors (the building code is tests/support/corpus.py)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support.corpus import main  # noqa: E402

if __name__ == "__main__":
    main()
