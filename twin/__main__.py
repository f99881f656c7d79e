"""`python -m twin`: the `servetwin` command line, for when the console script is not on PATH."""
import sys

from twin.cli import main

sys.exit(main())
