"""The recorder's section of deploy/settings.toml."""

from pathlib import Path
from typing import Annotated

import msgspec

from shared.settings import ServiceSettings


class RecorderSettings(ServiceSettings, frozen=True, kw_only=True):
    """Where the recordings go, how long they stay, how much a crash may lose."""

    recordings_dir: Annotated[str, msgspec.Meta(min_length=1)] = "recordings"  # run-dir relative
    keep_days: Annotated[int, msgspec.Meta(ge=0, le=36_500)] = 30  # today included; 0: forever
    flush_interval_s: Annotated[float, msgspec.Meta(gt=0, le=60)] = 1.0  # what a crash may lose
    compress_level: Annotated[int, msgspec.Meta(ge=1, le=9)] = 6  # gzip: 1 fastest, 9 smallest

    def root(self, run_dir: Path) -> Path:
        """The recordings directory: `recordings-dir`, under the run dir unless absolute."""
        configured = Path(self.recordings_dir)
        return configured if configured.is_absolute() else run_dir / configured
