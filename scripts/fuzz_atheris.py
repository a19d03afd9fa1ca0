"""Coverage-guided fuzzing of the hostile-input parsers with atheris (libFuzzer).  Optional; not run in CI.

atheris is not a project dependency.  A wheel exists for CPython 3.11 on x86-64 Linux:
    .venv/bin/pip install --target /tmp/atheris-site atheris
    PYTHONPATH=/tmp/atheris-site .venv/bin/python scripts/fuzz_atheris.py request /tmp/fuzz-request -max_total_time=600

Targets (first argument): json, request, response, tarball, keyfile, root.  The rest of the
command line goes to libFuzzer (a corpus directory, -max_total_time=N, -jobs=N, ...).  An
empty corpus directory is seeded with the valid baselines from tests/vectors/bad/.  Only
AirgapError may leave a target; any other exception is a finding, saved by libFuzzer as
crash-<sha1> and reproduced with: ... fuzz_atheris.py <target> crash-<sha1>
The bounded hypothesis version of the same targets is tests/test_fuzz_parsers.py.
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


def targets() -> dict[str, Callable[[bytes], None]]:
    from appliance.core.bundle import check_binding, open_request, open_response
    from appliance.core.keys import parse_public_key_file, parse_secret_key_file
    from appliance.core.keysarchive import KeysArchive
    from appliance.core.metadata import Root
    from appliance.core.rootpair import RootPair, check_pair, parse_chain, verify_history
    from appliance.core.rotation import RotationParameters, plan_root_rotation, verify_new_pair
    from appliance.core.strictjson import loads
    from appliance.core.verify import verify_root_chain
    from scripts.make_bad_corpus import APPLIANCE, NEW_ROOT_KEY, NOW, STATION

    ok_request = open_request((CORPUS / "ok-request.json").read_bytes(), STATION.peer)
    archive = KeysArchive.from_bytes((CORPUS / "ok-keys.tgz").read_bytes())
    ok_root = Root.from_bytes((CORPUS / "ok-root.json").read_bytes())

    def request(data: bytes) -> None:
        req = open_request(data, STATION.peer)
        params = RotationParameters.from_dict(req.parameters)
        ci, prod = req.payload.get("ci_roots"), req.payload.get("prod_roots")
        if isinstance(ci, list) and isinstance(prod, list):
            pair = RootPair(
                verify_history(parse_chain(ci, "CI"), None, "CI"),
                verify_history(parse_chain(prod, "production"), None, "production"),
            )
            check_pair(pair)
            plan_root_rotation(pair, archive, NEW_ROOT_KEY, params, NOW)

    def response(data: bytes) -> None:
        resp = open_response(data, APPLIANCE.peer)
        check_binding(resp, ok_request)
        new = RootPair(Root.from_dict(resp.result.get("ci_root")), Root.from_dict(resp.result.get("prod_root")))
        verify_new_pair(RootPair(ok_root, ok_root), new, NOW)

    def tarball(data: bytes) -> None:
        parsed = KeysArchive.from_bytes(data)
        parsed.signers_for(ok_root.meta, "root")
        assert KeysArchive.from_bytes(parsed.to_bytes(mtime=0)).files == parsed.files

    def keyfile(data: bytes) -> None:
        for parse in (parse_public_key_file, parse_secret_key_file):
            try:
                parse(data)
            except AirgapError:
                pass

    def root(data: bytes) -> None:
        verify_root_chain(ok_root, [Root.from_bytes(data)], NOW)

    from appliance.core.errors import AirgapError

    return {"json": lambda d: loads(d), "request": request, "response": response, "tarball": tarball,
            "keyfile": keyfile, "root": root}  # fmt: skip


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
