"""Command-line client of the transcription API: upload audio files, follow their jobs live, print transcripts.

Run it from the repository root: `python -m client transcribe FILE... [--format srt] [--priority high]
[--language de] [--task translate] [--no-vad]`.
"""
