"""The hostile-input corpus (tests/vectors/bad/) through the real CLIs that would consume it.

Each defect file is handed to ``python -m appliance`` or ``python -m online`` in a
child process, inside its own copy of a work tree (paired appliance and station homes,
the keys tarball, the stick) with a sandbox factory server on loopback.  Every case
must end with exactly ``error: <message>`` and ``hint: <hint>`` on stderr, no
traceback, the exit code of the expected error class, and not one file changed in
the work tree or the server's state.

Interpreter start-up and imports cost ~0.5 s per process, far more than the work, so
cases run in children forked from a pre-imported fork server (``ForkServer``): each
child runs the package's ``__main__`` with its own argv, environment, stdio and exit
status, exactly as ``python -m`` would after importing.  One case per consumer is also
run with a plain ``python -m`` subprocess and must give identical results.
"""

from __future__ import annotations

import gzip
import hashlib
import itertools
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from appliance.common.home import Home
from appliance.core.errors import (
    AirgapError,
    BundleError,
    InputFormatError,
    KeyMissingError,
    MetadataError,
    TarballError,
    VerificationError,
)
from online.station import Station
from tests.support.corpus import APPLIANCE, OK_REQUEST_ID, STATION, build, gzip_bytes

CORPUS = Path(__file__).parent.parent / "vectors" / "bad"
BASELINES = frozenset(
    {"ok-keys.tgz", "ok-root.json", "ok-request.json", "ok-response.json", "station.pub", "appliance.pub"}
)
TIMEOUT = 120
# Characters that must never reach a terminal from outside text (shown as escapes instead).
UNSAFE_ON_SCREEN = ("\x00", "\x07", "\x1b", "\x9b", "\x9d", "\u202e", "\u2066", "\u200b", "\ufeff")


@dataclass(frozen=True)
class Case:
    file: str
    consumer: str  # keys | keys-root | show-root | rotate-root | rotate-root-keys | import
    error: type[AirgapError]
    fragment: str
    setup: str = "fresh"  # fresh | completed (the appliance has finished ok-request.json)

    @property
    def id(self) -> str:
        return f"{self.file}@{self.consumer}"


def _cases(consumer: str, error: type[AirgapError], rows: list[tuple[str, str]], setup: str = "fresh") -> list[Case]:
    return [Case(file, consumer, error, fragment, setup) for file, fragment in rows]


CASES: list[Case] = [
    *_cases(
        "keys",
        TarballError,
        [
            ("tarball-tar-slip.tgz", "'tufrepo/../../.bashrc' has an unsafe path"),
            ("tarball-absolute-path.tgz", "'/etc/cron.d/evil' has an unsafe path"),
            ("tarball-pax-path-override.tgz", "'../../x.pub' has an unsafe path"),
            ("tarball-symlink-member.tgz", "is a link; links are refused"),
            ("tarball-hardlink-member.tgz", "is a link; links are refused"),
            ("tarball-device-member.tgz", "'tufrepo/keys/mem.pub' is not a regular file"),
            ("tarball-fifo-member.tgz", "'tufrepo/keys/pipe.pub' is not a regular file"),
            ("tarball-gzip-bomb.tgz", "(gzip bomb?)"),
            ("tarball-member-too-large.tgz", "is 2097153 bytes, more than 2097152"),
            ("tarball-too-many-members.tgz", "more than 256 members"),
            ("tarball-duplicate-member.tgz", "'tufrepo/keys/first-root.pub' appears twice"),
            ("tarball-pub-sec-mismatch.tgz", "does not hold the private half"),
            ("tarball-sec-without-pub.tgz", "has no matching tufrepo/keys/first-root.pub"),
            ("tarball-rsa-1024-key.tgz", "RSA key has 1024 bits"),
            ("tarball-bad-key-json.tgz", "duplicate key 'keytype'"),
            ("tarball-unexpected-file.tgz", "unexpected file 'install.sh'"),
            ("tarball-not-gzip.tgz", "not a gzip-compressed tarball"),
            ("tarball-truncated-gzip.tgz", "gzip stream is damaged"),
            ("tarball-truncated-tar.tgz", "is truncated"),
            ("tarball-two-archives-joined.tgz", "several archives joined"),
            ("tarball-pax-size-negative.tgz", "declares a negative size (-1024)"),
            ("tarball-pax-size-absurd.tgz", "is 9999999999999999999999999999999999999999 bytes, more than"),
            ("tarball-pax-path-4mib.tgz", "aaaa'\u2026 (4194317 characters) in tarball"),
            ("tarball-gnu-longname-10mib.tgz", "bbbb'\u2026 (10485774 characters) in tarball"),
            ("tarball-escape-in-name.tgz", "'tufrepo/keys/\\x1b]0;owned\\x07\\x1b[2J\\u202egpj.pub'"),
            ("tarball-nul-in-pax-path.tgz", "member 'a\\x00b' has an unsafe path"),
        ],
    ),
    # The same tarballs where a ceremony meets them: after the request verified.
    *_cases(
        "rotate-root-keys",
        TarballError,
        [
            ("tarball-symlink-member.tgz", "is a link; links are refused"),
            ("tarball-gzip-bomb.tgz", "(gzip bomb?)"),
            ("tarball-rsa-1024-key.tgz", "RSA key has 1024 bits"),
            ("tarball-pub-sec-mismatch.tgz", "does not hold the private half"),
            ("tarball-pax-size-negative.tgz", "declares a negative size (-1024)"),
        ],
    ),
    *_cases(
        "keys-root",
        InputFormatError,
        [
            ("root-duplicate-json-keys.json", "duplicate key 'version'"),
            ("root-nan.json", "non-standard constant NaN"),
            ("root-infinity.json", "non-standard constant -Infinity"),
            ("root-float-version.json", "floating point number (1.0)"),
            ("root-deep-nesting-10k.json", "nested deeper than 64 levels"),
            ("root-bom.json", "byte order mark"),
            ("root-invalid-utf8.json", "not valid UTF-8"),
            ("root-not-an-object.json", "must be a JSON object"),
        ],
    ),
    *_cases(
        "keys-root",
        MetadataError,
        [
            ("root-huge-int-version.json", "does not fit in 64 bits"),
            ("root-bool-version.json", "version must be an integer"),
            ("root-non-ascii-signed-string.json", "U+00E9 at offset 1 is outside printable ASCII"),
            ("root-html-signed-string.json", "'<' at offset 0 is escaped differently"),
            ("root-keyid-mismatch.json", "does not match its key"),
            ("root-same-key-two-ids.json", "the same public key is listed under key ids"),
            ("root-threshold-zero.json", "threshold 0 is outside 1..1000"),
        ],
    ),
    # Roots as a factory server would serve them (the file is the server's current CI root).
    *_cases(
        "show-root",
        InputFormatError,
        [
            ("root-duplicate-json-keys.json", "duplicate key 'version'"),
            ("root-nan.json", "non-standard constant NaN"),
            ("root-deep-nesting-10k.json", "nested deeper than 64 levels"),
        ],
    ),
    *_cases("show-root", MetadataError, [("root-non-ascii-signed-string.json", "outside printable ASCII")]),
    *_cases(
        "show-root",
        VerificationError,
        [
            ("root-unsigned.json", "not signed by its own root keys: root: 0 of 1"),
            ("root-signed-by-other-key.json", "not signed by its own root keys: root: 0 of 1"),
        ],
    ),
    *_cases(
        "rotate-root",
        BundleError,
        [
            ("request-truncated.json", "is not valid JSON"),
            ("request-bit-flipped.json", "signature does not verify"),
            ("request-bad-base64-signature.json", "malformed signature"),
            ("request-duplicate-json-keys.json", "duplicate key 'factory'"),
            ("request-float.json", "floating point number (1.0)"),
            ("request-nan-sequence.json", "non-standard constant NaN"),
            ("request-deep-nesting-10k.json", "nested deeper than 64 levels"),
            ("request-extra-outer-field.json", "expected exactly 'bundle' and 'signature'"),
            ("request-unknown-field.json", "unexpected fields ['note']"),
            ("request-foreign-station.json", "not by the pinned station"),
            ("request-is-a-response.json", "not a request bundle"),
            ("request-wrong-operation.json", "is a rotate-targets request, not rotate-root"),
            ("request-invalid-factory-name.json", "factory name '../acme' is invalid"),
            ("request-confusable-factory-name.json", "has a malformed signature or content"),
            ("request-sequence-zero.json", "sequence must be positive"),
            ("request-sequence-string.json", "field 'sequence' is missing or has the wrong type"),
            ("request-bad-parameters.json", "unsupported key_type 'DSA'"),
        ],
    ),
    *_cases(
        "rotate-root",
        BundleError,
        [
            ("request-replayed.json", "was already answered by this appliance (replayed request)"),
            ("request-sequence-reused.json", "is superseded: this appliance already answered another rotate-root"),
        ],
        setup="completed",
    ),
    *_cases("rotate-root", VerificationError, [("request-wrong-factory.json", "forked history")], setup="completed"),
    *_cases("rotate-root", KeyMissingError, [("request-foreign-root-key.json", "holds 0 of the 1 root private key")]),
    *_cases(
        "rotate-root",
        VerificationError,
        [
            ("request-history-gap.json", "version 3 follows 1"),
            ("request-history-bad-signature.json", "root v2 is not a valid successor of v1"),
            ("request-history-unsigned-v1.json", "root v1 is not signed by its own root keys"),
            ("request-pair-mismatch.json", "differs from CI root v1 in more than the targets threshold"),
            ("request-no-history.json", "no root versions supplied"),
        ],
    ),
    *_cases("rotate-root", MetadataError, [("request-history-malformed-root.json", "does not match its key")]),
    *_cases(
        "import",
        BundleError,
        [
            ("response-truncated.json", "is not valid JSON"),
            ("response-bit-flipped.json", "signature does not verify"),
            ("response-foreign-appliance.json", "not by the pinned appliance"),
            ("response-is-a-request.json", "not a response bundle"),
            ("response-for-other-request.json", "does not answer this request"),
            ("response-unknown-request.json", "was exported by this station"),
            ("response-wrong-factory.json", "response is for factory 'globex'"),
            ("response-wrong-operation.json", "'rotate-targets' does not match the request"),
        ],
    ),
    *_cases(
        "import",
        VerificationError,
        [
            ("response-root-not-signed-by-old-key.json", "signed by 0 of 1 required old root key(s)"),
            ("response-root-version-skip.json", "version 3 does not follow trusted version 1"),
            ("response-root-expired.json", "has expired"),
        ],
    ),
    *_cases(
        "import",
        BundleError,
        [
            ("response-private-key-in-root.json", "carries private key material at result.ci_root.signed.keys."),
            ("response-private-pem-in-new-keys.json", "private key material at result.new_keys[0].note"),
            ("response-unknown-result-field.json", "fields this station does not know: 'upload_to'"),
        ],
    ),
]


# --- the corpus itself -------------------------------------------------------------------


def test_committed_corpus_equals_generator_output() -> None:
    built = build()
    committed = {p.name for p in CORPUS.iterdir()}
    assert committed == set(built), "run scripts/make_bad_corpus.py"
    for name, data in built.items():
        assert (CORPUS / name).read_bytes() == data, f"{name} is stale; run scripts/make_bad_corpus.py"


def test_every_defect_file_has_a_case() -> None:
    covered = {case.file for case in CASES}
    defects = {p.name for p in CORPUS.iterdir()} - BASELINES
    assert defects == covered
    assert len({case.id for case in CASES}) == len(CASES)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.binary(max_size=300),
            st.integers(1, 3000).map(bytes),
            st.tuples(st.integers(0, 255), st.integers(1, 3000)).map(lambda run: bytes([run[0]]) * run[1]),
        ),
        max_size=6,
    )
)
def test_corpus_gzip_writer_round_trips(pieces: list[bytes]) -> None:
    data = b"".join(pieces)
    assert gzip.decompress(gzip_bytes(data)) == data


# --- running the CLIs ------------------------------------------------------------------------


def _snapshot(*roots: Path) -> dict[str, tuple[str, int]]:
    """Every file under ``roots``: path -> (sha256, mode)."""
    out: dict[str, tuple[str, int]] = {}
    for root in roots:
        for path in sorted(root.rglob("*")):
            if path.is_file() or path.is_symlink():
                out[str(path)] = (hashlib.sha256(path.read_bytes()).hexdigest(), path.lstat().st_mode)
    return out


@dataclass
class Outcome:
    returncode: int
    stdout: str
    stderr: str
    before: dict[str, tuple[str, int]]
    after: dict[str, tuple[str, int]]


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TUF_AIRGAP_", "TUF_ONLINE_"))}
    return {**env, **extra}


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


def run_subprocess(tool: str, *args: str, env: dict[str, str] | None = None) -> Result:
    """``python -m <tool> args``: a fresh interpreter, as an operator runs it."""
    done = subprocess.run(
        [sys.executable, "-m", tool, *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=env or clean_env(),
        stdin=subprocess.DEVNULL,
    )
    return Result(done.returncode, done.stdout, done.stderr)


# The fork server imports both CLIs and their heavy dependencies once, then forks one child per
# job.  A child points stdin at /dev/null and stdout/stderr at files, replaces its environment and
# argv, and runs the package's __main__ as `python -m` does; its exit status (137 for a crash
# point) is reported back.  Nothing is registered or run before the fork.
_FORK_SERVER = r"""
import importlib, io, json, os, pkgutil, runpy, sys, time, traceback
for package in ("appliance", "online"):
    for info in pkgutil.walk_packages(importlib.import_module(package).__path__, package + "."):
        if not info.name.endswith("__main__"):
            importlib.import_module(info.name)
for name in ("pydantic", "typer._coercion", "typer._adapters", "tarfile", "gzip", "zipfile", "email.utils"):
    importlib.import_module(name)
reply = sys.stdout
for line in sys.stdin:
    job = json.loads(line)
    reply.flush()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
            os.dup2(os.open(job["stdout"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), 1)
            os.dup2(os.open(job["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), 2)
            sys.stdin = open(0, encoding="utf-8", closefd=False)
            sys.stdout = io.TextIOWrapper(open(1, "wb", closefd=False), encoding="utf-8", line_buffering=True)
            sys.stderr = io.TextIOWrapper(open(2, "wb", closefd=False), encoding="utf-8", line_buffering=True)
            os.chdir(job["cwd"])
            os.environ.clear()
            os.environ.update(job["env"])
            sys.argv = [job["module"], *job["args"]]
            if job.get("trace"):
                # Record every crash point the run passes through, in order.
                from appliance.common import durable
                target, trace = durable.crashpoint.__code__, open(job["trace"], "w")
                def profile(frame, event, arg):
                    if event == "call" and frame.f_code is target:
                        trace.write(frame.f_locals["name"] + "\n")
                        trace.flush()
                sys.setprofile(profile)
            try:
                runpy.run_module(job["module"], run_name="__main__", alter_sys=True)
                code = 0
            except SystemExit as exc:
                if exc.code is None or isinstance(exc.code, int):
                    code = exc.code or 0
                else:
                    sys.stderr.write(f"{exc.code}\n")
        except BaseException:
            traceback.print_exc()
        finally:
            for stream in (sys.stdout, sys.stderr):
                try:
                    stream.flush()
                except Exception:
                    pass
            os._exit(code)
    deadline = time.monotonic() + job["timeout"]
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            _, status = os.waitpid(pid, 0)
            break
        time.sleep(0.002)
    reply.write(json.dumps({"returncode": os.waitstatus_to_exitcode(status)}) + "\n")
    reply.flush()
"""


class ForkServer:
    """A pool of pre-imported fork servers; ``run`` is safe to call from several threads."""

    def __init__(self, workdir: Path, size: int = 2) -> None:
        import queue

        self.workdir = workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._free: queue.Queue[subprocess.Popen[str]] = queue.Queue()
        self._all: list[subprocess.Popen[str]] = []
        self._serials = itertools.count()
        repo = Path(__file__).resolve().parents[2]
        for _ in range(size):
            proc = subprocess.Popen(
                [sys.executable, "-c", _FORK_SERVER],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                cwd=repo,
                env=clean_env(),
            )
            self._all.append(proc)
            self._free.put(proc)

    def run(
        self,
        tool: str,
        *args: str,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
        trace: Path | None = None,
    ) -> Result:
        """Run ``python -m <tool> args`` in a forked child; ``trace`` receives the crash points it passes."""
        serial = next(self._serials)
        out, err = self.workdir / f"{serial}.out", self.workdir / f"{serial}.err"
        job = {
            "module": tool,
            "args": list(args),
            "env": env or clean_env(),
            "cwd": str(cwd or self.workdir),
            "stdout": str(out),
            "stderr": str(err),
            "timeout": TIMEOUT,
            "trace": str(trace) if trace else None,
        }
        proc = self._free.get()
        try:
            assert proc.stdin is not None and proc.stdout is not None
            proc.stdin.write(json.dumps(job) + "\n")
            proc.stdin.flush()
            line = proc.stdout.readline()
        finally:
            self._free.put(proc)
        if not line:
            raise RuntimeError("fork server died")
        result = Result(json.loads(line)["returncode"], out.read_text(), err.read_text())
        out.unlink()
        err.unlink()
        return result

    def close(self) -> None:
        for proc in self._all:
            assert proc.stdin is not None
            proc.stdin.close()
            proc.wait(timeout=10)


class World:
    """Templates of the work tree, and one sandbox server for every case."""

    def __init__(self, base: Path) -> None:
        from online.sandbox.provision import provision_factory
        from online.sandbox.server import SandboxServer
        from tests.conftest import seeded_random

        self.base = base
        self.state = base / "sandbox-state"
        self.tokens = base / "tokens"
        self.tokens.mkdir()
        made = provision_factory(self.state, "acme", base / "acme-creds.tgz", random_bytes=seeded_random(1))
        (self.tokens / "acme").write_text(made.token)
        # One factory per served root defect; the defect becomes its current CI root (v2).
        self.served: dict[str, str] = {}
        for index, case in enumerate(c for c in CASES if c.consumer == "show-root"):
            name = f"served-{index}"
            made = provision_factory(
                self.state, name, base / f"{name}-creds.tgz", random_bytes=seeded_random(100 + index)
            )
            (self.tokens / name).write_text(made.token)
            shutil.copyfile(CORPUS / case.file, self.state / "factories" / name / "ci" / "2.root.json")
            self.served[case.file] = name
        self.forks = ForkServer(base / "fork-io", size=max(2, os.cpu_count() or 1))
        self.server = SandboxServer(self.state)
        self.url = self.server.start()
        try:
            self.templates = {"fresh": self._fresh(base / "fresh")}
            self.templates["completed"] = self._completed(base / "completed")
        except BaseException:
            self.stop()
            raise

    def _fresh(self, tree: Path) -> Path:
        appliance_home = Home(tree / "appliance-home", "appliance")
        appliance_home.create(APPLIANCE)
        appliance_home.pin(STATION.peer)
        appliance_home.set_policy({"require_backup_readback": False})  # not about backups
        station_home = Home(tree / "station-home", "station")
        station_home.create(STATION)
        station_home.pin(APPLIANCE.peer)
        Station(station_home.path).remember_request(OK_REQUEST_ID.hex(), (CORPUS / "ok-request.json").read_bytes())
        keys = tree / "offline-creds.tgz"
        shutil.copyfile(CORPUS / "ok-keys.tgz", keys)
        keys.chmod(0o600)
        (tree / "stick").mkdir()
        return tree

    def _completed(self, tree: Path) -> Path:
        shutil.copytree(self.templates["fresh"], tree)
        shutil.copyfile(CORPUS / "ok-request.json", tree / "stick" / "ok-request.json")
        done = self.forks.run("appliance", *self._rotate_args(tree, tree / "stick" / "ok-request.json"))
        assert done.returncode == 0, done.stderr
        return tree

    @staticmethod
    def _rotate_args(tree: Path, request: Path, keys: Path | None = None) -> list[str]:
        return [
            "rotate-root",
            "--home",
            str(tree / "appliance-home"),
            "--keys",
            str(keys or tree / "offline-creds.tgz"),
            "--request",
            str(request),
            "--out",
            str(tree / "stick"),
            "--yes",
        ]

    def command(self, case: Case, tree: Path) -> tuple[str, list[str]]:
        defect = tree / "stick" / case.file
        if case.consumer == "keys":
            return "appliance", ["keys", "--keys", str(defect)]
        if case.consumer == "keys-root":
            return "appliance", ["keys", "--keys", str(tree / "offline-creds.tgz"), "--root", str(defect)]
        if case.consumer == "show-root":
            name = self.served[case.file]
            return "online", [
                "show-root",
                "--server",
                self.url,
                "--factory",
                name,
                "--token-file",
                str(self.tokens / name),
            ]
        if case.consumer == "rotate-root":
            return "appliance", self._rotate_args(tree, defect)
        if case.consumer == "rotate-root-keys":
            request = tree / "stick" / "ok-request.json"
            shutil.copyfile(CORPUS / "ok-request.json", request)
            return "appliance", self._rotate_args(tree, request, keys=defect)
        assert case.consumer == "import", case.consumer
        return "online", [
            "import",
            str(defect),
            "--server",
            self.url,
            "--token-file",
            str(self.tokens / "acme"),
            "--home",
            str(tree / "station-home"),
        ]

    def run(self, case: Case, *, fresh_interpreter: bool = False) -> Outcome:
        kind = "subprocess" if fresh_interpreter else "forked"
        tree = self.base / kind / case.id.replace("@", "-")
        shutil.copytree(self.templates[case.setup], tree)
        shutil.copyfile(CORPUS / case.file, tree / "stick" / case.file)
        tool, args = self.command(case, tree)
        before = _snapshot(tree, self.state)
        result = run_subprocess(tool, *args) if fresh_interpreter else self.forks.run(tool, *args)
        after = _snapshot(tree, self.state)
        # Paths in messages name the case's own tree; make them comparable between runs.
        stderr = result.stderr.replace(str(tree), "<tree>")
        return Outcome(result.returncode, result.stdout, stderr, before, after)

    def stop(self) -> None:
        self.forks.close()
        self.server.stop()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    made = World(tmp_path_factory.mktemp("hostile"))
    try:
        yield made
    finally:
        made.stop()


FIDELITY = [next(c for c in CASES if c.consumer == consumer) for consumer in dict.fromkeys(c.consumer for c in CASES)]


@dataclass
class Outcomes:
    forked: dict[str, Outcome]
    plain: dict[str, Outcome]  # the FIDELITY cases again, each in a fresh interpreter


@pytest.fixture(scope="module")
def outcomes(world: World) -> Outcomes:
    """Run every case (and the plain-subprocess checks), as many at a time as there are CPUs."""
    jobs = [(case, False) for case in CASES] + [(case, True) for case in FIDELITY]
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 1)) as pool:
        done = list(pool.map(lambda job: world.run(job[0], fresh_interpreter=job[1]), jobs))
    result = Outcomes({}, {})
    for (case, plain), outcome in zip(jobs, done, strict=True):
        (result.plain if plain else result.forked)[case.id] = outcome
    return result


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_input_is_refused_cleanly(case: Case, outcomes: Outcomes) -> None:
    outcome = outcomes.forked[case.id]
    assert "Traceback" not in outcome.stderr, outcome.stderr
    lines = outcome.stderr.splitlines()
    assert len(lines) == 2, outcome.stderr
    error, hint = lines
    assert error.startswith("error: ") and case.fragment in error, outcome.stderr
    assert hint.startswith("hint: ") and len(hint) > len("hint: "), outcome.stderr
    assert outcome.returncode == case.error.exit_code, outcome.stderr
    assert outcome.after == outcome.before, "a refused input changed files"
    # Outside text is echoed literally and briefly: no terminal escape, no multi-megabyte names.
    assert len(outcome.stderr) < 5000, len(outcome.stderr)
    assert not any(ch in outcome.stderr + outcome.stdout for ch in UNSAFE_ON_SCREEN), outcome.stderr


@pytest.mark.parametrize("case", FIDELITY, ids=[c.id for c in FIDELITY])
def test_fresh_interpreter_gives_the_same_result(case: Case, outcomes: Outcomes) -> None:
    """The fork server is only a faster way to start the CLI: a plain `python -m` run must agree."""
    plain, forked = outcomes.plain[case.id], outcomes.forked[case.id]
    assert (plain.returncode, plain.stdout, plain.stderr) == (forked.returncode, forked.stdout, forked.stderr)
    assert plain.after == plain.before
