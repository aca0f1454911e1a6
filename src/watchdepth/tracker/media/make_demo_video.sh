#!/bin/sh
# Regenerate demo.webm, the video the /demo and /embed pages play.
#
# Input: nothing (ffmpeg's testsrc2 pattern, which draws the playback time in
# its top-left corner, so a screenshot shows where the player is). Output:
# demo.webm next to this script (or at $1): 60 s, 320x180, 15 fps, VP9, no
# audio, a keyframe every 2 s so seeking lands close. About 450 KB; keep it
# under 600 KB, it ships inside the Python package. Needs only an ffmpeg built
# with libvpx (Debian's is).
#
# Usage: sh make_demo_video.sh [output.webm]   (DURATION=6 for a short one, as the tests do)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-"$here/demo.webm"}
duration=${DURATION:-60}

ffmpeg -hide_banner -loglevel error -y \
  -f lavfi -i "testsrc2=size=320x180:rate=15:duration=$duration" \
  -c:v libvpx-vp9 -b:v 0 -crf 55 -deadline good -cpu-used 4 -row-mt 1 \
  -g 30 -keyint_min 30 -pix_fmt yuv420p -an \
  -metadata title="watchdepth demo" \
  "$out"
ls -l "$out"
