"""How the trainer reports: progress, losses, log lines, checkpoints and partial evaluation
results go to a `Reporter`, which also says when to stop. The trainer knows nothing of where
they end up (a job row, a benchmark's stdout, nowhere)."""

from __future__ import annotations

from typing import Any, Protocol


class Reporter(Protocol):
    def progress(
        self,
        *,
        step: int,
        total_steps: int,
        epoch: float,
        eta_seconds: float | None,
        loss: float | None,
        tokens_seen: int,
        force: bool = False,
    ) -> None:
        """After every optimizer step (and at the start and end, with `force` to write at once)."""

    def eval_loss(self, *, step: int, loss: float) -> None:
        """A held-out loss at `step` (step 0: the base model before training)."""

    def log(self, line: str) -> None:
        """One line for the run's log; it may be buffered until the next write."""

    def checkpoint(self, *, step: int) -> None:
        """A resumable checkpoint of `step` has been saved."""

    def evaluation(self, results: dict[str, Any]) -> None:
        """Evaluation results so far, kept so that a resumed run need not measure them again."""

    def flush(self) -> None:
        """Write everything buffered now."""

    def should_stop(self) -> bool:
        """Asked before every step: True when the run must stop (cancelled, or taken over)."""


class NullReporter:
    """Reports nowhere and never stops a run (benchmarks, tests of the loop alone)."""

    def progress(self, **kwargs: Any) -> None:
        pass

    def eval_loss(self, **kwargs: Any) -> None:
        pass

    def log(self, line: str) -> None:
        pass

    def checkpoint(self, **kwargs: Any) -> None:
        pass

    def evaluation(self, results: dict[str, Any]) -> None:
        pass

    def flush(self) -> None:
        pass

    def should_stop(self) -> bool:
        return False
