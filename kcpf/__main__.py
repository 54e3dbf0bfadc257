import sys

from kcpf.cli import main

sys.exit(main())
