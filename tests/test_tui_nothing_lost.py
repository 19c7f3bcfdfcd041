"""Issue 18 in the TUI: refused data or an unwritable store stop ``r`` with a toast before any run
is queued (nothing stored, nothing started); damaged records get a toast and a place in the trust
screen (``t``)."""

from __future__ import annotations

from mlops_compare.store import Store
from mlops_compare.tui.trust_screen import trust_text
from tui_support import ReplayStarter, criteria_copy, make_app, settle

SIZE = (80, 24)


def _toasts(app) -> list[tuple[str, str]]:
    seen: list[tuple[str, str]] = []
    real = app.notify

    def notify(message, *args, **kwargs):
        seen.append((kwargs.get("title", ""), str(message)))
        return real(message, *args, **kwargs)

    app.notify = notify
    return seen


async def test_bad_data_is_refused_with_a_toast_before_any_run(tmp_path):
    path = criteria_copy(tmp_path)
    (tmp_path / "d.csv").write_text("a,target\n" + "".join(f"{i},x\n" for i in range(12)))
    path.write_text(path.read_text().replace('data = "sklearn:diabetes"', 'data = "d.csv"'))
    store = Store(tmp_path / ".mlops-compare")
    starter = ReplayStarter()
    app = make_app(tmp_path, starter, store=store, criteria_path=path)
    seen = _toasts(app)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("r")
        await pilot.pause(0.2)
        assert not app.runs.active
        [(title, message)] = [t for t in seen if t[0] == "Not started"]
        assert "exam.data 'd.csv': column 'target' holds 'x' at line 2" in message
    assert store.history() == []  # no error record per tool


async def test_an_unwritable_store_is_refused_with_a_toast(tmp_path):
    (tmp_path / "file").write_text("")
    store = Store(tmp_path / "file")
    app = make_app(tmp_path, ReplayStarter(), store=store)
    seen = _toasts(app)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("r")
        await pilot.pause(0.2)
        assert not app.runs.active
        assert any(t == "Not started" and "the results store is a file" in m for t, m in seen), seen


async def test_damaged_records_get_a_toast_and_a_place_in_the_trust_screen(tmp_path):
    runs = tmp_path / ".mlops-compare" / "runs"
    runs.mkdir(parents=True)
    (runs / "20990101T000000000000Z-mlflow.json").write_text("[]")
    (runs / "20990101T000000000001Z-dvc.json").write_text('{"tool": "dvc", "checks": {"grid": ')
    app = make_app(tmp_path, ReplayStarter(), load_stored=True)
    seen = _toasts(app)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        [(_, message)] = [t for t in seen if t[0] == "Damaged records"]
        assert "2 unreadable record(s)" in message and "20990101T000000000000Z-mlflow.json" in message
        text = trust_text(app.evidence).plain
        assert "Unreadable records (2, not used)" in text
        assert "20990101T000000000001Z-dvc.json: not valid JSON" in text
