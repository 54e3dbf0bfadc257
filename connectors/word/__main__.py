"""`python -m connectors.word OUT.docx`: write the default report template, for a council to restyle in
Word and supply as KCPF_REPORT_TEMPLATE."""

from __future__ import annotations

import sys
from pathlib import Path

from connectors.word.template import default_template

if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m connectors.word OUT.docx")
    Path(sys.argv[1]).write_bytes(default_template())
    print(f"Wrote the default report template to {sys.argv[1]}.")
