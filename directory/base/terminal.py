"""What reaches the operator's terminal: text from peers and records, with its control characters escaped.

A peer's id, a record's id or name, or an error a peer provoked can carry escape sequences
(`\\x1b]0;...\\x07` retitles the terminal, others rewrite the screen or worse) and bidi overrides
or zero-width characters that make one id read as another. Every CLI verb prints through `out`
and every log line goes through `SafeFormatter`, which show such characters as visible escapes
(`\\x1b`, `\\u202e`) instead of passing them on.
"""

from __future__ import annotations

import logging
import re
import select
import sys
from typing import Any, TextIO

# C0 controls, DEL and C1 controls; line and paragraph separators; bidi marks, embeddings, overrides
# and isolates; zero-width and invisible formatting characters (the byte order mark, the soft hyphen).
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")
_KEPT = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def safe(text: object, lines: bool = False) -> str:
    """The text with every control, bidi and zero-width character shown as an escape.

    With `lines`, line breaks and tabs are kept: for a whole message we composed, whose values
    were already made safe or hold no line breaks of their own.
    """
    return (_KEPT if lines else _UNSAFE).sub(_escape, str(text))


def out(*parts: object, file: TextIO | None = None, end: str = "\n", sep: str = " ", flush: bool = False) -> None:
    """`print` for the CLI: what it writes cannot drive the terminal."""
    stream = file if file is not None else sys.stdout
    stream.write(safe(sep.join(str(p) for p in parts), lines=True) + end)
    if flush:
        stream.flush()


def reader_gone(stream: TextIO | None = None) -> bool:
    """True when nothing reads `stream` (stdout) any more: the pipe's other end closed, as `head`
    closes it once it has its lines. Told apart from a broken pipe of our own by asking the pipe."""
    try:
        fd = (stream if stream is not None else sys.stdout).fileno()
    except (OSError, ValueError):  # closed, or no file at all
        return True
    poll = select.poll()
    poll.register(fd, select.POLLOUT)
    return any(events & (select.POLLERR | select.POLLHUP) for _, events in poll.poll(0))


class SafeFormatter(logging.Formatter):
    """A log line with its control characters escaped: the message stays one line (a peer's text
    in it cannot start a forged line of its own), a traceback keeps its line breaks."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        return safe(super().formatMessage(record))

    def formatException(self, ei: Any) -> str:
        return safe(super().formatException(ei), lines=True)

    def formatStack(self, stack_info: str) -> str:
        return safe(super().formatStack(stack_info), lines=True)


def install_log_escaping(stream: TextIO | None = None) -> logging.Handler:
    """Send the `directory.*` loggers' lines to stderr through `SafeFormatter` (once per process).

    Without a handler, Python's last-resort handler would write them raw.
    """
    logger = logging.getLogger("directory")
    for handler in logger.handlers:
        if isinstance(handler.formatter, SafeFormatter):
            return handler
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(SafeFormatter("%(name)s %(levelname)s: %(message)s"))
    logger.addHandler(handler)
    return handler
