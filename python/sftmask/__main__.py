import sys

from sftmask.cli import main

sys.exit(main())
