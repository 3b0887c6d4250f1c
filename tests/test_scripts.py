"""The set-up scripts' step helper (scripts/lib/steps.sh), run by a real bash."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STEPS = ROOT / "scripts" / "lib" / "steps.sh"


def _run(tmp_path: Path, body: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    log = tmp_path / "logs" / "demo.log"
    script = f"set -euo pipefail\nsource {STEPS}\nsteps_begin demo {log}\n{body}\n"
    done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    return done, log


def test_a_failing_step_names_itself_and_the_log(tmp_path: Path) -> None:
    done, log = _run(tmp_path, """
        noisy() { echo "compiler noise"; echo "error: the real cause" >&2; return 3; }
        step "first step" true
        step "python dependencies" noisy
        step "never reached" true
    """)
    out = done.stdout + done.stderr
    assert done.returncode == 3
    assert "demo: first step ... ok (" in done.stdout
    assert "demo: python dependencies ... failed after" in done.stdout
    assert f'step "python dependencies" failed (exit 3); its whole output is in {log}' in done.stderr
    assert "  | error: the real cause" in done.stdout  # the log's last lines are shown
    assert "never reached" not in out
    assert "compiler noise" in log.read_text()


def test_a_step_stops_at_its_first_failing_command(tmp_path: Path) -> None:
    done, _ = _run(tmp_path, """
        two_commands() { false; echo "ran past the failure" > {marker}; }
        step "two commands" two_commands
    """.replace("{marker}", str(tmp_path / "marker")))
    assert done.returncode == 1
    assert not (tmp_path / "marker").exists()
    assert 'step "two commands" failed' in done.stderr


def test_steps_print_one_line_each_and_keep_their_output_in_the_log(tmp_path: Path) -> None:
    done, log = _run(tmp_path, """
        step "quiet step" bash -c 'echo "pip wall of text"; echo "deprecation wall" >&2'
        step --show "shown step" echo "result: out/lesson"
        step --may-fail "optional check" false
        echo "status $step_status"
        step_skip "python dependencies" "up to date"
        steps_end
    """)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("demo: quiet step ... ok (") and lines[0].endswith(" s)")
    assert lines[1].startswith("demo: shown step ... ok (")
    assert lines[2] == "  result: out/lesson"
    assert lines[3].startswith("demo: optional check ... failed after")
    assert "status 1" in lines
    assert "demo: python dependencies ... up to date" in lines
    assert lines[-1].startswith("demo: done in ") and lines[-1].endswith(f"; log: {log}")
    assert "wall" not in done.stdout + done.stderr
    text = log.read_text()
    assert "pip wall of text" in text and "deprecation wall" in text
