#!/usr/bin/env bash
# Generates the transcription test media from tests/fixtures/speech-script.txt with espeak-ng and
# the ffmpeg CLI, into OUTDIR (default target/test-media). Idempotent: existing files are kept;
# each file is written under a temporary name and renamed, so concurrent runs are safe.
#
#   speech.wav         espeak-ng's own output (22.05 kHz mono PCM), >= 60 s
#   speech.mp4         H.264 video + AAC audio
#   speech.mkv         H.264 video + FLAC audio
#   speech.webm        VP9 video + Opus audio
#   speech-titled.mkv  speech.mkv with a container title tag
#   speech-chapters.mkv speech.mkv with three chapters (0 s, 27 s, 54.5 s) in the container
#   speech.mpd         speech.mp4 as YouTube serves a video: a DASH manifest whose sound
#                      (speech-audio.m4a) and pictures (speech-video.mp4) are separate streams
#   late-speech.wav    20 s of silence, then one sentence
#   music-speech.wav   15 s of tone, a sentence, 20 s of tone, a sentence (at 15 s and 40 s)
#   pause-speech.wav   a sentence, 1.2 s of silence, a sentence Whisper stamps inside the pause
#   silence.wav        30 s of digital silence
#   tone.wav           30 s of a music-like tone (a chord progression with vibrato and tremolo)
#   speech-10min.wav   the script read repeatedly, 10 minutes (benchmarks)
#   speech-60min.wav   60 minutes (the memory benchmark)
#
# Usage: scripts/make-speech-media.sh [OUTDIR] [--long]   (--long adds the 10/60-minute files)
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${1:-$repo_root/target/test-media}"
long="${2:-}"
script="$repo_root/tests/fixtures/speech-script.txt"
mkdir -p "$out"

for tool in espeak-ng ffmpeg; do
  command -v "$tool" >/dev/null || { echo "make-speech-media: $tool is missing (apt-get install $tool)" >&2; exit 1; }
done

# produce NAME COMMAND... : runs COMMAND with $tmp as the output path, then renames it to NAME.
produce() {
  local name="$1"; shift
  [[ -s "$out/$name" ]] && return 0
  local tmp="$out/.tmp-$$-$name"
  tmp_file="$tmp" "$@"
  mv -f "$tmp" "$out/$name"
}

ff() { ffmpeg -nostdin -hide_banner -loglevel error -y "$@"; }

produce speech.wav bash -c 'espeak-ng -v en-us -s 165 -f "$0" -w "$tmp_file"' "$script"
# A short coloured video track so the files are real videos, not audio-only containers.
dur=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$out/speech.wav")
video=(-f lavfi -i "testsrc2=size=320x240:rate=15:duration=$dur")
produce speech.mp4 bash -c 'ff() { ffmpeg -nostdin -hide_banner -loglevel error -y "$@"; }; ff '"${video[*]@Q}"' -i "$0" -map 0:v -map 1:a -c:v libx264 -preset ultrafast -pix_fmt yuv420p -c:a aac -b:a 96k -f mp4 "$tmp_file"' "$out/speech.wav"
produce speech.mkv bash -c 'ff() { ffmpeg -nostdin -hide_banner -loglevel error -y "$@"; }; ff '"${video[*]@Q}"' -i "$0" -map 0:v -map 1:a -c:v libx264 -preset ultrafast -pix_fmt yuv420p -c:a flac -f matroska "$tmp_file"' "$out/speech.wav"
produce speech.webm bash -c 'ff() { ffmpeg -nostdin -hide_banner -loglevel error -y "$@"; }; ff '"${video[*]@Q}"' -i "$0" -map 0:v -map 1:a -c:v libvpx-vp9 -deadline realtime -cpu-used 8 -b:v 200k -c:a libopus -b:a 64k -f webm "$tmp_file"' "$out/speech.wav"
# The same video with its own title in the container (Matroska's TITLE tag).
produce speech-titled.mkv bash -c 'ffmpeg -nostdin -hide_banner -loglevel error -y -i "$0" -map 0 -c copy -metadata "title=The Baker'"'"'s Day: Bread, Ovens and Patience" -f matroska "$tmp_file"' "$out/speech.mkv"
# The same video divided into chapters, as an editor exports it (Matroska chapters).
produce speech-chapters.mkv bash -c 'printf "%s\n" ";FFMETADATA1" "[CHAPTER]" "TIMEBASE=1/1000" "START=0" "END=27000" "title=Before sunrise" "[CHAPTER]" "TIMEBASE=1/1000" "START=27000" "END=54500" "title=2. An afternoon of orders" "[CHAPTER]" "TIMEBASE=1/1000" "START=54500" "END=78000" "title=Sundays by the river" >"$tmp_file.txt" && ffmpeg -nostdin -hide_banner -loglevel error -y -i "$0" -i "$tmp_file.txt" -map 0 -map_chapters 1 -c copy -f matroska "$tmp_file"; rc=$?; rm -f "$tmp_file.txt"; exit $rc' "$out/speech.mkv"
# The sound and the pictures as separate streams, listed in a DASH manifest (no thumbnail).
produce speech-audio.m4a bash -c 'ffmpeg -nostdin -hide_banner -loglevel error -y -i "$0" -map 0:a -c copy -f mp4 "$tmp_file"' "$out/speech.mp4"
produce speech-video.mp4 bash -c 'ffmpeg -nostdin -hide_banner -loglevel error -y -i "$0" -map 0:v -c copy -f mp4 "$tmp_file"' "$out/speech.mp4"
produce speech.mpd bash -c 'cat >"$tmp_file" <<EOF
<?xml version="1.0" encoding="utf-8"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" profiles="urn:mpeg:dash:profile:isoff-on-demand:2011" type="static" mediaPresentationDuration="PT${0}S" minBufferTime="PT2S">
  <Period id="0">
    <AdaptationSet id="0" contentType="video" mimeType="video/mp4">
      <Representation id="video-240" codecs="avc1.42c00d" bandwidth="200000" width="320" height="240">
        <BaseURL>speech-video.mp4</BaseURL>
      </Representation>
    </AdaptationSet>
    <AdaptationSet id="1" contentType="audio" mimeType="audio/mp4" lang="en">
      <Representation id="audio" codecs="mp4a.40.2" bandwidth="96000" audioSamplingRate="22050">
        <BaseURL>speech-audio.m4a</BaseURL>
      </Representation>
    </AdaptationSet>
  </Period>
</MPD>
EOF' "$dur"
# One sentence after 20 s of digital silence (timestamps after a silent opening).
produce late-speech.wav bash -c 'espeak-ng -v en-us -s 165 -w "$tmp_file.speech.wav" "The old baker opens his shop before the sun comes up." && ffmpeg -nostdin -hide_banner -loglevel error -y -i "$tmp_file.speech.wav" -af "aresample=16000,adelay=20000,apad=pad_dur=2" -ac 1 -f wav "$tmp_file"; rc=$?; rm -f "$tmp_file.speech.wav"; exit $rc'
# Two sentences 1.2 s apart: Whisper base starts the second one 1.2 s early, in the pause.
produce pause-speech.wav bash -c 'espeak-ng -v en-us -s 165 -w "$tmp_file.a.wav" "Work a few drops of oil into the hinge and swing the door back and forth. The squeak disappears and the door closes softly again." && espeak-ng -v en-us -s 165 -w "$tmp_file.b.wav" "Finally, painting a wall. Good painting is mostly preparation." && ffmpeg -nostdin -hide_banner -loglevel error -y -i "$tmp_file.a.wav" -i "$tmp_file.b.wav" -filter_complex "[0]aresample=16000,apad=pad_dur=1.2[a];[1]aresample=16000[b];[a][b]concat=n=2:v=0:a=1" -ac 1 -ar 16000 -f wav "$tmp_file"; rc=$?; rm -f "$tmp_file.a.wav" "$tmp_file.b.wav"; exit $rc'
produce silence.wav bash -c 'ffmpeg -nostdin -hide_banner -loglevel error -y -f lavfi -i "anullsrc=r=16000:cl=mono" -t 30 -f wav "$tmp_file"'
# Chords (A minor, F, C, G) of three sine voices with vibrato and a 4 Hz tremolo, 7.5 s each.
produce tone.wav bash -c 'ffmpeg -nostdin -hide_banner -loglevel error -y -f lavfi -i "aevalsrc=exprs='"'"'0.2*(1+0.5*sin(2*PI*4*t))*(sin(2*PI*st(1,if(lt(mod(t,30),7.5),220,if(lt(mod(t,30),15),174.6,if(lt(mod(t,30),22.5),261.6,196))))*t+3*sin(2*PI*5*t))+0.6*sin(2*PI*ld(1)*1.26*t)+0.5*sin(2*PI*ld(1)*1.5*t))'"'"':s=16000:d=30" -f wav "$tmp_file"'

# 15 s of the tone, a sentence in a 5 s slot, 20 s of the tone, a sentence in a 5 s slot (45 s):
# the sentences start at 15 s and 40 s (timestamps after music, at the start and in the middle).
produce music-speech.wav bash -c 'espeak-ng -v en-us -s 165 -w "$tmp_file.a.wav" "The old baker opens his shop before the sun comes up." && espeak-ng -v en-us -s 165 -w "$tmp_file.b.wav" "On Sundays he walks along the river with his dog." && ffmpeg -nostdin -hide_banner -loglevel error -y -i "$0" -i "$tmp_file.a.wav" -i "$tmp_file.b.wav" -filter_complex "[0]asplit[t1][t2];[t1]atrim=0:15,asetpts=N/SR/TB[m1];[t2]atrim=0:20,asetpts=N/SR/TB[m2];[1]aresample=16000,apad=whole_dur=5[s1];[2]aresample=16000,apad=whole_dur=5[s2];[m1][s1][m2][s2]concat=n=4:v=0:a=1" -ac 1 -ar 16000 -f wav "$tmp_file"; rc=$?; rm -f "$tmp_file.a.wav" "$tmp_file.b.wav"; exit $rc' "$out/tone.wav"

if [[ "$long" == "--long" ]]; then
  produce speech-10min.wav bash -c 'ffmpeg -nostdin -hide_banner -loglevel error -y -stream_loop -1 -i "$0" -t 600 -ar 16000 -ac 1 -f wav "$tmp_file"' "$out/speech.wav"
  produce speech-60min.wav bash -c 'ffmpeg -nostdin -hide_banner -loglevel error -y -stream_loop -1 -i "$0" -t 3600 -ar 16000 -ac 1 -f wav "$tmp_file"' "$out/speech.wav"
fi
echo "make-speech-media: test media ready in $out"
