#!/bin/sh
# After install or upgrade: systemd learns of the unit. The service is
# not enabled or started here (the admin lists the targets first, then
# `systemctl enable --now rtcprobe`); an upgrade restarts it if it runs.
set -e
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload >/dev/null 2>&1 || true
	systemctl try-restart rtcprobe.service >/dev/null 2>&1 || true
fi
