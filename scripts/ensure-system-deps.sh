#!/bin/sh
# Installs the system packages the reports need and pip cannot provide:
# a CJK font so charts render Chinese labels (lang=zh) instead of empty boxes.
# Idempotent; silently does nothing where the font is already present.
set -u
if command -v fc-list >/dev/null 2>&1 && fc-list :lang=zh 2>/dev/null | grep -q .; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing a CJK font (fonts-wqy-microhei) for Chinese chart labels"
  (apt-get install -y -qq fonts-wqy-microhei fontconfig >/dev/null 2>&1 \
    || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq fonts-wqy-microhei fontconfig >/dev/null 2>&1; }) \
    || echo "warning: could not install a CJK font; Chinese labels may not render" >&2
else
  echo "warning: no CJK font found and cannot install one (needs root + apt); Chinese labels may not render" >&2
fi
exit 0
