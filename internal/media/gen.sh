#!/bin/sh
# Regenerates the clips embedded in the binary from ffmpeg's synthetic test
# sources (no recorded material):
#   - video.ivf, audio.ogg: the media checks' 3 s VP8 test pattern and 3 s
#     Opus tone;
#   - vp9.ivf, h264.h264, av1.ivf: 1 s of the same pattern (320x240,
#     30 fps, one keyframe at the start: a clip loops) for the interop
#     codec matrix, H.264 as constrained baseline in Annex B with its
#     parameter sets before every keyframe;
#   - pcmu.raw, pcma.raw, g722.raw: 1 s of a 440 Hz tone as G.711 µ-law and
#     A-law (8 kHz) and G.722 (16 kHz), headerless.
# All of them together stay well under 1 MB.
set -eu
cd "$(dirname "$0")/testdata"
ff() { ffmpeg -hide_banner -loglevel error -y "$@"; }
pattern() { echo "testsrc=size=320x240:rate=30:duration=$1"; }
tone() { echo "sine=frequency=440:sample_rate=$2:duration=$1"; }

ff -f lavfi -i "$(pattern 3)" \
	-c:v libvpx -b:v 300k -deadline realtime -cpu-used 8 -g 30 -auto-alt-ref 0 \
	-f ivf video.ivf
ff -f lavfi -i "$(tone 3 48000)" \
	-c:a libopus -b:a 32k -frame_duration 20 -page_duration 20000 \
	-f ogg audio.ogg
ff -f lavfi -i "$(pattern 1)" \
	-c:v libvpx-vp9 -b:v 150k -deadline realtime -cpu-used 8 -g 30 -auto-alt-ref 0 -lag-in-frames 0 -row-mt 0 \
	-f ivf vp9.ivf
ff -f lavfi -i "$(pattern 1)" -pix_fmt yuv420p \
	-c:v libx264 -profile:v baseline -level 3.1 -b:v 150k -preset veryfast -tune zerolatency \
	-threads 1 -x264-params keyint=30:min-keyint=30:scenecut=0:bframes=0:repeat-headers=1:slices=1:sliced-threads=0 \
	-bsf:v h264_metadata=aud=remove -f h264 h264.h264
ff -f lavfi -i "$(pattern 1)" -pix_fmt yuv420p \
	-c:v libaom-av1 -b:v 150k -usage realtime -cpu-used 8 -g 30 -lag-in-frames 0 \
	-f ivf av1.ivf
ff -f lavfi -i "$(tone 1 8000)" -c:a pcm_mulaw -f mulaw pcmu.raw
ff -f lavfi -i "$(tone 1 8000)" -c:a pcm_alaw -f alaw pcma.raw
ff -f lavfi -i "$(tone 1 16000)" -c:a g722 -f g722 g722.raw
ls -l video.ivf audio.ogg vp9.ivf h264.h264 av1.ivf pcmu.raw pcma.raw g722.raw
