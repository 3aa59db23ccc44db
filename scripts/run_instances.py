"""The further strategy instances of a run: [strategy-<name>] sections of the settings.

Each runs as its own supervisord program `strategy-<name>` (scripts/service strategy
--instance <name>), configured like [program:strategy] in deploy/supervisord.conf: scripts/run
writes those programs into <run dir>/supervisord-strategies.conf, which deploy/supervisord.conf
includes. Each instance has its own strategy id (the orderLinkId prefix), metrics port and
bus endpoints for its events and snapshot (instance_endpoints).
"""

import json
import re
from pathlib import Path
from typing import Any, Final

from services.strategy.settings import StrategySettings
from shared.settings import (
    INSTANCE_PREFIX,
    REPO_ROOT,
    SettingsError,
    instance_endpoints,
    load_section,
    strategy_instances,
)

CONF: Final = REPO_ROOT / "deploy" / "supervisord.conf"
INCLUDE: Final = "supervisord-strategies.conf"  # in the run dir; deploy/supervisord.conf reads it
_TEMPLATE: Final = "[program:strategy]\n"


def program(instance: str) -> str:
    return f"{INSTANCE_PREFIX}{instance}"


def is_instance_program(name: str) -> bool:
    return name.startswith(INSTANCE_PREFIX)


def check_instances(path: Path, sections: dict[str, Any]) -> dict[str, StrategySettings]:
    """Each [strategy-<name>] decoded as the instance will decode it, with its own bus
    endpoints; `sections` (the checked settings) get one entry per instance section.

    Raises SettingsError naming the key: a section that does not decode, a tcp strategy
    endpoint, or a strategy-id another instance already has.
    """
    instances: dict[str, StrategySettings] = {}
    ids = {sections["strategy"].strategy_id: "strategy"}
    for name in strategy_instances(path):
        section = program(name)
        settings = load_section(section, StrategySettings, path)
        instance_endpoints(sections["bus"].endpoints, name)
        if settings.strategy_id in ids:
            raise SettingsError(
                f"{path}: key [{section}] strategy-id: {settings.strategy_id!r} is also"
                f" [{ids[settings.strategy_id]}]'s; each instance needs its own (it prefixes"
                " its orderLinkIds and the executor tells the strategies apart by it)"
            )
        ids[settings.strategy_id] = section
        instances[name] = settings
        sections[section] = settings
    return instances


def instance_ports(instances: dict[str, StrategySettings]) -> list[tuple[str, str, int]]:
    """(what, host, port) of each instance's metrics port, for scripts/preflight's check."""
    return [
        (f"[{program(name)}] metrics-port", "127.0.0.1", settings.metrics_port)
        for name, settings in instances.items()
    ]


def programs_text(instances: list[str], conf: Path = CONF) -> str:
    """The supervisord programs of `instances`, each a copy of [program:strategy] in `conf`
    with its own name, command, priority (just after the strategy's) and log file."""
    text = conf.read_text()
    start = text.find(_TEMPLATE)
    if start < 0:
        raise SettingsError(f"{conf}: no {_TEMPLATE.strip()} to copy for the strategy instances")
    end = text.find("\n[", start + len(_TEMPLATE))
    template = text[start : len(text) if end < 0 else end + 1]
    blocks = [f"; Written by scripts/run from [strategy-<name>] sections of the settings; {conf}\n"]
    for offset, name in enumerate(instances, start=1):
        block = template.replace(_TEMPLATE, f"[program:{program(name)}]\n")
        block = _sub(block, "command", f"{REPO_ROOT}/scripts/service strategy --instance {name}")
        block = _sub(block, "directory", str(REPO_ROOT))
        block = _sub(block, "priority", str(50 + offset))
        block = _sub(block, "stdout_logfile", f"%(ENV_TRADING_RUN_DIR)s/logs/{program(name)}.log")
        blocks.append("\n" + block)
    return "".join(blocks)


def _sub(block: str, key: str, value: str) -> str:
    pattern = re.compile(rf"(?m)^{re.escape(key)} = .*$")
    if not pattern.search(block):
        raise SettingsError(f"{CONF}: [program:strategy] has no {key} line to copy")
    return pattern.sub(lambda _: f"{key} = {value}", block, count=1)


def write_programs(run_dir: Path, instances: list[str]) -> Path:
    """Write <run dir>/supervisord-strategies.conf (no program when `instances` is empty, so
    that an earlier run's instances do not come back)."""
    path = run_dir / INCLUDE
    path.write_text(programs_text(instances))
    path.chmod(0o600)
    return path


SCRAPE_TARGETS: Final = "prometheus-strategies.json"  # deploy/prometheus.yml's file_sd list


def write_scrape_targets(run_dir: Path, ports: dict[str, int]) -> Path:
    """Write <run dir>/prometheus-strategies.json: each instance program's metrics port as
    a Prometheus file_sd target (an empty list without instances, so none lingers)."""
    targets = [
        {"targets": [f"127.0.0.1:{port}"], "labels": {"program": name}}
        for name, port in sorted(ports.items())
    ]
    path = run_dir / SCRAPE_TARGETS
    path.write_text(json.dumps(targets, indent=2) + "\n")
    return path
