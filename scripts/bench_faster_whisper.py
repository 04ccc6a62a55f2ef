"""faster-whisper on the same audio as Vidpress's engine benchmark, for comparison.

Usage: bench_faster_whisper.py AUDIO CT2_MODEL_DIR THREADS REPS REFERENCE_TXT
Prints one JSON line per repetition: wall time of transcribe() (the segments consumed),
real-time factor, peak RSS, and WER with the same normalisation as vidpress_transcribe::wer.
"""
import json
import re
import resource
import sys
import time

from faster_whisper import WhisperModel
from faster_whisper.audio import decode_audio

SCRIPT_SECONDS = 78.53


def words(text):
    text = re.sub(r"[-\u2014\u2013]", " ", text)
    out = []
    for w in text.split():
        w = "".join(c for c in w if c.isalnum()).lower()
        if w:
            out.append(w)
    return out


def wer(ref, hyp):
    r, h = words(ref), words(hyp)
    prev = list(range(len(h) + 1))
    for i in range(1, len(r) + 1):
        cur = [i] + [0] * len(h)
        for j in range(1, len(h) + 1):
            cur[j] = min(prev[j - 1] + (r[i - 1] != h[j - 1]), prev[j] + 1, cur[j - 1] + 1)
        prev = cur
    return prev[len(h)] / max(len(r), 1)


def main():
    audio, model_dir, threads, reps, ref_path = sys.argv[1:6]
    threads, reps = int(threads), int(reps)
    samples = decode_audio(audio, sampling_rate=16000)
    audio_s = len(samples) / 16000
    script = open(ref_path).read().split()
    n = round(audio_s / SCRIPT_SECONDS * len(script))
    reference = " ".join((script * (n // len(script) + 1))[:n])
    t = time.time()
    model = WhisperModel(model_dir, device="cpu", compute_type="int8", cpu_threads=threads, num_workers=1)
    load_s = time.time() - t
    for rep in range(reps):
        t = time.time()
        segments, info = model.transcribe(samples, beam_size=1, best_of=1, vad_filter=False)
        text = " ".join(s.text for s in segments)
        wall = time.time() - t
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps({
            "engine": "faster-whisper int8", "audio": audio, "threads": threads, "rep": rep,
            "audio_s": round(audio_s, 1), "load_s": round(load_s, 2), "wall_s": round(wall, 2),
            "rtf": round(wall / audio_s, 4), "peak_rss_mib": round(peak), "wer": round(wer(reference, text), 4),
            "language": info.language,
        }), flush=True)


if __name__ == "__main__":
    main()
