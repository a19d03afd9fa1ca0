"""Coverage-guided fuzzing of the hostile-input parsers with atheris (libFuzzer).  Optional; not run in CI.

atheris is not a project dependency.  A wheel exists for CPython 3.11 on x86-64 Linux:
    .venv/bin/pip install --target /tmp/atheris-site atheris
    PYTHONPATH=/tmp/atheris-site .venv/bin/python scripts/fuzz_atheris.py request /tmp/fuzz-request -max_total_time=600

Targets (first argument): json, request, response, tarball, keyfile, root.  The rest of the
command line goes to libFuzzer (a corpus directory, -max_total_time=N, -jobs=N, ...).  An
empty corpus directory is seeded with the valid baselines from tests/vectors/bad/.  Only
AirgapError may leave a target; any other exception is a finding, saved by libFuzzer as
crash-<sha1> and reproduced with: ... fuzz_atheris.py <target> crash-<sha1>
The bounded hypothesis version of the same targets is tests/core/test_fuzz_parsers.py.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CORPUS = ROOT / "tests" / "vectors" / "bad"
SEEDS = {
    "json": ["ok-root.json", "ok-request.json"],
    "request": ["ok-request.json"],
    "response": ["ok-response.json"],
    "tarball": ["ok-keys.tgz"],
    "keyfile": [],
    "root": ["ok-root.json"],
}


def targets() -> dict[str, Callable[[bytes], object]]:
    from tests.support.fuzztargets import TARGETS

    return TARGETS


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in SEEDS:
        raise SystemExit(f"usage: fuzz_atheris.py {{{','.join(SEEDS)}}} [corpus_dir] [libFuzzer flags]")
    try:
        import atheris
    except ImportError:
        raise SystemExit("atheris is not installed; see the module docstring") from None
    name, libfuzzer_args = sys.argv[1], [sys.argv[0], *sys.argv[2:]]
    corpus_dirs = [Path(a) for a in sys.argv[2:] if not a.startswith("-") and Path(a).is_dir()]
    if corpus_dirs and not any(corpus_dirs[0].iterdir()):
        for seed in SEEDS[name]:
            (corpus_dirs[0] / seed).write_bytes((CORPUS / seed).read_bytes())
    with atheris.instrument_imports():
        import appliance.core.bundle  # noqa: F401
        import appliance.core.keysarchive  # noqa: F401
        import appliance.core.metadata  # noqa: F401
        import appliance.core.strictjson  # noqa: F401
    from appliance.core.errors import AirgapError

    target = targets()[name]

    def one_input(data: bytes) -> None:
        try:
            target(data)
        except AirgapError:
            pass

    atheris.Setup(libfuzzer_args, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
