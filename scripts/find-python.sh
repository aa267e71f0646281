#!/usr/bin/env bash
# Print the path of a Python >= 3.12 interpreter, or fail with a clear message.
# Looks at $PYTHON, python3.13/python3.12 on PATH, then pyenv-installed versions, then python3.
set -euo pipefail
ok() { "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null; }
candidates=()
[ -n "${PYTHON:-}" ] && candidates+=("$PYTHON")
for v in python3.12 python3.13; do
  p=$(command -v "$v" 2>/dev/null || true); [ -n "$p" ] && candidates+=("$p")
done
root="${PYENV_ROOT:-$HOME/.pyenv}"
if [ -d "$root/versions" ]; then
  for d in $(ls -d "$root"/versions/3.1[2-9]* 2>/dev/null | sort -V); do
    [ -x "$d/bin/python" ] && candidates+=("$d/bin/python")
  done
fi
for p in /usr/bin/python3.12 /usr/bin/python3.13 /usr/local/bin/python3.12 /usr/local/bin/python3.13; do
  [ -x "$p" ] && candidates+=("$p")
done
p=$(command -v python3 2>/dev/null || true); [ -n "$p" ] && candidates+=("$p")
for c in "${candidates[@]}"; do
  if ok "$c"; then
    # resolve pyenv shims to the real interpreter
    "$c" -c 'import sys; print(sys.executable)'
    exit 0
  fi
done
echo "error: no Python >= 3.12 found (tried: ${candidates[*]:-none}). Install one or set PYTHON=/path/to/python3.12" >&2
exit 1
