"""``python -m naah``: the ``naah`` command."""

import sys

from naah.cli import main

if __name__ == "__main__":
    sys.exit(main())
