from prepaid.cli.main import main

raise SystemExit(main())
