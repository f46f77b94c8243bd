import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before xgboost/torch/sklearn load libgomp

from genomics.cli import main

raise SystemExit(main())
