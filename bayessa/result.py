"""Fitted results: the DataTree layout, :class:`FitResult`, saving a run and loading it back.

DataTree layout (ArviZ 1.x; survival layout as ArviZ's Kaplan-Meier PPC helpers expect):

=================  ===========================================================================
posterior          model parameters (``baseline``, ``beta``, ``cluster_effect``, ...)
sample_stats       sampler statistics (divergences, energy, tree depth, ...)
observed_data      ``time`` (unit): exit time; ``events`` (cell): events per cell
constant_data      ``time`` (unit): event status (1 event, 0 censored), same name as the times;
                   ``entry`` (unit); ``origin`` (unit, calendar time of time zero, NaN if
                   unknown); ``exposure`` (cell); ``interval`` (cell); unit covariates
log_likelihood     ``time`` (chain, draw, unit): per-unit survival log-likelihood, for LOO
attrs              spec (TOML), data hash, seed, package versions, model facts, data audit
=================  ===========================================================================
"""

from __future__ import annotations

import json
import platform
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from bayessa.errors import SpecError

__all__ = ["FitResult", "RUN_FILES", "assemble", "load", "versions"]

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


def versions() -> dict[str, str]:
    """Versions of bayessa and the libraries a result depends on."""
    import importlib.metadata as md

    out = {"python": platform.python_version()}
    for name in (
        "bayessa",
        "pymc",
        "pytensor",
        "arviz",
        "arviz-base",
        "arviz-stats",
        "nutpie",
        "numpy",
        "pandas",
        "xarray",
        "formulae",
    ):
        try:
            out[name] = md.version(name)
        except md.PackageNotFoundError:
            continue
    return out


def assemble(dt, prepared, spec, info, *, log_likelihood: bool | str = "auto"):
    """Add data groups, the per-unit log-likelihood and attrs to a sampled DataTree."""
    from bayessa.loglik import DEFAULT_MAX_ELEMENTS, unit_log_likelihood
    from bayessa.predict import log_rate

    data, cells, design = prepared.data, prepared.cells, prepared.design
    f, c = data.frame, cells.frame
    units = f["id"].astype(str).to_numpy()
    unit_vars = {
        "time": ("unit", f["exit"].to_numpy()),
    }
    const = {
        "time": ("unit", f["event"].to_numpy().astype(np.int8)),
        "entry": ("unit", f["entry"].to_numpy()),
        # calendar time of each unit's time zero (NaN if unknown): predictive replicates need it
        "origin": ("unit", f["origin"].to_numpy(np.float64)),
        "exposure": ("cell", c["exposure"].to_numpy()),
        "interval": ("cell", c["interval"].cat.codes.to_numpy().astype(np.int16)),
    }
    for v in (*data.covariates, *([data.cluster] if data.cluster else [])):
        const[f"unit_{v}"] = ("unit", f[v].astype(str).to_numpy())
    for k in cells.keys:
        if k != "interval":
            const[f"cell_{k}"] = ("cell", c[k].astype(str).to_numpy())
    coords = {"unit": units, "cell": np.arange(len(c))}
    dt["observed_data"] = xr.Dataset(
        {**unit_vars, "events": ("cell", c["events"].to_numpy())}, coords=coords
    )
    dt["constant_data"] = xr.Dataset(const, coords=coords)

    post = dt["posterior"].dataset
    S = post.sizes["chain"] * post.sizes["draw"]
    store = (
        log_likelihood if isinstance(log_likelihood, bool) else len(f) * S <= DEFAULT_MAX_ELEMENTS
    )
    if store:
        lr = log_rate(
            post,
            interval=const["interval"][1].astype(np.int64),
            X=design.X,
            stratum=c[spec.model.strata].cat.codes.to_numpy().astype(np.int64)
            if info.strata
            else None,
            cluster=design.random[0].codes if design.random else None,
            tv_columns=[design.coef_names.index(n) for n in info.time_varying_coefs],
        )
        ll = unit_log_likelihood(lr, cells).reshape(post.sizes["chain"], post.sizes["draw"], -1)
        dt["log_likelihood"] = xr.Dataset(
            {"time": (("chain", "draw", "unit"), ll)},
            coords={"chain": post["chain"].values, "draw": post["draw"].values, "unit": units},
        )
    # Sampler statistics of object dtype (messages) do not belong in a numeric archive.
    stats = dt["sample_stats"].dataset
    drop = [v for v in stats.data_vars if stats[v].dtype == object]
    if drop:
        dt["sample_stats"] = stats.drop_vars(drop)
    dt.attrs.update(
        {
            "bayessa_spec": spec.to_toml(),
            "bayessa_data_hash": data.data_hash,
            "bayessa_seed": int(spec.sampler.seed),
            "bayessa_versions": json.dumps(versions()),
            "bayessa_model_info": json.dumps(asdict(info)),
            "bayessa_audit": json.dumps(data.audit.to_dict()),
            "bayessa_split_notes": json.dumps(list(prepared.pieces.notes)),
            "bayessa_cuts": json.dumps(
                [float(x) if np.isfinite(x) else "inf" for x in prepared.pieces.cuts]
            ),
            "bayessa_time_unit": data.time_unit,
            # What prediction needs to rebuild design rows from a loaded run (no prepared data):
            # each coefficient's (variable, level) pairs, levels (reference first), the terms.
            "bayessa_design": json.dumps(
                {
                    "formula": design.formula,
                    "variables": list(design.variables),
                    "levels": {k: list(v) for k, v in design.levels.items()},
                    "reference": dict(design.reference),
                    "terms": list(design.terms),
                    "coef_names": list(design.coef_names),
                    "coef_levels": [[list(p) for p in c] for c in design.coef_levels],
                    "cluster": design.random[0].name if design.random else None,
                    "cluster_levels": list(design.random[0].levels) if design.random else [],
                }
            ),
            "bayessa_log_likelihood": "stored"
            if store
            else "not stored (units x samples too large; pass log_likelihood=True)",
        }
    )
    return dt


@dataclass
class FitResult:
    """A fitted model: the DataTree plus the spec (and, for fresh fits, the prepared data)."""

    idata: Any
    spec: Any
    prepared: Any = None
    info: Any = None

    # ------------------------------------------------------------------ numbers

    def summary(self, **kwargs) -> pd.DataFrame:
        """ArviZ summary (mean, sd, HDI, MCSE, ESS, R-hat) of every model parameter, one row each."""
        import arviz as az

        from bayessa.diagnostics import model_variables

        names = model_variables(self.idata["posterior"].dataset)
        kwargs.setdefault("ci_prob", 0.95)
        return az.summary(self.idata, var_names=names, **kwargs)

    def hazard_ratios(self, *, ci_prob: float = 0.95) -> pd.DataFrame:
        """Hazard ratio of every fixed-effect coefficient (vs the reference levels).

        Columns: ``log_hr_mean``, ``log_hr_sd``, ``hr_median``, ``hr_lower``, ``hr_upper`` (the
        equal-tailed ``ci_prob`` interval, :math:`\\exp` of the log-HR quantiles) and
        ``p_hr_gt_1`` = :math:`P(\\mathrm{HR} > 1 \\mid \\text{data})`.
        """
        post = self.idata["posterior"].dataset
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
        return pd.DataFrame(
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

    def diagnostics(self, **thresholds):
        """The convergence gate (:func:`bayessa.diagnostics.check`)."""
        from bayessa.diagnostics import check

        return check(self.idata, **thresholds)

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

        Files: ``idata.nc``, ``summary.csv``, ``diagnostics.json``, ``hazard_ratios.csv``,
        ``manifest.json``, ``spec.toml`` and the report (:mod:`bayessa.report`):
        ``report.html``, ``report.md``, ``contrasts.csv``, ``survival.csv``, ``report-*.png``.
        Everything is written into a temporary folder beside ``directory`` and moved into place
        at the end, so a failed or interrupted save leaves no half-written run. An existing run
        is replaced only with ``overwrite=True``. ``report=False`` skips the report (a few
        seconds; it can be written later with ``python -m bayessa.report RUN_DIR``).
        """
        from bayessa.runio import write_atomically

        return write_atomically(
            Path(directory),
            lambda d: self._write(d, command=command, report=report),
            overwrite=overwrite,
        )

    def _write(self, d: Path, *, command: str | None, report: bool = True) -> None:
        self.idata.to_netcdf(d / "idata.nc", engine="h5netcdf")
        self.summary().to_csv(d / "summary.csv")
        diag = self.diagnostics()
        (d / "diagnostics.json").write_text(json.dumps(diag.to_dict(), indent=2) + "\n")
        self.hazard_ratios().to_csv(d / "hazard_ratios.csv")
        (d / "spec.toml").write_text(self.idata.attrs["bayessa_spec"])
        report_s = self._write_report(d, diag) if report else None
        attrs = self.idata.attrs
        manifest = {
            "name": self.spec.name,
            "command": command or " ".join(sys.argv),
            "seed": attrs["bayessa_seed"],
            "data_hash": attrs["bayessa_data_hash"],
            "versions": json.loads(attrs["bayessa_versions"]),
            "model": json.loads(attrs["bayessa_model_info"]),
            "audit": json.loads(attrs["bayessa_audit"]),
            "timings": json.loads(attrs.get("bayessa_timings", "{}")) | {"report_s": report_s},
            "files": [f for f in RUN_FILES if (d / f).is_file() or f == "manifest.json"],
        }
        (d / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")

    def _write_report(self, d: Path, diag) -> float:
        """Write the report into ``d``; a failure warns instead of losing the fit (the report can
        be rebuilt with ``python -m bayessa.report``). Returns the seconds it took."""
        import time
        import warnings

        from bayessa.report import ReportWarning, write_report

        t = time.perf_counter()
        try:
            write_report(self, d, diagnostics=diag)
        except Exception as err:  # noqa: BLE001 - the run itself must still be saved
            warnings.warn(
                f"the report could not be written ({type(err).__name__}: {err}); the run is "
                "saved; rebuild it with python -m bayessa.report RUN_DIR",
                ReportWarning,
                stacklevel=3,
            )
        return round(time.perf_counter() - t, 3)


def load(directory: str | Path) -> FitResult:
    """Restore a saved run (``FitResult`` without the prepared data)."""
    import tomllib

    from bayessa.spec import Spec

    d = Path(directory)
    nc = d / "idata.nc"
    if not nc.is_file():
        raise SpecError(
            f"'{d}' is not a bayessa run directory (no idata.nc); give the --out folder of a fit"
        )
    dt = xr.open_datatree(nc, engine="h5netcdf").load()
    spec = Spec.from_dict(tomllib.loads(dt.attrs["bayessa_spec"]), source=str(d / "spec.toml"))
    return FitResult(
        idata=dt, spec=spec, prepared=None, info=json.loads(dt.attrs["bayessa_model_info"])
    )
