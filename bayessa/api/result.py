"""The user's handle on a fit: :class:`FitResult` (numbers, diagnostics, saving) and :func:`load`.

The DataTree layout is documented in :mod:`bayessa.posterior.datatree`.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from bayessa.errors import SpecError

__all__ = ["FitResult", "OPTIONAL_RUN_FILES", "RUN_FILES", "load"]

RUN_FILES = (
    "idata.nc",
    "summary.csv",
    "diagnostics.json",
    "hazard_ratios.csv",
    "manifest.json",
    "spec.toml",
    # the report (bayessa.report); also its figures, report-*.png, linked from report.md
    "report.html",
    "report.md",
    "contrasts.csv",
    "survival.csv",
)
#: Files a run has only when its model calls for them (time-varying effects).
OPTIONAL_RUN_FILES = ("hazard_ratios_by_interval.csv", "smooths.csv")


@dataclass
class FitResult:
    """A fitted model: the DataTree plus the spec (and, for fresh fits, the prepared data).

    Parameters
    ----------
    idata : xarray.DataTree
        The run: posterior, sample stats, data groups and ``bayessa_*`` attrs.
    spec : Spec
        The spec that was fitted.
    prepared : Prepared, optional
        The data after each pipeline step (fresh fits only).
    info : ModelInfo or dict, optional
        Facts about the model (a :class:`~bayessa.model.pem.ModelInfo` for fresh fits, its
        dict form for loaded runs).
    """

    idata: Any
    spec: Any
    prepared: Any = None
    info: Any = None
    _table: Any = field(default=None, init=False, repr=False, compare=False)

    # ------------------------------------------------------------------ numbers

    def summary(self, **kwargs) -> pd.DataFrame:
        """Posterior summary (mean, sd, 95% interval, ESS, R-hat, MCSE) of every model parameter.

        The columns and values are ``arviz.summary``'s with ``ci_prob=0.95`` (equal-tailed
        interval), except the tail ESS, which is Vehtari et al.'s (5% and 95% quantiles; see
        :mod:`bayessa.checks.convergence`). Computed once per result and shared with the gate.

        Parameters
        ----------
        **kwargs
            Anything else ArviZ's summary takes (``kind``, ``ci_kind``, ``round_to``, ...):
            then ``arviz.summary`` itself is called (``ci_prob`` defaults to 0.95).

        Returns
        -------
        pandas.DataFrame
            One row per scalar element (``beta[leader[professional]]``).
        """
        from bayessa.checks.convergence import SUMMARY_COLUMNS

        if not kwargs or kwargs == {"ci_prob": 0.95}:
            return self._parameter_table()[SUMMARY_COLUMNS].copy()
        import arviz as az

        from bayessa.posterior.predict import model_variables

        names = model_variables(self.idata["posterior"].dataset)
        kwargs.setdefault("ci_prob", 0.95)
        return az.summary(self.idata, var_names=names, **kwargs)

    def _parameter_table(self) -> pd.DataFrame:
        """Summary and convergence statistics, computed on first use and kept."""
        if self._table is None:
            from bayessa.checks.convergence import parameter_table
            from bayessa.posterior.predict import model_variables

            post = self.idata["posterior"].dataset
            self._table = parameter_table(post, model_variables(post))
        return self._table

    def predict(
        self,
        newdata: pd.DataFrame,
        *,
        times,
        horizon: float | None = None,
        ci_prob: float = 0.95,
        max_draws: int | None = 1000,
        seed: int = 0,
        id: str | None = None,  # noqa: A002 - the id column, as in fit()
        tstart: str | None = None,
    ) -> pd.DataFrame:
        """Survival, cumulative hazard and hazard of new units at ``times``.

        A row naming a cluster seen in the data is conditional on its effect; an unseen or
        missing cluster is marginal over the cluster distribution; the ``cluster_effect``
        column says which (:func:`bayessa.posterior.newdata.predict_newdata`).

        Parameters
        ----------
        newdata : DataFrame
            One row per new unit, with every covariate of the formula.
        times : sequence of float
            Times in the run's unit.
        horizon : float, optional
            RMST horizon; default: the end of the modelled follow-up.
        ci_prob : float, default 0.95
            Probability of the equal-tailed intervals.
        max_draws : int or None, default 1000
            Posterior samples used (seeded thinning); ``None``: all.
        seed : int, default 0
            Seed of the thinning.
        id, tstart : str, optional
            Covariate paths: rows sharing an ``id`` are one new unit whose covariates change,
            each row holding from its ``tstart`` (0 first), e.g. consumer-led until year 2 and
            professional-led after; survival, RMST and median follow the path.

        Returns
        -------
        DataFrame
            Long: one row per new unit and time (``survival``, ``cumhaz``, ``hazard`` with
            limits), with the unit's RMST and median survival (and ``path`` for paths).
        """
        from bayessa.posterior.newdata import predict_newdata

        return predict_newdata(
            self.idata, newdata, times=times, horizon=horizon, ci_prob=ci_prob,
            max_draws=max_draws, seed=seed, id=id, tstart=tstart,
        )  # fmt: skip

    def hazard_ratios(self, *, ci_prob: float = 0.95, by_interval: bool = False) -> pd.DataFrame:
        r"""Hazard ratio of every fixed-effect coefficient (vs the reference levels).

        Columns: ``log_hr_mean``, ``log_hr_sd``, ``hr_median``, ``hr_lower``, ``hr_upper`` (the
        equal-tailed ``ci_prob`` interval, :math:`\exp` of the log-HR quantiles) and
        ``p_hr_gt_1`` = :math:`P(\mathrm{HR} > 1 \mid \text{data})`. For a coefficient with a
        time-varying effect this is the average log HR over the age intervals. With numeric
        covariates a column ``per`` says what each numeric coefficient's HR is per, in the
        covariate's own unit (``"per unit of age"``, ``"per e-fold change of size"`` for
        ``log(size)``); :func:`bayessa.posterior.effects.contrast_table` gives HRs per unit or
        per doubling at the reference values. A smooth ``s(x)`` has no single hazard ratio: its
        basis coefficients are left out here, and :meth:`smooth` gives its curve.

        Parameters
        ----------
        ci_prob : float, default 0.95
            Probability of the equal-tailed interval.
        by_interval : bool, default False
            Instead, the hazard ratio of each time-varying coefficient in each age interval
            (:func:`bayessa.posterior.time_varying.interval_hazard_ratios`): one row per
            coefficient and interval, with ``coef``, ``interval``, ``start``, ``end``.

        Returns
        -------
        pandas.DataFrame
            One row per coefficient (index ``coef``); empty when the model has no covariates
            (with ``by_interval``, no time-varying effects).
        """
        post = self.idata["posterior"].dataset
        if by_interval:
            from bayessa.posterior.time_varying import interval_hazard_ratios

            cuts = [float(c) for c in json.loads(self.idata.attrs["bayessa_cuts"])]
            return interval_hazard_ratios(post, cuts, ci_prob=ci_prob)
        if "beta" not in post:
            return pd.DataFrame(
                columns=[
                    "log_hr_mean",
                    "log_hr_sd",
                    "hr_median",
                    "hr_lower",
                    "hr_upper",
                    "p_hr_gt_1",
                ]
            )
        b = post["beta"].stack(sample=("chain", "draw")).transpose("coef", "sample").to_numpy()
        a = (1 - ci_prob) / 2
        q = np.quantile(b, [a, 0.5, 1 - a], axis=1)
        out = pd.DataFrame(
            {
                "log_hr_mean": b.mean(axis=1),
                "log_hr_sd": b.std(axis=1, ddof=1),
                "hr_median": np.exp(q[1]),
                "hr_lower": np.exp(q[0]),
                "hr_upper": np.exp(q[2]),
                "p_hr_gt_1": (b > 0).mean(axis=1),
            },
            index=pd.Index([str(x) for x in post["coef"].values], name="coef"),
        )
        from bayessa.model.smooth import smooth_groups
        from bayessa.posterior.predict import DesignInfo

        info = DesignInfo.from_datatree(self.idata)
        if info.numeric:  # say what each numeric coefficient is per
            out["per"] = [
                ", ".join(info.numeric[v].coefficient_unit() for v, lv in combo if lv is None)
                for combo in info.coef_levels
            ]
            in_smooth = {j for idx in smooth_groups(info.numeric, info.coef_levels).values()
                         for j in idx}  # fmt: skip
            out = out.iloc[[j for j in range(len(out)) if j not in in_smooth]]
        return out

    def smooth(self, column: str, *, ci_prob: float = 0.95, n_grid: int = 101) -> pd.DataFrame:
        r"""The curve of the smooth ``s(column)``: log HR against the reference value, on a grid.

        :math:`\log \mathrm{HR}(x) = f(x) - f(r)` with posterior median, equal-tailed interval
        and :math:`P(\mathrm{HR} > 1)` at each grid point
        (:func:`bayessa.posterior.smooths.smooth_table`).

        Parameters
        ----------
        column : str
            The smoothed column, e.g. ``"age"`` for ``s(age)``.
        ci_prob : float, default 0.95
        n_grid : int, default 101

        Returns
        -------
        pandas.DataFrame
        """
        from bayessa.posterior.smooths import smooth_table

        return smooth_table(self.idata, column, ci_prob=ci_prob, n_grid=n_grid)

    def smooths(self, *, ci_prob: float = 0.95) -> dict[str, pd.DataFrame]:
        """:meth:`smooth` of every smoothed column (empty without smooths).

        Parameters
        ----------
        ci_prob : float, default 0.95

        Returns
        -------
        dict of str to pandas.DataFrame
        """
        from bayessa.posterior.predict import DesignInfo
        from bayessa.posterior.smooths import smooth_columns

        columns = smooth_columns(DesignInfo.from_datatree(self.idata))
        return {c: self.smooth(c, ci_prob=ci_prob) for c in columns}

    def diagnostics(self, **thresholds):
        """The convergence gate (:func:`bayessa.checks.diagnostics.check`).

        Parameters
        ----------
        **thresholds
            Keyword thresholds of :func:`bayessa.checks.diagnostics.check` (``max_rhat``, ...).

        Returns
        -------
        Diagnostics
        """
        from bayessa.checks.diagnostics import check

        return check(self.idata, table=self._parameter_table(), **thresholds)

    # ------------------------------------------------------------------ persistence

    def save(
        self,
        directory: str | Path,
        *,
        overwrite: bool = False,
        command: str | None = None,
        report: bool = True,
    ) -> Path:
        """Write the run into ``directory`` atomically.

        Files: ``idata.nc``, ``summary.csv``, ``diagnostics.json``, ``hazard_ratios.csv``
        (and ``hazard_ratios_by_interval.csv`` with time-varying effects, ``smooths.csv`` with
        smooths),
        ``manifest.json``, ``spec.toml`` and the report (:mod:`bayessa.report`):
        ``report.html``, ``report.md``, ``contrasts.csv``, ``survival.csv``, ``report-*.png``.
        Everything is written into a temporary folder beside ``directory`` and moved into place
        at the end, so a failed or interrupted save leaves no half-written run. An existing run
        is replaced only with ``overwrite=True``. ``report=False`` skips the report (a few
        seconds; it can be written later with ``python -m bayessa.report RUN_DIR``).

        Parameters
        ----------
        directory : str or Path
            The run directory.
        overwrite : bool, default False
            Replace an existing run in ``directory``.
        command : str, optional
            The command line recorded in ``manifest.json`` (default: this process's ``sys.argv``).
        report : bool, default True
            Also write the report; if it fails, a ``ReportWarning`` is issued and the run is saved.

        Returns
        -------
        Path
            ``directory``.

        Raises
        ------
        SpecError
            ``directory`` cannot be written, or holds a run and ``overwrite`` is False.
        """
        from bayessa.posterior.rundir import write_atomically

        return write_atomically(
            Path(directory),
            lambda d: self._write(d, command=command, report=report),
            overwrite=overwrite,
        )

    def _write(self, d: Path, *, command: str | None, report: bool = True) -> None:
        import time

        t0 = time.perf_counter()
        self.idata.to_netcdf(d / "idata.nc", engine="h5netcdf")
        self.summary().to_csv(d / "summary.csv")
        diag = self.diagnostics()
        (d / "diagnostics.json").write_text(json.dumps(diag.to_dict(), indent=2) + "\n")
        self.hazard_ratios().to_csv(d / "hazard_ratios.csv")
        by_interval = self.hazard_ratios(by_interval=True)
        if not by_interval.empty:
            by_interval.to_csv(d / "hazard_ratios_by_interval.csv", index=False)
        if smooths := self.smooths():
            pd.concat(smooths.values()).to_csv(d / "smooths.csv", index=False)
        (d / "spec.toml").write_text(self.idata.attrs["bayessa_spec"])
        write_s = round(time.perf_counter() - t0, 3)
        report_parts: dict = {}
        report_s = self._write_report(d, diag, report_parts) if report else None
        attrs = self.idata.attrs
        manifest = {
            "name": self.spec.name,
            "command": command or " ".join(sys.argv),
            "seed": attrs["bayessa_seed"],
            "data_hash": attrs["bayessa_data_hash"],
            "versions": json.loads(attrs["bayessa_versions"]),
            "model": json.loads(attrs["bayessa_model_info"]),
            "audit": json.loads(attrs["bayessa_audit"]),
            "timings": json.loads(attrs.get("bayessa_timings", "{}"))
            | {"write_s": write_s, "report_s": report_s, "report_parts": report_parts},
            "files": [
                f
                for f in (*RUN_FILES, *OPTIONAL_RUN_FILES)
                if (d / f).is_file() or f == "manifest.json"
            ],
        }
        (d / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")

    def _write_report(self, d: Path, diag, parts: dict | None = None) -> float:
        """Write the report into ``d``; a failure warns instead of failing the save.

        Write the report into ``d``; a failure warns instead of losing the fit (the report can
        be rebuilt with ``python -m bayessa.report``). Returns the seconds it took.
        """
        import time
        import warnings

        from bayessa.report.build import ReportWarning, write_report

        t = time.perf_counter()
        try:
            write_report(self, d, diagnostics=diag, timings=parts)
        except Exception as err:  # noqa: BLE001 - the run itself must still be saved
            warnings.warn(
                f"the report could not be written ({type(err).__name__}: {err}); the run is "
                "saved; rebuild it with python -m bayessa.report RUN_DIR",
                ReportWarning,
                stacklevel=3,
            )
        return round(time.perf_counter() - t, 3)


def load(directory: str | Path) -> FitResult:
    """Restore a saved run (``FitResult`` without the prepared data).

    Parameters
    ----------
    directory : str or Path
        A run directory written by :meth:`FitResult.save`, or the folder of a competing-risks
        fit (:meth:`bayessa.api.competing.CompetingRisksResult.save`).

    Returns
    -------
    FitResult or CompetingRisksResult
        With ``info`` as a dict.

    Raises
    ------
    SpecError
        The folder has no ``idata.nc``.
    """
    import tomllib

    from bayessa.model.spec import Spec

    d = Path(directory)
    nc = d / "idata.nc"
    manifest = d / "manifest.json"
    if not nc.is_file() and manifest.is_file() and "causes" in json.loads(manifest.read_text()):
        from bayessa.api.competing import CompetingRisksResult

        runs = json.loads(manifest.read_text())["runs"]
        results = {cause: load(d / folder) for cause, folder in runs.items()}
        return CompetingRisksResult(results, spec=next(iter(results.values())).spec)
    if not nc.is_file():
        raise SpecError(
            f"'{d}' is not a bayessa run directory (no idata.nc); give the --out folder of a fit"
        )
    dt = xr.open_datatree(nc, engine="h5netcdf").load()
    spec = Spec.from_dict(tomllib.loads(dt.attrs["bayessa_spec"]), source=str(d / "spec.toml"))
    return FitResult(
        idata=dt, spec=spec, prepared=None, info=json.loads(dt.attrs["bayessa_model_info"])
    )
