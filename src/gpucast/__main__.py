"""``python -m gpucast`` runs the CLI."""

from gpucast.cli.main import main

raise SystemExit(main())
