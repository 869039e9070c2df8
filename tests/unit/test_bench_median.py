"""`fides bench --repeat`: of several runs, each measure keeps the run of median time, with the
fastest and the slowest as its spread (pure: no database)."""

from __future__ import annotations

import pytest

from fides.bench.run import FLOOR, Measure, median_of
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


def test_the_table_shows_the_cores_a_stage_keeps_busy_and_the_ratio_its_cpu_imposes():
    """A stage that keeps every core busy is bound by its own CPU: its CPU seconds spread over
    the cores give the least time it could take, here 4 CPU-s on 2 cores = 2 s = 4× the floor."""
    vidhosp = Measure("VIDHOSP", 1000, 1000, 2.5, 1.0, 100.0, "lignes", (3.0, 1.0))
    floor = Measure(FLOOR + "VIDHOSP", 1000, 1000, 0.5, 1.0, 0, "lignes")
    rss = Measure("RSS", 1000, 1000, 1.0, 1.0, 100.0, "lignes")  # measured without its CPU
    header, first, *rest = run_render([vidhosp, floor, rss, Measure(FLOOR + "RSS", 1000, 1000, 0.5, 1.0, 0, "lignes")],
                                      cores=2).splitlines()
    assert header.split()[-1] == "cœurs" and first.split()[-1] == "1.60"  # 4 CPU-s in 2.5 s
    said = {line.split(":")[1].split()[0]: line for line in rest if line.startswith("taille")}
    assert said["VIDHOSP"].endswith("VIDHOSP fides / plancher COPY = 5.0×; son CPU seul sur 2 cœur(s) : ≥ 4.0× le plancher COPY")
    assert said["RSS"].endswith("RSS fides / plancher COPY = 2.0×")
