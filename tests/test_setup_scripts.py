"""The two README commands: how scripts/setup finds Python and how scripts/test treats PostgreSQL.

The interpreter finder runs against fake interpreters on a PATH made only of the tools the
script needs, so whatever Pythons this machine has cannot leak into the answer.
"""

# ruff: noqa: S603 - these tests run the project's own scripts with fixed arguments.
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SETUP = ROOT / "scripts" / "setup"
TEST = ROOT / "scripts" / "test"
BASH = shutil.which("bash")
TOOLS = ("bash", "sh", "sed", "sort", "tr", "cat", "dirname", "env")

pytestmark = pytest.mark.skipif(BASH is None, reason="the scripts are bash scripts")

FAKE_PYTHON = """#!/bin/sh
# A stand-in for Python {major}.{minor}: the real interpreter, told it is that version.
if [ "$1" = "-c" ]; then
    exec {real} -c "import sys; sys.version_info = ({major}, {minor}, 0, 'final', 0); \
sys.executable = '$0'; exec(compile(sys.argv[1], '<string>', 'exec'))" "$2"
fi
exec {real} "$@"
"""

REFUSING_SHIM = """#!/bin/sh
# What a pyenv shim does when no installed version providing it is selected.
echo "pyenv: $(basename "$0"): command not found" >&2
exit 127
"""

FAKE_PYENV = """#!/bin/sh
case "$1" in
    root) echo {root} ;;
    versions) cat {root}/version-list ;;
    exec) shift 2; exec {root}/exec-only/$PYENV_VERSION/python "$@" ;;
    *) exit 1 ;;
esac
"""


def write_executable(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o755)
    return path


def fake_python(path, version):
    major, minor = version.split(".")[:2]
    return write_executable(
        path, FAKE_PYTHON.format(real=sys.executable, major=int(major), minor=int(minor))
    )


@pytest.fixture
def machine(tmp_path):
    """A fake machine: `bin` is the whole PATH; `add_pyenv` installs a fake pyenv."""

    class Machine:
        bin = tmp_path / "bin"
        pyenv_root = tmp_path / "pyenv"

        def __init__(self):
            self.bin.mkdir()
            for tool in TOOLS:
                found = shutil.which(tool)
                if found:
                    (self.bin / tool).symlink_to(found)

        def add_python(self, name, version):
            return fake_python(self.bin / name, version)

        def add_refusing_shim(self, name):
            write_executable(self.bin / name, REFUSING_SHIM)

        def add_pyenv(self, installed=(), exec_only=()):
            """`installed` have versions/<v>/bin/python; `exec_only` only work via pyenv exec."""
            write_executable(self.bin / "pyenv", FAKE_PYENV.format(root=self.pyenv_root))
            for version in installed:
                fake_python(self.pyenv_root / "versions" / version / "bin" / "python", version)
            for version in exec_only:
                fake_python(self.pyenv_root / "exec-only" / version / "python", version)
            listed = ["system", *installed, *exec_only, "pypy3.10-7.3.12"]
            (self.pyenv_root / "version-list").write_text("\n".join(listed) + "\n")

        def print_python(self, **env):
            return subprocess.run(
                [BASH, str(SETUP), "--print-python"],
                env={"PATH": str(self.bin), "HOME": str(tmp_path), **env},
                capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
            )

    return Machine()


def test_path_python3_too_old_and_refusing_shim_fall_back_to_newest_pyenv(machine):
    machine.add_python("python3", "3.11")
    machine.add_refusing_shim("python3.12")
    machine.add_refusing_shim("python3.13")
    machine.add_pyenv(installed=("3.9.18", "3.11.7", "3.12.1", "3.13.0"))

    result = machine.print_python()

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(machine.pyenv_root / "versions/3.13.0/bin/python")


def test_pyenv_version_without_a_direct_binary_is_run_through_pyenv_exec(machine):
    machine.add_python("python3", "3.11")
    machine.add_pyenv(installed=("3.11.7",), exec_only=("3.12.4",))

    result = machine.print_python()

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(machine.pyenv_root / "exec-only/3.12.4/python")


def test_a_suitable_python_on_path_wins_over_pyenv(machine):
    machine.add_python("python3", "3.11")
    on_path = machine.add_python("python3.12", "3.12")
    machine.add_pyenv(installed=("3.13.0",))

    result = machine.print_python()

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(on_path)


def test_plain_python3_is_used_when_it_is_new_enough(machine):
    python3 = machine.add_python("python3", "3.13")
    result = machine.print_python()
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(python3)


def test_nothing_suitable_exits_1_and_says_what_to_install(machine):
    machine.add_python("python3", "3.11")
    machine.add_refusing_shim("python3.12")
    machine.add_pyenv(installed=("3.10.13", "3.11.7"))

    result = machine.print_python()

    assert result.returncode == 1
    assert result.stdout == ""
    assert "needs Python 3.12 or newer" in result.stderr
    assert "pyenv install 3.13" in result.stderr
    assert "3.11.7" in result.stderr  # it says what it did find


def test_no_python_and_no_pyenv_exits_1(machine):
    result = machine.print_python()
    assert result.returncode == 1
    assert "pyenv is not installed" in result.stderr
    assert "apt-get install python3.12" in result.stderr


def test_jalin_python_overrides_the_search(machine):
    machine.add_pyenv(installed=("3.13.0",))
    chosen = fake_python(machine.bin.parent / "elsewhere" / "python", "3.12")

    assert machine.print_python(JALIN_PYTHON=str(chosen)).stdout.strip() == str(chosen)

    too_old = fake_python(machine.bin.parent / "old" / "python", "3.11")
    result = machine.print_python(JALIN_PYTHON=str(too_old))
    assert result.returncode == 1
    assert "not a working Python 3.12 or newer" in result.stderr


def test_setup_rejects_unknown_options():
    result = subprocess.run(
        [BASH, str(SETUP), "--serve-forever"], capture_output=True, text=True, timeout=30,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 2
    assert "Unknown option: --serve-forever" in result.stderr


# --- scripts/test -------------------------------------------------------------------------------


def closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def preflight(**env):
    base = {k: v for k, v in os.environ.items()
            if k not in {"CI", "JALIN_REQUIRE_POSTGRES", "JALIN_TEST_DATABASE_URL"}}
    return subprocess.run(
        [BASH, str(TEST), "--postgres-preflight"],
        env={**base, "JALIN_VENV": sys.prefix, **env},
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
    )


def test_unreachable_postgres_is_skipped_plainly_for_a_newcomer():
    url = f"postgres://postgres@127.0.0.1:{closed_port()}/jalin"
    result = preflight(JALIN_TEST_DATABASE_URL=url)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("PostgreSQL pass SKIPPED: not reachable at " + url)


@pytest.mark.parametrize("required", [{"CI": "true"}, {"JALIN_REQUIRE_POSTGRES": "1"}])
def test_unreachable_postgres_fails_in_ci(required):
    url = f"postgres://postgres:s3cret@127.0.0.1:{closed_port()}/jalin"
    result = preflight(JALIN_TEST_DATABASE_URL=url, **required)
    assert result.returncode == 2
    assert "ERROR: PostgreSQL is not reachable" in result.stderr
    assert "SKIPPED" not in result.stdout
    assert "s3cret" not in result.stderr  # the password is not printed


@pytest.mark.parametrize(("exit_code", "expected", "failed"), [
    (0, "passed", "0"),
    (5, "no tests collected", "0"),
    (1, "FAILED (pytest exit 1)", "1"),
    (2, "FAILED (pytest exit 2)", "1"),
])
def test_pytest_exit_codes_in_the_summary(exit_code, expected, failed):
    script = f'source "{TEST}"; FAILED=0; run_pytest SQLite sh -c "exit {exit_code}"; ' \
             'echo "result=$RESULT failed=$FAILED"'
    result = subprocess.run([BASH, "-c", script], capture_output=True, text=True, timeout=30)
    assert result.stdout.strip().splitlines()[-1] == f"result={expected} failed={failed}"


# --- README -------------------------------------------------------------------------------------


def readme_section(title):
    text = (ROOT / "README.md").read_text()
    start = text.index(f"## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end != -1 else None]


def test_readme_quick_start_is_the_two_commands_and_ci_runs_the_second():
    quick_start = readme_section("Quick start")
    block = quick_start.split("```sh\n", 1)[1].split("```", 1)[0]
    assert block.splitlines() == ["./scripts/setup", "./scripts/test"]
    assert quick_start.count("```sh") == 1
    assert "./scripts/test" in (ROOT / ".ci" / "run").read_text().splitlines()
    assert "SKIPPED" in quick_start


def test_readme_permission_table_matches_roles():
    from jalin.tenancy.roles import PERMISSIONS, Role

    lines = [line for line in readme_section("What is there").splitlines()
             if line.startswith("| ")]
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    assert header == ["Permission", *Role.values]
    documented = {}
    for line in lines[1:]:
        perm, *marks = [cell.strip() for cell in line.strip("|").split("|")]
        documented[perm.strip("`")] = {
            role for role, mark in zip(Role.values, marks, strict=True) if mark
        }
    every_perm = set().union(*PERMISSIONS.values())
    assert set(documented) == every_perm
    for perm, roles in documented.items():
        assert roles == {role for role in Role.values if perm in PERMISSIONS[role]}, perm
