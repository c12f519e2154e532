#!/bin/sh
# After removal: systemd forgets the unit. The results database in
# /var/lib/rtcprobe stays (as with any package's data) until purged.
set -e
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload >/dev/null 2>&1 || true
fi
if [ "$1" = purge ]; then
	rm -rf /var/lib/rtcprobe /var/lib/private/rtcprobe
fi
