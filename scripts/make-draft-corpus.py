"""Speaks the draft-quality corpus and transcribes it with our own `vidpress transcribe`.

Run by scripts/make-draft-corpus.sh. For every `crates/vidpress-draft/tests/fixtures/corpus/scripts/NAME.txt`
it writes `corpus/NAME.json` (the transcript, vidpress-core's `Transcript` format, exactly as
`vidpress transcribe` wrote it) and `corpus/NAME.truth.json` (the script, its language, and where
each reference section really starts, in ms of the audio).

Script format (all hand-written):
    # language: en|de|es|fr
    # voice: espeak-ng VOICE | flite VOICE
    # cues: announced|silent          (whether the speaker announces each topic)
    # intro: silence SECONDS | music SECONDS   (optional: what comes before the first word)
    # title: THE VIDEO'S TITLE        (empty: a video without a title of its own)
    ## Reference heading | reference, words, of, the, topic
    Paragraph text...
A script with `# compose: NAME NAME ...` instead is built by laying the named transcripts end to
end (2 s apart), so long videos cost no extra transcription.
"""

import json
import subprocess
import sys
import tempfile
import wave
from pathlib import Path

RATE = 16000
SECTION_PAUSE_MS = 1200
COMPOSE_GAP_MS = 2000
ESPEAK_WPM = "160"


def parse(path):
    meta = {"language": "en", "voice": "espeak-ng en-us", "cues": "silent", "title": "", "intro": ""}
    sections = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line.startswith("## "):
            heading, _, words = line[3:].partition("|")
            sections.append(
                {
                    "heading": heading.strip(),
                    "words": [w.strip() for w in words.split(",") if w.strip()],
                    "text": "",
                }
            )
        elif line.startswith("# "):
            key, _, value = line[2:].partition(":")
            meta[key.strip()] = value.strip()
        elif line:
            sections[-1]["text"] = (sections[-1]["text"] + " " + line).strip()
    return meta, sections


def to_samples(wav_path):
    """Any WAV → 16 kHz mono s16 bytes (through ffmpeg)."""
    out = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(wav_path), "-ac", "1", "-ar", str(RATE), "-f", "s16le", "-"],
        check=True,
        capture_output=True,
    ).stdout
    return out


def speak(voice, text, out):
    engine, _, name = voice.partition(" ")
    if engine == "flite":
        subprocess.run(["flite", "-voice", name, "-t", text, "-o", str(out)], check=True)
    else:
        subprocess.run(["espeak-ng", "-v", name, "-s", ESPEAK_WPM, "-w", str(out), text], check=True)


def intro_samples(intro):
    if not intro:
        return b""
    kind, seconds = intro.split()
    seconds = float(seconds)
    if kind == "silence":
        return b"\0\0" * int(RATE * seconds)
    # A simple tune: a melody over a held chord, changing note twice a second.
    expr = (
        "0.25*sin(2*PI*(220*pow(2,mod(floor(t*2),5)/12))*t)"
        "+0.12*sin(2*PI*330*t)+0.08*sin(2*PI*165*t)*(1+sin(2*PI*3*t))/2"
    )
    return subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", f"aevalsrc='{expr}':s={RATE}:d={seconds}",
         "-ac", "1", "-f", "s16le", "-"],
        check=True,
        capture_output=True,
    ).stdout


def build(meta, sections, tmp):
    audio = bytearray(intro_samples(meta.get("intro", "")))
    for i, s in enumerate(sections):
        if i > 0:
            audio += b"\0\0" * (RATE * SECTION_PAUSE_MS // 1000)
        s["start_ms"] = len(audio) // 2 * 1000 // RATE
        part = tmp / f"s{i}.wav"
        speak(meta["voice"], s["text"], part)
        audio += to_samples(part)
        s["end_ms"] = len(audio) // 2 * 1000 // RATE
    wav = tmp / "speech.wav"
    with wave.open(str(wav), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(bytes(audio))
    return wav


def transcribe(vidpress, wav, out_dir):
    subprocess.run([vidpress, "transcribe", str(wav), "--out", str(out_dir)], check=True,
                   stdout=subprocess.DEVNULL)
    return json.loads((out_dir / "speech.json").read_text())


def compose(names, corpus):
    segments, sections, scripts = [], [], []
    offset = 0
    language = None
    for name in names:
        t = json.loads((corpus / f"{name}.json").read_text())
        truth = json.loads((corpus / f"{name}.truth.json").read_text())
        language = language or t["language"]
        for s in t["segments"]:
            s = dict(s)
            s["start_ms"] += offset
            s["end_ms"] += offset
            s["words"] = [dict(w, start_ms=w["start_ms"] + offset, end_ms=w["end_ms"] + offset) for w in s["words"]]
            segments.append(s)
        for s in truth["sections"]:
            sections.append(dict(s, start_ms=s["start_ms"] + offset, end_ms=s["end_ms"] + offset))
        scripts.append(truth["script"])
        end = max([truth["sections"][-1]["end_ms"]] + [s["end_ms"] for s in t["segments"]])
        offset += end + COMPOSE_GAP_MS
    return {"language": language, "segments": segments}, sections, scripts


def main():
    vidpress, corpus = sys.argv[1], Path(sys.argv[2])
    names = sys.argv[3:]
    scripts = sorted((corpus / "scripts").glob("*.txt"))
    if names:
        scripts = [s for s in scripts if s.stem in names]
    # Composed scripts last: they read the others' outputs.
    scripts.sort(key=lambda p: ("# compose:" in p.read_text(encoding="utf-8"), p.name))
    for script in scripts:
        meta, sections = parse(script)
        if meta.get("compose"):
            transcript, sections, parts = compose(meta["compose"].split(), corpus)
            meta["voice"] = "composed"
        else:
            with tempfile.TemporaryDirectory() as tmp:
                tmp = Path(tmp)
                wav = build(meta, sections, tmp)
                transcript = transcribe(vidpress, wav, tmp)
            parts = None
        truth = {
            "script": f"scripts/{script.name}",
            "language": meta["language"],
            "voice": meta["voice"],
            "cues": meta["cues"],
            "intro": meta.get("intro", ""),
            "title": meta.get("title", ""),
            "sections": sections,
        }
        if parts:
            truth["parts"] = parts
        (corpus / f"{script.stem}.json").write_text(json.dumps(transcript, indent=1, ensure_ascii=False) + "\n")
        (corpus / f"{script.stem}.truth.json").write_text(json.dumps(truth, indent=1, ensure_ascii=False) + "\n")
        minutes = sections[-1]["end_ms"] / 60000
        print(f"{script.stem}: {len(transcript['segments'])} segments, {minutes:.1f} min, "
              f"language {transcript['language']}")


if __name__ == "__main__":
    main()
