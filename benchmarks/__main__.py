"""``python -m benchmarks``: SCEP issuance (benchmarks/run.py); ``--all``: every benchmark,
one table (benchmarks/all.py)."""

import sys

if "--all" in sys.argv[1:]:
    from benchmarks.all import main as run_all

    sys.exit(run_all([a for a in sys.argv[1:] if a != "--all"]))

from benchmarks.run import main

sys.exit(main())
