"""The README shows the very Postfix configuration the end-to-end tests use."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
SAMPLES = sorted((ROOT / "samples" / "postfix").iterdir())


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_every_postfix_sample_is_in_the_readme_verbatim(path: Path) -> None:
    assert f"`samples/postfix/{path.name}`:\n\n```\n{path.read_text()}```\n" in README


def test_readme_starts_with_the_two_commands() -> None:
    lines = README.split("```sh\n", 1)[1].split("```", 1)[0].splitlines()
    assert [line.split()[:2] for line in lines] == [["make", "demo"], ["make", "test"]]


def test_ci_runs_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "\nmake test\n" in ci
