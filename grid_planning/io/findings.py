"""Validation findings: what is wrong with an input, where, and what to do about it.

A :class:`Finding` is one problem in one place (file, row/id, column). Its text comes from the message
catalogue (``grid_planning/messages/layers.toml``) through a ``code`` and ``params``, so the same finding
reads in Chinese on the dashboard and in English in the CLI. Errors block use of the layers; warnings
are shown and do not block.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from grid_planning.base.i18n import DEFAULT_LANGUAGE, t

ERROR = "error"


WARNING = "warning"


@dataclass(frozen=True)
class Finding:
    """One validation problem.

    Attributes
    ----------
    severity : {"error", "warning"}
        Errors block planning; warnings are informational.
    code : str
        Catalogue key suffix, e.g. ``"duplicate_id"``; the message is ``layers.finding.<code>``
        and the advice ``layers.advice.<code>``.
    file : str
        The file (or layer name) the problem is in.
    row : str or None
        Row number (1-based, as a spreadsheet shows it, header = row 1) or feature id.
    column : str or None
        The column concerned, as named in the user's file.
    params : dict
        Values for the message placeholders (``value``, ``count``, ...).
    """

    severity: str
    code: str
    file: str
    row: str | None = None
    column: str | None = None
    params: dict = field(default_factory=dict)

    def message(self, lang: str = DEFAULT_LANGUAGE) -> str:
        """The problem in words."""
        return t(f"layers.finding.{self.code}", lang, **self._fmt_params())

    def advice(self, lang: str = DEFAULT_LANGUAGE) -> str:
        """What the user should do about it."""
        key = f"layers.advice.{self.code}"
        text = t(key, lang, **self._fmt_params())
        return "" if text == key else text

    def _fmt_params(self) -> dict:
        return {"file": self.file, "row": self.row, "column": self.column, **self.params}

    def location(self) -> str:
        """``file, row 12, column lon`` style location string (language neutral)."""
        parts = [self.file]
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.column is not None:
            parts.append(f"column {self.column}")
        return ", ".join(parts)

    def as_row(self, lang: str = DEFAULT_LANGUAGE) -> dict[str, str]:
        """A table row for display: severity, file, row, column, message, advice."""
        return {
            "severity": t(f"layers.severity.{self.severity}", lang),
            "file": self.file,
            "row": "" if self.row is None else str(self.row),
            "column": "" if self.column is None else str(self.column),
            "message": self.message(lang),
            "advice": self.advice(lang),
        }


@dataclass
class ValidationReport:
    """All findings for a set of layers."""

    findings: list[Finding] = field(default_factory=list)

    def error(self, code: str, file: str, row: object = None, column: str | None = None, **params) -> None:
        """Record a blocking problem."""
        self.findings.append(Finding(ERROR, code, file, _row(row), column, params))

    def warning(
        self, code: str, file: str, row: object = None, column: str | None = None, **params
    ) -> None:
        """Record a non-blocking problem."""
        self.findings.append(Finding(WARNING, code, file, _row(row), column, params))

    def extend(self, other: ValidationReport) -> None:
        """Append another report's findings."""
        self.findings.extend(other.findings)

    @property
    def errors(self) -> list[Finding]:
        """Blocking findings."""
        return [f for f in self.findings if f.severity == ERROR]

    @property
    def warnings(self) -> list[Finding]:
        """Non-blocking findings."""
        return [f for f in self.findings if f.severity == WARNING]

    @property
    def ok(self) -> bool:
        """True when nothing blocks use of the layers."""
        return not self.errors

    def codes(self) -> list[str]:
        """The finding codes, in order (handy in tests)."""
        return [f.code for f in self.findings]

    def to_records(self, lang: str = DEFAULT_LANGUAGE) -> list[dict[str, str]]:
        """Rows for a table (dashboard) or CSV."""
        return [f.as_row(lang) for f in self.findings]

    def format(self, lang: str = "en", limit: int | None = 50) -> str:
        """Plain-text report for the terminal; ``limit`` findings at most, then a count."""
        lines: list[str] = []
        shown = self.findings if limit is None else self.findings[:limit]
        for f in shown:
            tag = "ERROR" if f.severity == ERROR else "WARN "
            advice = f.advice(lang)
            lines.append(f"{tag} {f.location()}: {f.message(lang)}" + (f" -> {advice}" if advice else ""))
        if limit is not None and len(self.findings) > limit:
            lines.append(f"... and {len(self.findings) - limit} more")
        return "\n".join(lines)


def _row(row: object) -> str | None:
    return None if row is None else str(row)
