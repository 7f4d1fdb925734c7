"""`python -m client transcribe FILE...`: upload, follow each job with a progress bar, print the transcripts.

The transcripts are the server's renderings (`--format`): with `--diarize`, plain text is one `SPEAKER_1: ...`
paragraph per turn, and SRT names the speaker at each change of speaker."""

import argparse
import os
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import httpx

from client.api import JSON, ClientError, TranscribeAPI
from client.progress import FileBars

DEFAULT_URL = "http://127.0.0.1:8000"

MAX_SPEAKERS = 15
"""The most speakers an upload may tell the server to expect (`min_speakers`, `max_speakers`: 1-15)."""


@dataclass
class Outcome:
    """What became of one file: its transcript, or why there is none."""

    path: Path
    transcript: str | None = None
    error: str | None = None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m client", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    transcribe = commands.add_parser("transcribe", help="transcribe audio files and print their transcripts")
    transcribe.add_argument("files", nargs="+", type=Path, metavar="FILE")
    transcribe.add_argument("--priority", choices=["normal", "high"], default="normal")
    transcribe.add_argument("--format", choices=["txt", "srt", "vtt", "json"], default="txt", dest="fmt")
    transcribe.add_argument("--word-timestamps", action="store_true", help="ask for word-level timestamps")
    transcribe.add_argument(
        "--language", metavar="CODE", help="the spoken language (ISO-639-1: en, de, ko, ...); default: detect it"
    )
    transcribe.add_argument(
        "--task",
        choices=["transcribe", "translate"],
        default="transcribe",
        help="translate: English text, whatever is spoken (needs a multilingual model on the server)",
    )
    transcribe.add_argument(
        "--no-vad",
        action="store_false",
        dest="vad",
        default=None,
        help="keep silence and noise (default: the server's STT_VAD, which skips them unless set to false)",
    )
    transcribe.add_argument(
        "--diarize",
        action="store_true",
        help="tell the speakers apart: the transcript names the speaker (SPEAKER_1: ...) at each change of speaker",
    )
    transcribe.add_argument(
        "--min-speakers",
        type=speaker_count,
        metavar="N",
        help=f"at least N speakers (1-{MAX_SPEAKERS}); implies --diarize",
    )
    transcribe.add_argument(
        "--max-speakers",
        type=speaker_count,
        metavar="N",
        help=f"at most N speakers (1-{MAX_SPEAKERS}); implies --diarize",
    )
    transcribe.add_argument("--url", default=os.environ.get("TRANSCRIBE_URL") or DEFAULT_URL)
    transcribe.add_argument("--token", default=os.environ.get("TRANSCRIBE_TOKEN"), help="default: $TRANSCRIBE_TOKEN")
    return parser


def speaker_count(text: str) -> int:
    """`--min-speakers` and `--max-speakers`: a whole number from 1 to MAX_SPEAKERS."""
    try:
        count = int(text)
    except ValueError:
        count = 0
    if not 1 <= count <= MAX_SPEAKERS:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of speakers from 1 to {MAX_SPEAKERS}")
    return count


def check_speakers(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """A speaker count implies `--diarize`; a minimum above the maximum is a usage error (exit 2)."""
    if args.min_speakers is not None or args.max_speakers is not None:
        args.diarize = True
    if args.min_speakers is not None and args.max_speakers is not None and args.min_speakers > args.max_speakers:
        parser.error(f"--min-speakers {args.min_speakers} is more than --max-speakers {args.max_speakers}")


def reason(body: JSON, event: str) -> str:
    """`message (code)` for a failed or canceled job."""
    error = body.get("error")
    if isinstance(error, dict):
        return f"{error.get('message') or event} ({error.get('code') or event})"
    return f"{error or 'the job was ' + event} ({event})"


def transcribe_one(api: TranscribeAPI, bars: FileBars, outcome: Outcome, args: argparse.Namespace) -> None:
    """Upload, follow and fetch one file, recording the result in `outcome`; never raises."""
    task = bars.add(outcome.path.name)
    on_event = bars.handler(task)
    events: list[str] = []

    def record(event: str, data: JSON) -> None:
        events.append(event)
        on_event(event, data)

    try:
        bars.step(task, "uploading")
        accepted = api.upload(
            outcome.path,
            args.priority,
            args.word_timestamps,
            language=args.language,
            task=args.task,
            vad=args.vad,
            diarize=args.diarize,
            min_speakers=args.min_speakers,
            max_speakers=args.max_speakers,
        )
        on_event("status", accepted)
        final = api.follow(str(accepted["job_id"]), record)
        if events[-1] == "completed":
            outcome.transcript = api.transcript(str(accepted["job_id"]), args.fmt)
        else:
            outcome.error = reason(final, events[-1])
    except ClientError as exc:
        outcome.error = f"{exc.message} ({exc.code})"
        bars.step(task, f"error: {exc.code}", "red")
    except (httpx.HTTPError, OSError) as exc:  # no answer from the server, or the file cannot be read
        detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc) or type(exc).__name__
        outcome.error = f"{detail} ({type(exc).__name__})"
        bars.step(task, f"error: {type(exc).__name__}", "red")
    except Exception as exc:  # a bug must not leave the other files' threads hanging
        outcome.error = f"unexpected {type(exc).__name__}: {exc} (client_error)"
        bars.step(task, "error", "red")
    finally:
        bars.finish(task)


def run_transcribe(args: argparse.Namespace, transport: httpx.BaseTransport | None) -> int:
    outcomes = [Outcome(path) for path in args.files]
    with TranscribeAPI(args.url, args.token, transport=transport) as api, FileBars() as bars:
        threads = [
            threading.Thread(target=transcribe_one, args=(api, bars, outcome, args), daemon=True)
            for outcome in outcomes
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            while thread.is_alive():
                thread.join(0.2)  # in short steps, so that Ctrl-C is seen at once
    for outcome in outcomes:
        if outcome.transcript is not None:
            sys.stdout.write(f"==> {outcome.path} <==\n{outcome.transcript.rstrip()}\n\n")
    sys.stdout.flush()
    for outcome in outcomes:
        if outcome.error is not None:
            print(f"{outcome.path}: {outcome.error}", file=sys.stderr)
    return 1 if any(outcome.error is not None for outcome in outcomes) else 0


def main(argv: list[str] | None = None, *, transport: httpx.BaseTransport | None = None) -> int:
    """Exit code: 0 when every file was transcribed, 1 when any was not, 2 for usage errors, 130 on Ctrl-C."""
    parser = build_parser()
    args = parser.parse_args(argv)
    check_speakers(parser, args)
    if not args.token:
        print(f"{parser.prog}: error: no token: pass --token or set TRANSCRIBE_TOKEN", file=sys.stderr)
        return 2
    try:
        return run_transcribe(args, transport)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
