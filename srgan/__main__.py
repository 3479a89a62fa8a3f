"""`python -m srgan ...`: see `srgan/cli.py`."""

from .cli import main

raise SystemExit(main())
