"""``streamlit`` with timing marks, for benchmarks/bench_load.py: the dashboard as it is, plus one line
per rerun request received and per script run finished, written to a log file.

Run:  python benchmarks/timed_server.py LOG run app.py --server.port 8501 ...

Each line is ``<session id> <req|end|early> <time.monotonic()>``: ``req`` when the server receives a
rerun request from a browser, ``end`` when a script run is over (its last message queued, before
the network), ``early`` when a run stopped to start another. The session id is the one the browser
receives in its first message, so the benchmark can tell each browser's steps apart. Nothing in the
app changes; only these two Streamlit methods are wrapped.
"""

from __future__ import annotations

import sys
import threading
import time


def _install(path: str) -> None:
    from streamlit.runtime.app_session import AppSession
    from streamlit.runtime.scriptrunner import ScriptRunnerEvent

    log = open(path, "a", buffering=1, encoding="utf-8")  # noqa: SIM115 - open for the process
    lock = threading.Lock()
    done = {ScriptRunnerEvent.SCRIPT_STOPPED_WITH_SUCCESS: "end",
            ScriptRunnerEvent.SCRIPT_STOPPED_WITH_COMPILE_ERROR: "end",
            ScriptRunnerEvent.SCRIPT_STOPPED_FOR_RERUN: "early"}

    def mark(session: AppSession, kind: str) -> None:
        with lock:
            log.write(f"{session.id} {kind} {time.monotonic():.6f}\n")

    handle = AppSession.handle_backmsg
    on_event = AppSession._on_scriptrunner_event

    def handle_backmsg(self, msg):  # noqa: ANN001, ANN202 - Streamlit's signature
        if msg.WhichOneof("type") == "rerun_script":
            mark(self, "req")
        return handle(self, msg)

    def on_scriptrunner_event(self, sender, event, *args, **kwargs):  # noqa: ANN001, ANN202
        if event in done:
            mark(self, done[event])
        return on_event(self, sender, event, *args, **kwargs)

    AppSession.handle_backmsg = handle_backmsg
    AppSession._on_scriptrunner_event = on_scriptrunner_event


def main() -> None:
    log_path, *streamlit_args = sys.argv[1:]
    _install(log_path)
    from streamlit.web.cli import main as streamlit_main

    sys.argv = ["streamlit", *streamlit_args]
    streamlit_main()


if __name__ == "__main__":
    main()
