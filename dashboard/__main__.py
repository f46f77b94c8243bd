import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before xgboost/torch/sklearn load libgomp

from dashboard.cli import main

raise SystemExit(main())
