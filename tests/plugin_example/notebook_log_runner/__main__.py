"""``python -m notebook_log_runner``: how the core starts this runner."""

from notebook_log_runner import NotebookLogRunner

raise SystemExit(NotebookLogRunner.main())
