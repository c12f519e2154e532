#!/bin/sh
# Regenerates the clips embedded in the binary from ffmpeg's synthetic test
# sources (no recorded material): a 3 s VP8 test pattern in IVF and a 3 s
# Opus tone in Ogg, sized so the two stay well under 1 MB together.
set -eu
cd "$(dirname "$0")/testdata"
ffmpeg -hide_banner -loglevel error -y \
	-f lavfi -i "testsrc=size=320x240:rate=30:duration=3" \
	-c:v libvpx -b:v 300k -deadline realtime -cpu-used 8 -g 30 -auto-alt-ref 0 \
	-f ivf video.ivf
ffmpeg -hide_banner -loglevel error -y \
	-f lavfi -i "sine=frequency=440:sample_rate=48000:duration=3" \
	-c:a libopus -b:a 32k -frame_duration 20 -page_duration 20000 \
	-f ogg audio.ogg
ls -l video.ivf audio.ogg
