from store.importers.cli import main

raise SystemExit(main())
