"""One line per log event: time, level, service, pid, logger, then key=value text."""

import logging
import sys
import time
from typing import Final

_FORMAT: Final = (
    "%(asctime)s.%(msecs)03dZ %(levelname)s service=%(service)s pid=%(process)d "
    "%(name)s: %(message)s"
)


class _OneLineFormatter(logging.Formatter):
    """Keep every record on one line: tracebacks are folded with " | "."""

    def __init__(self, service: str) -> None:
        super().__init__(_FORMAT, datefmt="%Y-%m-%dT%H:%M:%S")
        self.converter = time.gmtime
        self._service = service

    def format(self, record: logging.LogRecord) -> str:
        record.service = self._service
        return super().format(record).replace("\n", " | ")


def configure_logging(service: str, level: str = "INFO") -> None:
    """Send every log record of this process to stderr as one line, tagged with `service`."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_OneLineFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
