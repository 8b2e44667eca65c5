import sys

from stag.cli import main

sys.exit(main(["bench", *sys.argv[1:]]))
