"""The ``[expansion]`` table of a spec: how the expansion analysis reads the table of units.

The expansion analysis (:mod:`bayessa.growth`, ``python -m bayessa.expansion``) asks how the
founding of new units, their composition and the organisation's reach changed across eras. It reads
the same one-row-per-unit table as the survival analysis (its ``[data]`` roles: ``id``, ``start``
= the founding date, the end of follow-up) and this table:

.. code-block:: toml

    [expansion]
    era_cuts = ["1989-01-01", "1993-01-01"]     # calendar boundaries of the eras
    era_labels = ["before", "early", "formal"]  # one more than the cuts
    era = "era"                                 # optional: a column checked against the cuts
    window = ["1985-07-01", "1999-03-31"]       # foundings counted from .. to (inclusive)
    end = "1999-06-30"                          # end of follow-up: reach is counted up to it
    composition = ["leader", "setting", "setting_type"]
    cluster = "county"                          # founding and composition vary by it
    trend = false                               # a random walk over calendar years
    family = "auto"                             # "poisson", "negbin" or chosen from the data
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ExpansionSpec", "FAMILIES"]

#: Count families of the founding model.
FAMILIES = ("auto", "poisson", "negbin")


@dataclass(frozen=True)
class ExpansionSpec:
    """The ``[expansion]`` table.

    Parameters
    ----------
    era_cuts : tuple of str, default ()
        Calendar boundaries of the eras (ISO dates), increasing; an era holds the dates from its
        boundary (inclusive) to the next (exclusive).
    era_labels : tuple of str, default ()
        One label per era (``len(era_cuts) + 1``); default ``era 1``, ``era 2``, ...
    era : str, optional
        A column holding each unit's era at founding; checked against ``era_cuts``.
    window : tuple of str, default ()
        First and last date of the founding window (inclusive); default the first and last
        founding date in the data.
    end : str, optional
        End of follow-up (reach is counted up to it); default the latest date in the data.
    composition : tuple of str, default ()
        Categorical columns whose distribution among new units is modelled by era.
    cluster : str, optional
        The grouping column (e.g. county) of founding rates and composition; default the
        survival formula's first random term.
    trend : bool, default False
        Add a random walk over calendar years to the founding rate.
    family : {"auto", "poisson", "negbin"}, default "auto"
        The founding counts' family; ``"auto"`` chooses from the data (see
        :mod:`bayessa.growth.founding`).
    """

    era_cuts: tuple[str, ...] = ()
    era_labels: tuple[str, ...] = ()
    era: str | None = None
    window: tuple[str, ...] = ()
    end: str | None = None
    composition: tuple[str, ...] = ()
    cluster: str | None = None
    trend: bool = False
    family: str = "auto"

    def problems(self) -> list[str]:
        """Inconsistencies within the table (dates are checked against the data later).

        Returns
        -------
        list of str
        """
        p = []
        if self.era_labels and len(self.era_labels) != len(self.era_cuts) + 1:
            p.append(
                f"[expansion] {len(self.era_cuts)} era_cuts make {len(self.era_cuts) + 1} eras "
                f"but {len(self.era_labels)} era_labels were given"
            )
        if len(set(self.era_labels)) != len(self.era_labels):
            p.append(f"[expansion] era_labels must be distinct, got {list(self.era_labels)}")
        if self.window and len(self.window) != 2:
            p.append(f"[expansion] window must be [first, last] founding date, got {self.window}")
        if self.family not in FAMILIES:
            p.append(f"[expansion] family must be one of {list(FAMILIES)}, got {self.family!r}")
        return p
