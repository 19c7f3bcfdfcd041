"""User-facing errors: what went wrong, where (file:line:column) and what to do.

The CLI prints these on stderr and exits with code 2, without a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass

EXIT_USER_ERROR = 2


@dataclass(frozen=True)
class Problem:
    file: str
    line: int | None
    column: int | None
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return f"{where}: {self.message}"


class UserError(Exception):
    """One or more problems caused by the user's input; never a bug of ours."""

    def __init__(self, problems: list[Problem] | str):
        if isinstance(problems, str):
            problems = [Problem("mlops-compare", None, None, problems)]
        self.problems = problems
        super().__init__("\n".join(map(str, problems)))
