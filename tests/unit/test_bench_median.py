"""`fides bench --repeat`: of several runs, each measure keeps the run of median time, with the
fastest and the slowest as its spread (pure: no database)."""

from __future__ import annotations

import pytest

from fides.bench.run import Measure, median_of
from fides.bench.run import render as run_render


def _run(*seconds: float, cpu: float = 0.0) -> list[Measure]:
    return [Measure(stage, 1000, 1000, s, 1.0, 100.0, "lignes", (cpu, cpu))
            for stage, s in zip(("VIDHOSP", "RSS"), seconds)]


def test_the_median_run_of_each_measure_with_its_spread():
    runs = [_run(3.0, 1.0, cpu=3), _run(1.0, 9.0, cpu=1), _run(2.0, 2.0, cpu=2)]
    vidhosp, rss = median_of(runs)
    assert (vidhosp.stage, vidhosp.seconds, vidhosp.spread) == ("VIDHOSP", 2.0, (1.0, 3.0))
    assert vidhosp.cpu == (2, 2)  # the median run's own figures, not an average
    assert (rss.seconds, rss.spread) == (2.0, (1.0, 9.0))


def test_an_even_count_keeps_the_lower_middle_run():
    (vidhosp, _rss) = median_of([_run(4.0, 1.0), _run(1.0, 1.0), _run(3.0, 1.0), _run(2.0, 1.0)])
    assert (vidhosp.seconds, vidhosp.spread) == (2.0, (1.0, 4.0))


def test_runs_of_different_stages_are_refused():
    other = [Measure("FICHCOMP", 1000, 1, 1.0, 0, 0, "lignes"), Measure("RSS", 1000, 1, 1.0, 0, 0, "lignes")]
    with pytest.raises(ValueError):
        median_of([_run(1.0, 1.0), other])
    with pytest.raises(ValueError):
        median_of([_run(1.0, 1.0), _run(1.0)])  # a run with a measure missing


def test_the_table_shows_the_spread_column_only_when_repeated():
    latency = Measure("latence 1 ligne (médiane)", 100, 1, 0.02, 0, 90.0, "s")
    (vidhosp, _rss) = median_of([_run(3.0, 1.0), _run(1.0, 1.0), _run(2.0, 1.0)])
    header, first, second = run_render([latency, vidhosp]).splitlines()[:3]
    assert "min–max s" in header
    end = header.index("min–max s") + len("min–max s")
    assert second[end - 11:end] == "1.000–3.000"  # under its heading
    assert first[end - 15:end].strip() == ""  # the latency is measured once, in its own way
    assert "min–max s" not in run_render(_run(1.0, 1.0)).splitlines()[0]
