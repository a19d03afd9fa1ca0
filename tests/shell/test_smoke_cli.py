import subprocess
import sys


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=60)


def test_appliance_help_lists_commands() -> None:
    out = run("-m", "appliance", "--help")
    assert out.returncode == 0
    assert "keys" in out.stdout


def test_missing_file_is_clean_error(tmp_path) -> None:
    out = run("-m", "appliance", "keys", "--keys", str(tmp_path / "nope.tgz"))
    assert out.returncode == 2
    assert out.stderr.startswith("error: keys tarball")
    assert "Traceback" not in out.stderr
