r"""The expansion analysis' data: eras, exposure slices, founding counts and new units' traits.

From the one-row-per-unit table (the survival analysis' own, read with its ``[data]`` roles) the
expansion analysis needs, for every unit, its founding date, its cluster (county), its traits at
founding (leader type, setting) and its follow-up (closed at, or last seen). This module turns
them into

* :class:`Eras`: calendar boundaries of the eras, the founding window and the end of follow-up;
* **slices**: the founding window cut at the eras and at calendar years, each with its length in
  years -- the exposure of the founding counts (a rate is new units per year);
* **founding counts** per (slice, cluster): :math:`N_{jc}` units founded in slice :math:`j` in
  cluster :math:`c`, with exposure :math:`t_j`;
* **new units** with their era and traits, for the composition models.

Dates are whole days since 1970-01-01; durations in years of 365.25 days.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from bayessa.data.columns import TIME_UNITS, Columns
from bayessa.data.read import read_data
from bayessa.errors import DataError, Problem, SpecError
from bayessa.model.spec import Spec

__all__ = ["Eras", "ExpansionData", "read_expansion"]

_YEAR = TIME_UNITS["years"]
_EPOCH = np.datetime64("1970-01-01", "D")


def _day(date: str, what: str) -> int:
    try:
        return int((np.datetime64(date, "D") - _EPOCH).astype(np.int64))
    except ValueError:
        raise SpecError(
            f"[expansion] {what} must be an ISO date (YYYY-MM-DD), got {date!r}"
        ) from None


def _iso(day: float) -> str:
    return str(_EPOCH + np.timedelta64(int(day), "D"))


@dataclass(frozen=True)
class Eras:
    """Eras on the calendar, the founding window and the end of follow-up (days since 1970).

    Parameters
    ----------
    cuts : (E - 1,) int
        First day of each era after the first.
    labels : tuple of str
        The ``E`` eras, in time order.
    first, last : int
        First and last day of the founding window (inclusive).
    end : int
        Last day of follow-up.
    """

    cuts: np.ndarray
    labels: tuple[str, ...]
    first: int
    last: int
    end: int

    def of(self, day: np.ndarray) -> np.ndarray:
        """The era (index into :attr:`labels`) of each day.

        Parameters
        ----------
        day : array of int

        Returns
        -------
        array of int
        """
        return np.searchsorted(self.cuts, np.asarray(day), side="right")

    @property
    def bounds(self) -> list[tuple[int, int]]:
        """Each era's first day and the day after its last, within the founding window."""
        edges = [self.first, *[int(c) for c in self.cuts], self.last + 1]
        return [
            (max(a, self.first), min(b, self.last + 1))
            for a, b in zip(edges, edges[1:], strict=False)
        ]

    @property
    def years(self) -> np.ndarray:
        """Each era's length within the founding window, in years."""
        return np.array([(b - a) / _YEAR for a, b in self.bounds])

    def describe(self) -> list[str]:
        """One line per era: label and dates.

        Returns
        -------
        list of str
        """
        return [f"{lab}: {_iso(a)} to {_iso(b - 1)} ({(b - a) / _YEAR:.2f} years)"
                for lab, (a, b) in zip(self.labels, self.bounds, strict=True)]  # fmt: skip

    def slices(self) -> pd.DataFrame:
        """The founding window cut at the eras and at calendar years.

        Returns
        -------
        pandas.DataFrame
            One row per slice, in time order: ``era`` (label), ``year`` (calendar year),
            ``start``, ``stop`` (days; ``stop`` exclusive), ``years`` (length in years),
            ``mid`` (decimal calendar year of the slice's middle).
        """
        y0 = int(str(_EPOCH + np.timedelta64(self.first, "D"))[:4])
        y1 = int(str(_EPOCH + np.timedelta64(self.last, "D"))[:4])
        jan1 = [_day(f"{y}-01-01", "window") for y in range(y0, y1 + 2)]
        edges = np.unique(np.clip([*jan1, *self.cuts, self.first, self.last + 1],
                                  self.first, self.last + 1))  # fmt: skip
        start, stop = edges[:-1], edges[1:]
        year = np.searchsorted(np.asarray(jan1), start, side="right") - 1 + y0
        return pd.DataFrame({
            "era": pd.Categorical.from_codes(self.of(start), categories=list(self.labels)),
            "year": year, "start": start, "stop": stop, "years": (stop - start) / _YEAR,
            "mid": 1970 + 0.5 * (start + stop) / _YEAR,
        })  # fmt: skip


@dataclass(frozen=True)
class ExpansionData:
    """The units as the expansion analysis reads them.

    Parameters
    ----------
    units : pandas.DataFrame
        One row per unit founded in the window: ``id``, ``founded`` (day), ``exit`` (day: the
        closure, or the last day seen), ``closed`` (bool), ``lost`` (bool: not closed and last
        seen before :attr:`Eras.end`), ``era`` (Categorical), the cluster and the composition
        variables (Categoricals).
    eras : Eras
    cluster : str or None
        The cluster column.
    composition : tuple of str
        The composition variables.
    notes : tuple of str
        What was excluded or assumed.
    source : str
        Where the table came from.
    """

    units: pd.DataFrame
    eras: Eras
    cluster: str | None
    composition: tuple[str, ...]
    notes: tuple[str, ...] = ()
    source: str = ""

    @property
    def clusters(self) -> list[str]:
        """The cluster levels seen (sorted)."""
        if self.cluster is None:
            return []
        return [str(c) for c in self.units[self.cluster].cat.categories]

    @cached_property
    def slices(self) -> pd.DataFrame:
        """:meth:`Eras.slices`."""
        return self.eras.slices()

    def founding_counts(self) -> pd.DataFrame:
        """New units per (slice, cluster), with the slice's exposure.

        Returns
        -------
        pandas.DataFrame
            One row per slice and cluster (every cluster in every slice, zeros included):
            ``slice`` (row of :attr:`slices`), ``era``, ``year``, ``mid``, the cluster,
            ``years`` and ``groups``.
        """
        s = self.slices
        j = (
            np.searchsorted(s["start"].to_numpy(), self.units["founded"].to_numpy(), side="right")
            - 1
        )
        levels = self.clusters or ["all"]
        c = self.units[self.cluster].cat.codes.to_numpy() if self.cluster else np.zeros(len(j), int)
        counts = np.bincount(j * len(levels) + c, minlength=len(s) * len(levels))
        out = s.loc[np.repeat(np.arange(len(s)), len(levels)), ["era", "year", "mid", "years"]]
        out = out.reset_index(names="slice")
        name = self.cluster or "cluster"
        out.insert(4, name, pd.Categorical(np.tile(levels, len(s)), categories=levels))
        out["groups"] = counts
        return out

    def per_era(self) -> pd.DataFrame:
        """Observed foundings per era.

        Returns
        -------
        pandas.DataFrame
            ``era``, ``groups``, ``years``, ``rate`` (groups per year), ``first``, ``last``
            (the era's dates within the window).
        """
        e = self.eras
        groups = np.bincount(self.units["era"].cat.codes, minlength=len(e.labels))
        return pd.DataFrame({
            "era": list(e.labels), "groups": groups, "years": e.years, "rate": groups / e.years,
            "first": [_iso(a) for a, _ in e.bounds], "last": [_iso(b - 1) for _, b in e.bounds],
        })  # fmt: skip


def _eras(spec: Spec, founded: np.ndarray, last_seen: np.ndarray) -> Eras:
    x = spec.expansion
    if not x.era_cuts:
        raise SpecError(
            "the expansion analysis needs the eras' calendar boundaries: [expansion] era_cuts = "
            '["1989-01-01", ...] in the spec (--era-cuts 1989-01-01,1993-01-01)'
        )
    cuts = np.array([_day(c, "era_cuts") for c in x.era_cuts])
    if not (np.diff(cuts) > 0).all():
        raise SpecError(f"[expansion] era_cuts must increase, got {list(x.era_cuts)}")
    labels = tuple(x.era_labels) or tuple(f"era {i + 1}" for i in range(len(cuts) + 1))
    first = _day(x.window[0], "window") if x.window else int(founded.min())
    last = _day(x.window[1], "window") if x.window else int(founded.max())
    end = _day(x.end, "end") if x.end else int(max(last_seen.max(), last))
    problems = []
    if last < first:
        problems.append(f"[expansion] window ends ({_iso(last)}) before it starts ({_iso(first)})")
    if end < last:
        problems.append(f"[expansion] end {_iso(end)} is before the last founding day {_iso(last)}")
    if not (first < cuts[0] and cuts[-1] <= last):
        problems.append(
            f"[expansion] era_cuts {list(x.era_cuts)} must lie inside the founding window "
            f"{_iso(first)} to {_iso(last)}, each era holding some days"
        )
    if problems:
        raise SpecError(problems)
    return Eras(cuts, labels, first, last, end)


def read_expansion(
    data: str | pd.DataFrame | None, spec: Spec, *, on_invalid: str | None = None
) -> ExpansionData:
    """Read and validate the units for the expansion analysis.

    Parameters
    ----------
    data : path, DataFrame or None
        The units; ``None`` takes the spec's ``[data] path``.
    spec : Spec
        Its ``[data]`` roles (a founding date ``start`` is required) and ``[expansion]`` table.
    on_invalid : {"raise", "exclude"}, optional
        Default the spec's.

    Returns
    -------
    ExpansionData

    Raises
    ------
    DataError
        Invalid rows (as the survival analysis reports them), an era column that disagrees
        with the era boundaries (naming the units).
    SpecError
        No founding date, no eras, a window or eras outside the data.
    """
    x = spec.expansion
    if spec.data.start is None:
        raise SpecError(
            "the expansion analysis needs each unit's founding date: [data] start = "
            '"<column>" (--start COL), with dates'
        )
    cluster = x.cluster or _formula_cluster(spec)
    covariates = tuple(dict.fromkeys([*x.composition, *([x.era] if x.era else [])]))
    roles = {k: getattr(spec.data, k) for k in
             ("id", "time", "event", "start", "stop", "event_date", "censor_date", "entry",
              "tstart", "tstop", "time_lower", "time_upper")}  # fmt: skip
    columns = Columns(**roles, covariates=covariates, cluster=cluster, categorical=covariates)
    source = data if data is not None else spec.data.path
    if source is None:
        raise SpecError("no data given: pass a path or DataFrame, or set [data] path in the spec")
    sd = read_data(source, columns, time_unit="years",
                   on_invalid=on_invalid or spec.data.on_invalid)  # fmt: skip
    f = sd.units
    founded = np.rint(f["origin"].to_numpy() * _YEAR).astype(np.int64)
    closed = (f["event"].to_numpy() == 1) | sd.interval_censored[: len(f)]
    exit_day = np.rint((f["origin"].to_numpy() + f["exit"].to_numpy()) * _YEAR).astype(np.int64)
    eras = _eras(spec, founded, exit_day)
    inside = (founded >= eras.first) & (founded <= eras.last)
    notes = [f"{int((~inside).sum())} units founded outside the window "
             f"{_iso(eras.first)} to {_iso(eras.last)} are left out"] if (~inside).any() else []  # fmt: skip
    era = eras.of(founded)
    if x.era:
        _check_era_column(f, x.era, era, eras, inside)
    units = pd.DataFrame({
        "id": f["id"].to_numpy(), "founded": founded, "exit": exit_day, "closed": closed,
        "lost": ~closed & (exit_day < eras.end),
        "era": pd.Categorical.from_codes(era, categories=list(eras.labels)),
    })[inside].reset_index(drop=True)  # fmt: skip
    for c in ([cluster] if cluster else []) + list(x.composition):
        units[c] = pd.Categorical(f[c].astype(str).to_numpy()[inside])
    return ExpansionData(units, eras, cluster, tuple(x.composition), tuple(notes), str(source))


def _formula_cluster(spec: Spec) -> str | None:
    from bayessa.model.formula import parse_terms

    terms, _ = parse_terms(spec.model.formula, None)
    return next(iter(terms.random), None) if terms is not None else None


def _check_era_column(f: pd.DataFrame, name: str, era: np.ndarray, eras: Eras, inside) -> None:
    given = f[name].astype(str).to_numpy()
    implied = np.asarray(eras.labels, dtype=object)[era]
    bad = inside & (given != implied)
    if bad.any():
        raise DataError(
            Problem(
                f"era column disagrees with the era boundaries {[_iso(c) for c in eras.cuts]} "
                f"(e.g. unit {f['id'].to_numpy()[bad][0]}: '{given[bad][0]}', founded in "
                f"'{implied[bad][0]}')",
                "correct the era column or [expansion] era_cuts / era_labels",
                column=name,
                ids=tuple(f["id"].to_numpy()[bad]),
            )
        )
