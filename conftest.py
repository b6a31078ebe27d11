"""Repository-wide pytest hooks: report each notebook's total time after an nbval run."""

from collections import defaultdict


def pytest_terminal_summary(terminalreporter):
    seconds = defaultdict(float)
    for reports in terminalreporter.stats.values():
        for report in reports:
            nodeid = getattr(report, "nodeid", "")
            if ".ipynb::" in nodeid:
                seconds[nodeid.split("::", 1)[0]] += getattr(report, "duration", 0.0)
    if seconds:
        terminalreporter.section("notebook times")
        for path, total in sorted(seconds.items()):
            terminalreporter.write_line(f"{total:8.1f} s  {path}")
        terminalreporter.write_line(f"{sum(seconds.values()):8.1f} s  in all")
