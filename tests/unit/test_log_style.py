"""One log style: every kiosk module logs through `getLogger(__name__)`, every message is
`event=<what> key=value ...`, and the formatter writes each record as one key=value line."""

from __future__ import annotations

import ast
import io
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.logs import configure_logging
from tests.support.log_lines import KEY_VALUE_LINE

KIOSK = Path(__file__).parents[2] / "kiosk"
LEVELS = {"debug", "info", "warning", "error", "exception", "critical", "log"}
# a value in a message template: a %-placeholder, a literal word, or both (stamps=%d/%d)
TEMPLATE = re.compile(r"^event=[a-z_]+( [a-z_]+=(%[-.0-9]*[sdrf]|[A-Za-z0-9_./:-])+)*$")



def modules() -> list[Path]:
    return sorted(p for p in KIOSK.rglob("*.py") if ".venv" not in p.parts)


def log_calls(tree: ast.AST) -> list[ast.Call]:
    return [
        node for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name) and node.func.value.id == "log"
        and node.func.attr in LEVELS
    ]


def test_every_kiosk_logger_is_named_after_its_module():
    named = []
    for path in modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "getLogger":
                arg = node.args[0] if node.args else None
                if path.name == "logs.py" and (arg is None or isinstance(arg, ast.Constant)):
                    continue  # the logging setup tunes the root and nfcpy's loggers
                named.append((path.name, isinstance(arg, ast.Name) and arg.id == "__name__"))
    assert named and all(ok for _, ok in named), [name for name, ok in named if not ok]


def test_every_kiosk_log_message_is_an_event_with_key_value_pairs():
    bad = []
    for path in modules():
        for call in log_calls(ast.parse(path.read_text(encoding="utf-8"))):
            template = call.args[1] if call.func.attr == "log" else call.args[0]  # type: ignore[attr-defined]
            if not (isinstance(template, ast.Constant) and TEMPLATE.match(str(template.value))):
                bad.append(f"{path.relative_to(KIOSK)}:{call.lineno}")
    assert bad == []


@pytest.fixture
def written() -> Iterator[io.StringIO]:
    """What the daemon's log setup writes, into a string."""
    touched = [logging.getLogger(name) for name in ("", "nfc", "nfc.clf")]
    levels = [logger.level for logger in touched]
    stream = io.StringIO()
    handler = configure_logging("INFO", stream)
    yield stream
    logging.getLogger().removeHandler(handler)
    for logger, level in zip(touched, levels, strict=True):
        logger.setLevel(level)


def test_a_kiosk_event_is_written_as_one_key_value_line(written):
    logging.getLogger("kiosk.app").info("event=tap card=%s problem=%r", "3c44dd30", "it's two\nlines")
    line = written.getvalue()
    assert line.count("\n") == 1 and KEY_VALUE_LINE.match(line.rstrip("\n")), line
    assert line.startswith("level=info logger=kiosk.app event=tap card=3c44dd30 problem=")


def test_a_value_that_spans_lines_stays_on_its_events_line(written):
    logging.getLogger("kiosk.app").info("event=start kiosk=%s", "shop\nlevel=error forged=1")
    assert written.getvalue() == "level=info logger=kiosk.app event=start kiosk=shop\\nlevel=error forged=1\n"


def test_a_librarys_prose_is_quoted_as_one_value(written):
    logging.getLogger("nfc.clf").warning("no reader found on %s", "usb:054c")
    assert written.getvalue() == "level=warning logger=nfc.clf message='no reader found on usb:054c'\n"


def test_a_traceback_stays_on_the_line_of_its_event(written):
    try:
        raise ValueError("bad\nthing")
    except ValueError:
        logging.getLogger("kiosk.adapters.reader").exception("event=read handler=failed kind=%s", "ntag213")
    line = written.getvalue()
    assert line.count("\n") == 1 and KEY_VALUE_LINE.match(line.rstrip("\n")), line
    assert "traceback='Traceback" in line and "ValueError" in line


def test_the_daemons_log_setup_spends_no_stack_walk_on_where_a_line_was_logged(written):
    seen: list[logging.LogRecord] = []
    catcher = logging.Handler()
    catcher.emit = seen.append  # type: ignore[method-assign]
    logging.getLogger().addHandler(catcher)
    try:
        logging.getLogger("kiosk.app").info("event=tap card=%s", "3c44dd30")
    finally:
        logging.getLogger().removeHandler(catcher)
    [record] = seen
    assert (record.lineno, record.funcName) == (0, "(unknown function)")
    assert written.getvalue() == "level=info logger=kiosk.app event=tap card=3c44dd30\n"
