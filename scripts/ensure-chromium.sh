#!/usr/bin/env bash
# Make sure the Chromium that the static figures (Kaleido) and the browser tests (Playwright)
# drive is there: ensure-chromium.sh [PATH] (default /usr/bin/chromium). Found: nothing to do.
# Missing: as root on Debian/Ubuntu, install the distribution's chromium (Playwright's own
# browser download is not used); otherwise stop with an error naming the command to run.
set -euo pipefail
browser="${1:-/usr/bin/chromium}"
[[ -x "$browser" ]] && exit 0
install="apt-get update && apt-get install -y chromium"
if [[ "$(id -u)" -ne 0 ]]; then
  echo "error: no Chromium at $browser (needed by the static figures and the browser tests):" \
    "run: sudo sh -c '$install' (Debian/Ubuntu), or install Chrome/Chromium and pass" \
    "CHROMIUM=/path/to/it" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null; then
  echo "error: no Chromium at $browser and no apt-get: install Chrome/Chromium and pass" \
    "CHROMIUM=/path/to/it" >&2
  exit 1
fi
echo "no Chromium at $browser: installing Debian's chromium ($install)" >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-upgrade chromium
if [[ ! -x "$browser" ]]; then
  echo "error: installed the chromium package, but $browser is still missing; pass" \
    "CHROMIUM=/path/to/chromium" >&2
  exit 1
fi
