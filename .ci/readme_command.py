"""Print the shell command README.md marks with ``<!-- command: NAME -->`` (the fenced block after it).

CI runs README's own commands, so README and CI cannot drift apart.
"""

import sys
from pathlib import Path

name = sys.argv[1]
lines = Path(__file__).resolve().parents[1].joinpath("README.md").read_text().splitlines()
marker = f"<!-- command: {name} -->"
start = lines.index(marker)
fence = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("```"))
end = next(i for i in range(fence + 1, len(lines)) if lines[i].startswith("```"))
print("\n".join(lines[fence + 1 : end]))
