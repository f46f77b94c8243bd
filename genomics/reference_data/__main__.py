"""``python -m genomics.reference_data [--data DIR] [--out DIR]``: rebuild the shipped reference tables."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from genomics.reference_data import SHIPPED_DIR
from genomics.reference_data.derive import derive_all
from genomics.settings import get_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m genomics.reference_data", description=__doc__)
    parser.add_argument("--data", default=None, help="the reference data folder (default: the configured one)")
    parser.add_argument("--out", default=str(SHIPPED_DIR), help="output folder (default: the package's own)")
    args = parser.parse_args(argv)
    data = Path(args.data) if args.data else get_settings().data_dir
    if data is None or not data.is_dir():
        print("error: no reference data folder: pass --data or set ONCOTX_DATA", file=sys.stderr)
        return 2
    for path in derive_all(data, Path(args.out)):
        print(f"{path} ({path.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
