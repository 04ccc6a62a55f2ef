"""Speak the draft test scripts with espeak-ng and transcribe them with the real Whisper base model.

Run by scripts/make-draft-fixtures.sh, which prepares the virtual environment and the model.
For every `crates/vidpress-draft/tests/fixtures/scripts/NAME.txt` it writes
`crates/vidpress-draft/tests/fixtures/NAME.json` (a transcript in vidpress-core's `Transcript`
serde format) and `NAME.truth.json` (where each spoken paragraph and topic really starts).

Script format: `# topic: NAME` lines start a topic; paragraphs are separated by blank lines.
"""

import json
import subprocess
import sys
import tempfile
import wave
from pathlib import Path

PARAGRAPH_PAUSE_MS = 900
VOICE = "en-us"
WORDS_PER_MINUTE = "165"


def parse_script(path):
    """Returns [(topic, paragraph_text)] in spoken order."""
    paragraphs = []
    topic = None
    current = []
    for line in path.read_text(encoding="utf-8").splitlines() + [""]:
        line = line.strip()
        if line.startswith("# topic:"):
            if current:
                paragraphs.append((topic, " ".join(current)))
                current = []
            topic = line.split(":", 1)[1].strip()
        elif not line:
            if current:
                paragraphs.append((topic, " ".join(current)))
                current = []
        else:
            current.append(line)
    return paragraphs


def speak(text, out):
    subprocess.run(
        ["espeak-ng", "-v", VOICE, "-s", WORDS_PER_MINUTE, "-w", str(out), text],
        check=True,
    )


def build_audio(paragraphs, workdir, out_wav):
    """Speaks each paragraph, joins them with pauses, and returns each paragraph's start in ms."""
    starts = []
    params = None
    frames = []
    for i, (_, text) in enumerate(paragraphs):
        part = workdir / f"p{i}.wav"
        speak(text, part)
        with wave.open(str(part), "rb") as w:
            if params is None:
                params = w.getparams()
            rate = w.getframerate()
            width = w.getsampwidth() * w.getnchannels()
            if frames:
                frames.append(b"\0" * (rate * PARAGRAPH_PAUSE_MS // 1000) * width)
            start_frames = sum(len(f) for f in frames) // width
            starts.append(start_frames * 1000 // rate)
            frames.append(w.readframes(w.getnframes()))
    with wave.open(str(out_wav), "wb") as w:
        w.setparams(params)
        for f in frames:
            w.writeframes(f)
    return starts


def transcribe(model, wav):
    segments, info = model.transcribe(
        str(wav), language="en", beam_size=5, word_timestamps=True, vad_filter=False
    )
    out = []
    for s in segments:
        out.append(
            {
                "start_ms": round(s.start * 1000),
                "end_ms": round(s.end * 1000),
                "text": s.text,
                "words": [
                    {
                        "text": w.word,
                        "start_ms": round(w.start * 1000),
                        "end_ms": round(w.end * 1000),
                        "probability": round(float(w.probability), 4),
                    }
                    for w in (s.words or [])
                ],
            }
        )
    # Whisper's segment times can overlap by a few ms; keep starts monotonic as Transcript requires.
    previous = 0
    for s in out:
        s["start_ms"] = max(s["start_ms"], previous)
        s["end_ms"] = max(s["end_ms"], s["start_ms"])
        previous = s["start_ms"]
    return {"language": info.language, "segments": out}


def main():
    model_dir, fixtures = Path(sys.argv[1]), Path(sys.argv[2])
    names = sys.argv[3:]
    from faster_whisper import WhisperModel

    model = WhisperModel(str(model_dir), device="cpu", compute_type="float32", cpu_threads=2)
    scripts = sorted((fixtures / "scripts").glob("*.txt"))
    if names:
        scripts = [s for s in scripts if s.stem in names]
    for script in scripts:
        paragraphs = parse_script(script)
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            wav = tmp / "all.wav"
            starts = build_audio(paragraphs, tmp, wav)
            transcript = transcribe(model, wav)
        truth = {
            "script": f"scripts/{script.name}",
            "paragraphs": [
                {"topic": topic, "start_ms": start, "text": text}
                for (topic, text), start in zip(paragraphs, starts)
            ],
        }
        (fixtures / f"{script.stem}.json").write_text(json.dumps(transcript, indent=1) + "\n")
        (fixtures / f"{script.stem}.truth.json").write_text(json.dumps(truth, indent=1) + "\n")
        words = sum(len(s["words"]) for s in transcript["segments"])
        print(f"{script.stem}: {len(transcript['segments'])} segments, {words} words")


if __name__ == "__main__":
    main()
