"""Ctrl-C (and SIGTERM) handling for training loops: finish the current step, save, exit cleanly.

::

    with GracefulInterrupt() as stop:
        for i in range(start, n_steps):
            one_training_step()
            if stop.requested:
                save_checkpoint(...)
                print('Interrupted at step', i + 1, '- checkpoint saved; resume with --resume')
                break

The first Ctrl-C (SIGINT) or SIGTERM (what batch schedulers and ``kill`` send) only sets ``stop.requested`` (and
prints a short note), so the step that is running completes and the models are never saved half-updated. A second
one raises ``KeyboardInterrupt`` at once.
Outside the main thread (where Python cannot install signal handlers) the context does nothing and a Ctrl-C
raises ``KeyboardInterrupt`` as usual; loops should also catch that and save what they can.
"""
import signal
import sys
import threading

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class GracefulInterrupt:
    def __init__(self, message="\nCtrl-C: finishing this step, then saving a checkpoint (Ctrl-C again to abort "
                               "without saving)", stream=None):
        self.requested = False
        self.message = message
        self.stream = stream
        self._old = {}

    def request(self):
        """Ask the loop to stop after the current step (what the first Ctrl-C does; also useful in tests)."""
        self.requested = True

    def _handler(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        if self.message:
            name = "SIGTERM" if signum == signal.SIGTERM else "Ctrl-C"
            print(self.message.replace("Ctrl-C:", f"{name}:", 1), file=self.stream or sys.stderr, flush=True)

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for sig in SIGNALS:
                try:
                    self._old[sig] = signal.signal(sig, self._handler)
                except (ValueError, OSError):
                    pass
        return self

    def __exit__(self, *exc):
        for sig, old in self._old.items():
            signal.signal(sig, old)
        self._old = {}
        return False
