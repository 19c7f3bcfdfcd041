"""P(first) remembered in the store (`sensitivity_cache`): a hit is what `p_first` computes, a change is a miss."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from mlops_compare import criteria, scoring
from mlops_compare.scoring import sensitivity_cache
from mlops_compare.store import Store
from mlops_compare.tui.scoreboard import Scoreboard
from mlops_compare.tui.summaries import quick_summary, summary
from tui_support import ReplayStarter, make_app, settle


def _inputs():
    c = criteria.load(criteria.SHIPPED)
    profile = c.profiles[c.default_profile]
    return c, profile, dict(profile.weights), c.ratings()


def test_a_hit_is_exactly_what_p_first_computes(tmp_path):
    _, _, weights, ratings = _inputs()
    assert sensitivity_cache.lookup(tmp_path, weights, ratings) is None
    computed = scoring.p_first(weights, ratings)
    sensitivity_cache.remember(tmp_path, weights, ratings, computed)
    assert sensitivity_cache.lookup(tmp_path, weights, ratings) == computed


def test_any_change_of_the_inputs_is_a_miss(tmp_path):
    _, _, weights, ratings = _inputs()
    sensitivity_cache.remember(tmp_path, weights, ratings, scoring.p_first(weights, ratings))
    first = next(iter(weights))
    tool, checkpoint = next(iter(ratings)), next(iter(next(iter(ratings.values()))))
    changed_weight = {**weights, first: weights[first] + 1}
    changed_rating = {**ratings, tool: {**ratings[tool], checkpoint: ratings[tool][checkpoint] + 0.5}}
    reordered = dict(reversed(list(weights.items())))  # the order decides which draw goes where
    for w, r in ((changed_weight, ratings), (weights, changed_rating), (reordered, ratings)):
        assert sensitivity_cache.lookup(tmp_path, w, r) is None


def test_damaged_or_foreign_files_are_a_miss_and_get_replaced(tmp_path):
    _, _, weights, ratings = _inputs()
    path = tmp_path / sensitivity_cache.FILE
    path.parent.mkdir(parents=True)
    for text in ("{not json", "[1, 2]", json.dumps({sensitivity_cache.key(weights, ratings): {"mlflow": "x"}})):
        path.write_text(text)
        assert sensitivity_cache.lookup(tmp_path, weights, ratings) is None
    sensitivity_cache.remember(tmp_path, weights, ratings, dict.fromkeys(ratings, 0.25))
    assert sensitivity_cache.lookup(tmp_path, weights, ratings) == dict.fromkeys(ratings, 0.25)


def test_only_the_newest_entries_are_kept(tmp_path):
    _, _, weights, ratings = _inputs()
    first = next(iter(weights))
    for i in range(sensitivity_cache.KEEP + 5):
        sensitivity_cache.remember(tmp_path, {**weights, first: float(i)}, ratings, dict.fromkeys(ratings, 0.0))
    assert len(json.loads((tmp_path / sensitivity_cache.FILE).read_text())) == sensitivity_cache.KEEP
    assert sensitivity_cache.lookup(tmp_path, {**weights, first: 0.0}, ratings) is None
    assert sensitivity_cache.lookup(tmp_path, {**weights, first: float(sensitivity_cache.KEEP + 4)}, ratings)


def test_quick_summary_fills_p_first_in_from_what_summary_remembered(tmp_path):
    c, profile, _, _ = _inputs()
    assert quick_summary(c, profile, cache=tmp_path).p_first == {}
    full = summary(c, profile, cache=tmp_path)
    assert quick_summary(c, profile, cache=tmp_path).p_first == full.p_first


def test_the_cache_is_read_without_numpy(tmp_path):
    c, profile, _, _ = _inputs()
    summary(c, profile, cache=tmp_path)
    code = (
        "import sys; from mlops_compare import criteria; from mlops_compare.tui.summaries import quick_summary\n"
        "c = criteria.load(criteria.SHIPPED)\n"
        f"s = quick_summary(c, c.profiles[c.default_profile], cache={str(tmp_path)!r})\n"
        "assert s.p_first and 'numpy' not in sys.modules, sorted(m for m in sys.modules if 'numpy' in m)\n"
        # nor an HTTP client: criteria.load reads the S3 defaults from infra.s3_endpoint at every start
        "assert 'http.client' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_without_a_store_folder_it_goes_to_the_users_cache_and_creates_no_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    _, _, weights, ratings = _inputs()
    store = tmp_path / "project" / ".mlops-compare"  # no exam ran in this project
    assert sensitivity_cache.location(store) == tmp_path / "xdg" / "mlops-compare" / "p-first.json"
    sensitivity_cache.remember(store, weights, ratings, dict.fromkeys(ratings, 0.5))
    assert not store.exists() and sensitivity_cache.lookup(store, weights, ratings) == dict.fromkeys(ratings, 0.5)
    store.mkdir(parents=True)  # once the store exists, it holds the cache
    assert sensitivity_cache.location(store) == store / sensitivity_cache.FILE


async def test_the_tui_shows_remembered_p_first_in_its_first_frame(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    store = Store(tmp_path / ".mlops-compare")
    app = make_app(tmp_path, ReplayStarter(), store=store)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        computed = dict(app.main.query_one(Scoreboard).summary.p_first)
        assert computed and sensitivity_cache.lookup(store.root, *_weights_ratings(app)) == computed

    again = make_app(tmp_path, ReplayStarter(), store=store)
    started = []
    again._score = lambda *args: started.append(args)  # no worker: the number must come from the cache
    async with again.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.1)
        assert dict(again.main.query_one(Scoreboard).summary.p_first) == computed
        assert started == []
        await settle(again, pilot)


def _weights_ratings(app):
    s = app.main.query_one(Scoreboard).summary
    return s.profile.weights, {t: {c: cell.value for c, cell in per.items()} for t, per in s.cells.items()}


def test_a_repeated_score_prints_the_same_without_importing_numpy(tmp_path):
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "xdg")}
    code = (
        "import sys; from mlops_compare import cli\n"
        f"cli.main(['score', '--format', 'csv', '--store', {str(tmp_path / 'store')!r}])\n"
        "print('numpy imported:', 'numpy' in sys.modules)\n"
    )
    runs = [
        subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True) for _ in "12"
    ]
    first, second = (r.stdout.rsplit("numpy imported:", 1) for r in runs)
    assert first[0] == second[0] and "p_first" in first[0]
    assert first[1].strip() == "True" and second[1].strip() == "False"
