"""``python -m benchmarks``: every benchmark, one table (benchmarks/all.py)."""

import sys

from benchmarks.all import main

sys.exit(main())
