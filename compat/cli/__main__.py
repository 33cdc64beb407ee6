"""``python -m compat.cli``."""

from . import main

# guarded: `serve --workers N` spawns processes that import this module as __mp_main__
if __name__ == "__main__":
    raise SystemExit(main())
