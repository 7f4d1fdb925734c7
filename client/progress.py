"""The live display: one progress bar per file, driven by its job's events."""

from types import TracebackType

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskID, TaskProgressColumn, TextColumn, TimeElapsedColumn

from client.api import JSON, EventHandler


def describe_status(body: JSON) -> str:
    """The step column for a status body: where a queued job stands, else what it is doing."""
    status = str(body.get("status") or "?")
    if status == "queued" and body.get("position") is not None:
        wait = body.get("estimated_wait_s")
        eta = f", ~{float(wait):.0f} s" if isinstance(wait, int | float) else ""
        return f"queued #{body['position']}{eta}"
    step = body.get("current_step")
    return f"{status}: {step}" if step else status


class FileBars:
    """A `rich.progress.Progress` on `console` (stderr by default, so stdout carries only transcripts).

    Off a terminal (a log, a pipe) the bars cannot redraw, so each change of a file's status text is also
    printed as a line.
    """

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True)
        self._progress = Progress(
            TextColumn("{task.description}", markup=False),
            BarColumn(),
            TaskProgressColumn(),
            TextColumn("{task.fields[step]}"),
            TimeElapsedColumn(),
            console=self.console,
        )
        self._names: dict[TaskID, str] = {}
        self._shown: dict[TaskID, str] = {}

    def __enter__(self) -> "FileBars":
        self._progress.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self._progress.stop()

    def add(self, name: str) -> TaskID:
        task = self._progress.add_task(name, total=100, step="waiting")
        self._names[task] = name
        return task

    def step(self, task: TaskID, text: str, style: str = "", completed: float | None = None) -> None:
        """Show `text` (escaped: it may come from the server) in `style`, and move the bar if `completed`."""
        shown = f"[{style}]{escape(text)}[/]" if style else escape(text)
        self._progress.update(task, step=shown, completed=completed)
        if not self.console.is_terminal and self._shown.get(task) != text:
            self._shown[task] = text
            self.console.print(f"{self._names[task]}: {text}", markup=False, highlight=False)

    def finish(self, task: TaskID) -> None:
        """Stop `task`'s clock: its file is done with, one way or another."""
        self._progress.stop_task(task)

    def handler(self, task: TaskID) -> EventHandler:
        """The `on_event` that moves `task`'s bar for each event of its job."""

        def on_event(event: str, data: JSON) -> None:
            progress = data.get("progress")
            completed = float(progress) if isinstance(progress, int | float) else None
            if event == "completed":
                self.step(task, "completed", "green", 100)
            elif event == "failed":
                error = data.get("error")
                code = error.get("code") if isinstance(error, dict) else error
                self.step(task, f"failed: {code or 'unknown error'}", "red", completed)
            elif event == "canceled":
                self.step(task, "canceled", "yellow", completed)
            elif event == "progress":
                self.step(task, str(data.get("current_step") or "working"), "cyan", completed)
            elif event == "status":
                self.step(task, describe_status(data), "", completed)

        return on_event
