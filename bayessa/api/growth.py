r"""The expansion analysis end to end: :func:`expansion` and :class:`ExpansionResult`.

How did the partnership change the organisation's expansion? From the one-row-per-unit table:

1. **founding rate** by era (:mod:`bayessa.growth.founding`): ``founding.csv``,
   ``founding_contrasts.csv``;
2. **composition** of new units by era, one model per ``[expansion] composition`` variable
   (:mod:`bayessa.growth.composition`): ``composition.csv``, ``composition_contrasts.csv``;
3. **reach** over calendar time, observed and predicted (:mod:`bayessa.growth.reach`,
   :mod:`bayessa.growth.scenarios`): ``reach.csv``;
4. the **counterfactual**: expected active units had founding, mix and survival stayed as in the
   first era, the difference in group-years and its Shapley split (``counterfactual.csv``,
   ``group_years.csv``). Survival comes from the survival model of the same spec (fitted here,
   or a run given with ``survival=``); the mix is a composition model of the joint categories
   of the survival formula's unit traits;
5. the frequentist cross-check (:mod:`bayessa.frequentist.expansion`): Poisson-GLM rate ratios,
   chi-square and Fisher tests of composition by era.

The run folder (:meth:`ExpansionResult.save`) holds these tables, ``idata.nc`` (a DataTree with
one node per model: ``founding``, ``composition_<variable>``, ``mix``), ``report.html`` /
``report.md``, ``manifest.json`` and, when the survival model was fitted here, its own run in
``survival/``.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd

from bayessa.errors import SpecError

__all__ = ["ExpansionResult", "expansion"]


@dataclass
class ExpansionResult:
    """The fitted expansion analysis.

    Parameters
    ----------
    data : ExpansionData
        The units as read (:func:`bayessa.growth.read_expansion`).
    spec : Spec
        The spec applied.
    founding : FoundingFit
    composition : dict of str to CompositionFit
        One per composition variable.
    mix : CompositionFit or None
        The joint categories of the survival traits (None when the survival model has none).
    survival : FitResult or None
        The survival fit (None when reach and the counterfactual were not asked for).
    reach, counterfactual, group_years : pandas.DataFrame
        The tables of :func:`bayessa.growth.scenarios.reach_tables`.
    frequentist : dict
        ``founding`` (FoundingRateResult) and one CompositionTestResult per variable.
    timings : dict
        Seconds per step.
    """

    data: Any
    spec: Any
    founding: Any
    composition: dict[str, Any]
    mix: Any = None
    survival: Any = None
    reach: pd.DataFrame | None = None
    counterfactual: pd.DataFrame | None = None
    group_years: pd.DataFrame | None = None
    frequentist: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    def founding_table(self) -> pd.DataFrame:
        """``founding.csv``: per era the observed groups and years, the rate per year (95%).

        Returns
        -------
        pandas.DataFrame
        """
        return self.founding.table()

    def founding_contrasts(self) -> pd.DataFrame:
        """``founding_contrasts.csv``: rate ratios between eras with P(ratio > 1).

        Returns
        -------
        pandas.DataFrame
        """
        return self.founding.contrasts()

    def composition_table(self) -> pd.DataFrame:
        """``composition.csv``: variable, level, era, share (posterior median), lower, upper.

        Returns
        -------
        pandas.DataFrame
        """
        return pd.concat([c.table() for c in self.composition.values()], ignore_index=True)

    def composition_contrasts(self) -> pd.DataFrame:
        """``composition_contrasts.csv``: differences in share, odds ratios, P(rose).

        Returns
        -------
        pandas.DataFrame
        """
        return pd.concat([c.contrasts() for c in self.composition.values()], ignore_index=True)

    def tree(self):
        """One DataTree with a node per model (``founding``, ``composition_<v>``, ``mix``).

        Returns
        -------
        xarray.DataTree
        """
        import xarray as xr

        nodes = {"founding": self.founding.idata}
        nodes |= {f"composition_{v}": c.idata for v, c in self.composition.items()}
        if self.mix is not None:
            nodes["mix"] = self.mix.idata
        root = xr.DataTree()
        for name, tree in nodes.items():
            root[name] = tree.copy()
        root.attrs = {"bayessa_spec": self.spec.to_toml(), "bayessa_analysis": "expansion"}
        return root

    def save(self, out: str | Path, *, overwrite: bool = False, command: str | None = None) -> Path:
        """Write the run folder (module docstring), atomically.

        Parameters
        ----------
        out : path
            The folder to write.
        overwrite : bool, default False
            Replace an existing folder.
        command : str, optional
            The command that made the run.

        Returns
        -------
        Path
        """
        from bayessa.posterior.rundir import write_atomically
        from bayessa.report.expansion import write_expansion_report

        def write(folder: Path) -> None:
            t0 = time.perf_counter()
            tables = {
                "founding.csv": self.founding_table(),
                "founding_contrasts.csv": self.founding_contrasts(),
                "composition.csv": self.composition_table(),
                "composition_contrasts.csv": self.composition_contrasts(),
            }
            if self.reach is not None:
                tables |= {"reach.csv": self.reach, "counterfactual.csv": self.counterfactual,
                           "group_years.csv": self.group_years}  # fmt: skip
            for name, table in tables.items():
                table.to_csv(folder / name, index=False)
            self.tree().to_netcdf(folder / "idata.nc", engine="h5netcdf")
            (folder / "spec.toml").write_text(self.spec.to_toml())
            if self.survival is not None and self.timings.get("survival_fitted"):
                (folder / "survival").mkdir()
                self.survival._write(folder / "survival", command=command)
            written = write_expansion_report(self, folder)
            manifest = {
                "name": self.spec.name, "analysis": "expansion",
                "command": command or " ".join(sys.argv), "source": self.data.source,
                "eras": self.data.eras.describe(), "notes": list(self.data.notes),
                "founding_family": {"family": self.founding.family,
                                    "reason": self.founding.family_reason},
                "timings": self.timings | {"write_s": round(time.perf_counter() - t0, 3)},
                "files": sorted([*tables, "idata.nc", "spec.toml",
                                 *[p.name for p in written]]),
            }  # fmt: skip
            (folder / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str))

        return write_atomically(Path(out), write, overwrite=overwrite)


def expansion(
    data: str | Path | pd.DataFrame | None = None,
    spec: Any = None,
    *,
    survival: Any = None,
    reach: bool = True,
    n_draws: int = 400,
    progress: bool | None = None,
    **overrides: Any,
) -> ExpansionResult:
    """Fit the expansion analysis (module docstring).

    Parameters
    ----------
    data : path or DataFrame, optional
        The one-row-per-unit table; default the spec's ``[data] path`` (the bundled data with
        the bundled spec).
    spec : Spec or path, optional
        With an ``[expansion]`` table; default the bundled analysis (``models/partnership.toml``).
    survival : FitResult, DataTree or run folder, optional
        The survival model used by reach and the counterfactual; default: fitted here from the
        same spec and data.
    reach : bool, default True
        Compute reach and the counterfactual (needs the survival model).
    n_draws : int, default 400
        Posterior draws of each model paired for reach and the counterfactual.
    progress : bool, optional
        Show the samplers' progress.
    **overrides
        As :func:`bayessa.fit` (``draws``, ``tune``, ``chains``, ``seed``, column roles, ...),
        and ``era_cuts``, ``era_labels``, ``era``, ``window``, ``end``, ``composition``,
        ``cluster``, ``trend``, ``family`` for the ``[expansion]`` table.

    Returns
    -------
    ExpansionResult

    Raises
    ------
    DataError, SpecError
        Bad data or spec (every problem listed).
    """
    from bayessa.api.pipeline import fit as survival_fit
    from bayessa.frequentist import composition_tests, founding_rate_ratios
    from bayessa.growth.composition import fit_composition
    from bayessa.growth.founding import fit_founding
    from bayessa.growth.scenarios import reach_model, reach_tables, survival_traits
    from bayessa.growth.tables import read_expansion
    from bayessa.model.expansion_spec import ExpansionSpec
    from bayessa.model.preparation import resolve_spec

    x_keys = {f for f in ExpansionSpec.__dataclass_fields__}
    x_over = {k: overrides.pop(k) for k in list(overrides) if k in x_keys}
    spec = resolve_spec(spec, data=data, **overrides)
    x_over = {
        k: (tuple(v) if isinstance(v, list) else v) for k, v in x_over.items() if v is not None
    }
    if x_over:
        spec = replace(spec, expansion=replace(spec.expansion, **x_over))
        if problems := spec.expansion.problems():
            raise SpecError(problems)
    timings: dict[str, float] = {}
    t = time.perf_counter()
    x = read_expansion(data, spec)
    timings["read_s"] = round(time.perf_counter() - t, 3)
    show = bool(progress)
    t = time.perf_counter()
    founding = fit_founding(x, trend=spec.expansion.trend, family=spec.expansion.family,
                            sampler=spec.sampler, progress=show)  # fmt: skip
    timings["founding_s"] = round(time.perf_counter() - t, 3)
    t = time.perf_counter()
    comp = {v: fit_composition(x, v, sampler=spec.sampler, progress=show)
            for v in spec.expansion.composition}  # fmt: skip
    timings["composition_s"] = round(time.perf_counter() - t, 3)
    freq = _frequentist(x, founding_rate_ratios, composition_tests)
    result = ExpansionResult(x, spec, founding, comp, frequentist=freq, timings=timings)
    if not reach:
        return result
    t = time.perf_counter()
    if survival is None:
        surv = survival_fit(data, spec, progress=progress)
        timings["survival_fitted"] = 1.0
    else:
        from bayessa.api.result import load

        surv = survival if hasattr(survival, "idata") else load(survival)
    timings["survival_s"] = round(time.perf_counter() - t, 3)
    traits = survival_traits(surv.idata, spec.expansion.era)
    t = time.perf_counter()
    mix = fit_composition(x, traits, sampler=spec.sampler, progress=show) if traits else None
    timings["mix_s"] = round(time.perf_counter() - t, 3)
    if mix is None:
        raise SpecError("the survival formula has no unit traits besides the era: reach and the "
                        "counterfactual need at least one (e.g. leader type)")  # fmt: skip
    t = time.perf_counter()
    m = reach_model(x, founding, mix, surv.idata, era=spec.expansion.era, n_draws=n_draws,
                    seed=spec.sampler.seed)  # fmt: skip
    result.reach, result.counterfactual, result.group_years = reach_tables(
        x, m, seed=spec.sampler.seed
    )
    timings["reach_s"] = round(time.perf_counter() - t, 3)
    result.mix, result.survival = mix, surv
    return result


def _frequentist(x, founding_rate_ratios, composition_tests) -> dict[str, Any]:
    """Poisson-GLM rate ratios by era and the composition tests (frequentist cross-check)."""
    counts = x.per_era()
    labels = list(x.eras.labels)
    counts["era"] = pd.Categorical(
        counts["era"], categories=labels
    )  # time order, first = reference
    out: dict[str, Any] = {"founding": founding_rate_ratios(
        counts, groups="groups", years="years", era="era", reference=labels[0])}  # fmt: skip
    for v in x.composition:
        out[v] = composition_tests(x.units, variable=v, era="era")
    return out
