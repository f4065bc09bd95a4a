"""The public names of `kpiflow` are exactly these: anything else may change."""

import kpiflow


def test_all_is_exact() -> None:
    public = {name for name in dir(kpiflow) if not name.startswith("_")}
    modules = {name for name in public if type(getattr(kpiflow, name)).__name__ == "module"}
    assert set(kpiflow.__all__) == public - modules
    assert kpiflow.__all__ == ["Command", "Hooks", "Job", "KpiflowError", "Pack", "Page",
                               "RunContext", "Runtime", "ServeContext", "Settings", "Summary",
                               "discover_packs", "run_job"]
