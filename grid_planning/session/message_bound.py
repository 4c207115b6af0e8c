"""A stated bound on every message the dashboard sends to a browser (issue 18).

A map or a table reaches the browser as one websocket message. Streamlit refuses a message over
``server.maxMessageSize`` (200 MB by default) with its own error, in English, after the server
has built it; a tab that receives a message of about 100 MB can crash. The bound here is the
setting ``max_message_mb`` (default :data:`DEFAULT_MESSAGE_MB`), the same number as
``server.maxMessageSize`` in ``.streamlit/config.toml`` (a test keeps them equal). Before a page
sends a map or a table it measures what it would send; a map over the bound is refused with a
message from the catalogue (what to do instead), a table is cut to the rows that fit and says so.
Both leave :data:`FRAMING_BYTES` under the bound for the message's own framing, so Streamlit's
error is never the one a planner sees.

Measured on the sample city at k = 8 (``benchmarks/bench_messages.py``): the largest message is
the coverage page's map, about 1.2 MB; the plan page's map about 0.24 MB; the members table about
0.11 MB. The default bound is more than ten times the largest of them.
"""

from __future__ import annotations

import io

import pandas as pd
import pyarrow as pa

from grid_planning.base.config import setting
from grid_planning.base.i18n import DEFAULT_LANGUAGE, t

#: Default of the setting ``max_message_mb`` (megabytes of 1,000,000 bytes, as Streamlit counts).
DEFAULT_MESSAGE_MB = 16
#: Bytes kept under the bound for what wraps a payload (the element, its key, the delta's path).
FRAMING_BYTES = 64 * 1024


def _positive_int(value: object) -> int:
    number = int(str(value).strip())
    if number < 1:
        raise ValueError(value)
    return number


def message_limit_mb() -> int:
    """The setting ``max_message_mb`` (default :data:`DEFAULT_MESSAGE_MB`), read now."""
    return setting("max_message_mb", DEFAULT_MESSAGE_MB, _positive_int)


def payload_budget() -> int:
    """Bytes a map's or a table's payload may take: the bound less :data:`FRAMING_BYTES`."""
    return message_limit_mb() * 1_000_000 - FRAMING_BYTES


def text_bytes(*texts: object) -> int:
    """Bytes of ``texts`` as UTF-8 (a map's script, header and body travel as JSON strings)."""
    return sum(len(str(text).encode("utf-8", "surrogatepass")) for text in texts)


def table_bytes(table: pd.DataFrame) -> int:
    """Bytes of ``table`` as Streamlit sends it: an Arrow IPC stream of the frame.

    Falls back to pandas' deep memory figure for a frame Arrow cannot convert (Streamlit then
    converts its columns to text, which is no smaller).
    """
    try:
        arrow = pa.Table.from_pandas(table, preserve_index=False)
    except (pa.ArrowException, TypeError, ValueError):
        return int(table.memory_usage(deep=True, index=False).sum())
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, arrow.schema) as writer:
        writer.write_table(arrow)
    return sink.tell()


def _mb(nbytes: int) -> str:
    return f"{nbytes / 1_000_000:,.1f}"


def map_refusal(nbytes: int, lang: str = DEFAULT_LANGUAGE, *, what: str = "map") -> str | None:
    """The message for a map whose payload of ``nbytes`` is over the bound, else ``None``.

    Parameters
    ----------
    nbytes : int
        The map's payload (:func:`text_bytes` of its script, header and body, or of the
        presentation's page).
    lang : str
        Language of the message.
    what : {"map", "present", "compare"}
        A page's map (the message says to export it), the presentation or the compare page's
        maps of several options (the message says to take fewer options).
    """
    if nbytes <= payload_budget():
        return None
    return t(f"dash.message.{what}_too_large", lang, size=_mb(nbytes), limit=f"{message_limit_mb():,}")


def bounded_table(table: pd.DataFrame, lang: str = DEFAULT_LANGUAGE) -> tuple[pd.DataFrame, str | None]:
    """``table`` cut to the rows whose message fits the bound, and a note when rows were cut.

    Rows are kept from the top (tables are sorted for reading: the first rows are the ones a
    planner looks at); the note names how many are shown of how many, the bound, and where the
    whole table is (Export on the plan page).

    Returns
    -------
    tuple of (DataFrame, str or None)
        The rows to send and ``None`` when the whole table fits.
    """
    nbytes = table_bytes(table)
    budget = payload_budget()
    if nbytes <= budget or len(table) == 0:
        return table, None
    per_row = nbytes / len(table)
    rows = max(int(budget / per_row * 0.95), 0)
    while rows > 0 and table_bytes(table.iloc[:rows]) > budget:
        rows = rows * 9 // 10
    note = t("dash.table_cut", lang, shown=f"{rows:,}", total=f"{len(table):,}",
             size=_mb(nbytes), limit=f"{message_limit_mb():,}")
    return table.iloc[:rows], note
