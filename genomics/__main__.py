from genomics.cli import main

raise SystemExit(main())
