"""``python -m compat.cli``."""

from . import main

raise SystemExit(main())
