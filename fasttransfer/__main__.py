import sys

from fasttransfer.cli import main

sys.exit(main())
