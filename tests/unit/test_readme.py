"""The README's promises that code can check: the config reference and the commands."""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path

README = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")


def test_every_shipped_config_field_is_in_the_readme_reference():
    defaults = tomllib.loads(resources.files("kiosk").joinpath("defaults.toml").read_text())
    missing = [
        f"[{section}] {name}"
        for section, fields in defaults.items()
        for name in fields
        if f"`{name}`" not in README
    ]
    assert missing == [], missing


def test_every_kiosk_subcommand_is_in_the_readme():
    from kiosk.cli import build_parser

    parser = build_parser()
    commands = next(a for a in parser._actions if a.dest == "command").choices
    assert [c for c in commands if f"`kiosk {c}" not in README] == []


def test_the_readme_names_the_two_commands():
    assert "make demo" in README and "make test" in README


def test_every_table_in_the_readme_starts_with_a_header_row():
    """A blank line or a paragraph inside a table leaves rows with no header: Markdown
    then shows them as plain text with pipes."""
    lines = README.splitlines()
    headless = [
        number
        for number, line in enumerate(lines, 1)
        if line.startswith("|")
        and not lines[number - 2].startswith("|")
        and not (number < len(lines) and lines[number].startswith("| ---"))
    ]
    assert headless == [], f"table rows without a header at README lines {headless}"


def test_texts_a_user_reads_describe_the_software_not_how_it_was_made():
    """Benchmark history lives in bench/README.md as method and results; nothing a user
    reads speaks of work sessions or issue numbers."""
    import re

    root = Path(__file__).parents[2]
    texts = [root / "README.md", root / "bench" / "README.md", root / "bench" / "results" / "latest.json"]
    texts += sorted((root / "bench").glob("*.py"))
    talk = re.compile(r"\b(this|last|next|previous) session\b|\bsession \d+\b|\bissue \d+\b", re.I)
    found = [
        f"{path.relative_to(root)}:{number}"
        for path in texts
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if talk.search(line)
    ]
    assert found == [], found
