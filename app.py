"""SRGAN Studio's teaching app, for `python app.py`, `make run` and Hugging Face Spaces: see ui/app.py (its tabs)."""

import sys

from ui.app import main

if __name__ == "__main__":
    sys.exit(main())
