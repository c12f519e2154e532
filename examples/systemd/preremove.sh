#!/bin/sh
# Before removal (not before an upgrade: deb says "upgrade", rpm passes
# 1 when a version stays installed): stop and disable the service.
set -e
case "$1" in
upgrade | 1) exit 0 ;;
esac
if [ -d /run/systemd/system ]; then
	systemctl disable --now rtcprobe.service >/dev/null 2>&1 || true
fi
