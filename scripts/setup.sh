#!/bin/sh
# Installs what building and testing need beyond Go and gcc: Debian's
# clang-14 and lld-14, which compile C programs for CloudABI. Does nothing
# when they are already installed.
set -eu
if command -v clang-14 >/dev/null 2>&1 && command -v ld.lld-14 >/dev/null 2>&1; then
	exit 0
fi
SUDO=
if [ "$(id -u)" -ne 0 ]; then
	SUDO=sudo
fi
echo "setup: installing clang-14 and lld-14 with apt-get" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq clang-14 lld-14 >/dev/null
