"""Write tests/contract/golden/<Kind>.msgpack from tests/helpers/samples.py.

Run only after an intended schema change, and review the diff: a changed golden file
means old bytes would no longer read the same.
Usage: PYTHONPATH=. .venv/bin/python scripts/update_golden_messages.py
"""

import sys
from pathlib import Path

from shared.schema import encode_body
from tests.helpers.samples import SAMPLES

GOLDEN_DIR = Path(__file__).resolve().parent.parent / "tests" / "contract" / "golden"


def main() -> int:
    GOLDEN_DIR.mkdir(parents=True, exist_ok=True)
    for kind, message in SAMPLES.items():
        path = GOLDEN_DIR / f"{kind}.msgpack"
        data = encode_body(message)
        if path.exists() and path.read_bytes() == data:
            continue
        path.write_bytes(data)
        print(f"wrote {path.relative_to(GOLDEN_DIR.parent.parent.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
