"""Lifecycle, logging, metrics, clock and backoff shared by every service."""

from shared.runtime.backoff import backoff_delays
from shared.runtime.clock import Clock, FakeClock, LiveClock
from shared.runtime.logging import configure_logging
from shared.runtime.service import Service, run_blocking, run_main, run_service

__all__ = [
    "Clock",
    "FakeClock",
    "LiveClock",
    "Service",
    "backoff_delays",
    "configure_logging",
    "run_blocking",
    "run_main",
    "run_service",
]
