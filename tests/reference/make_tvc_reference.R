#!/usr/bin/env Rscript
# Reference values from R for bayessa with TIME-VARYING covariates and counting-process
# (start, stop] rows: the Poisson-GLM piecewise-exponential model (PEM) on split (start, stop]
# rows, R's tmerge() for building such rows from a change table, the log-rank (score) test with
# a time-varying group, and Kaplan-Meier on counting-process rows. The Python tests pin bayessa
# to these numbers (1e-8) without R.
#
# Run from the repository root:   Rscript tests/reference/make_tvc_reference.R
# Needs: R >= 4, survival (made with 3.5-3), jsonlite (Debian: apt-get install r-base-core
# r-cran-survival r-cran-jsonlite).
#
# Writes, into tests/reference/tvc/:
#   heart.csv          survival::heart as it is (172 counting-process rows of 103 Stanford heart
#                      transplant patients), columns id, start, stop, event, age, year, surgery,
#                      transplant; transplant written as integer 0/1 (R: factor "0"/"1"); R's row
#                      order is kept (by id, then start).
#   pbc_base.csv       one row per patient for the 312 randomised patients (survival::pbc,
#                      id <= 312): id, time (days), status (0 censored, 1 transplant, 2 death),
#                      event (= status == 2, integer), trt, age, sex ('m'/'f'), and the BASELINE
#                      bili, albumin, protime of survival::pbc.
#   pbc_changes.csv    survival::pbcseq's change table: id, day, bili, albumin, protime, one row
#                      per visit, ALL 1945 rows exactly as pbcseq has them (including each
#                      patient's day-0 visit; sorted by id, day; no missing values in these three).
#   pbc_tmerge.csv     the tmerge() result below: id, tstart, tstop, death, trt, age, sex, bili,
#                      albumin, protime (death integer 0/1).
#   tvc_reference.json every reference number, full precision (jsonlite digits = NA); NA -> null.
#
# The fits use the CSVs as read back by read.csv (write.csv keeps 15 significant digits), so R and
# the Python tests start from the same doubles.
#
# ---- tmerge (the survival "timedep" vignette, section "PBC data") ----
#   temp <- subset(pbc, id <= 312, select = c(id:sex))          # id time status trt age sex
#   pbc2 <- tmerge(temp, temp, id = id, death = event(time, status == 2))
#   pbc2 <- tmerge(pbc2, pbcseq, id = id, bili = tdc(day, bili), albumin = tdc(day, albumin),
#                  protime = tdc(day, protime))
# The vignette writes death = event(time, status) (0/1/2) and models death == 2, and also merges
# ascites and alk.phos; here death is the 0/1 indicator status == 2 (transplant = censored) and
# only the three labs are merged. No init= is given: temp holds no lab values, so every value
# comes from pbcseq. Every patient has a pbcseq visit on day 0 = tstart, which sets the value of
# the first interval (a "leading" change): the value before the first non-baseline visit is
# pbcseq's day-0 value, NOT pbc's baseline column. They differ for two patients: id 81 (bili:
# pbcseq day 0 = 2.0, pbc = 14.4) and id 107 (protime: pbcseq day 0 = 10.7, pbc = 17.1).
# tmerge rules (read from survival 3.5-3's source and checked on toy data and, below, against an
# independent construction of pbc2):
#   * First call: one interval (0, time] per id (tstart defaults to 0); death is set on the row
#     ending at `time` (the event time equals tstop: a "trailing" addition).
#   * A tdc change at time t applies to every row of that id with tstart >= t; it is in force
#     from t on. Rows before t keep the previous value (init/tdcstart = NA if none).
#   * t strictly inside an existing row (tstart < t < tstop, "within") splits that row at t.
#   * t at or before the id's first tstart ("leading" if t == tstart, "early" if t < tstart) sets
#     the value of the first row (when several, the one with the latest t wins); no split.
#   * t == tstop of the id's last row ("trailing") or t > that tstop ("late"): no new row and no
#     effect on any value (the change lies at/after the end of follow-up). pbcseq has 138 visits
#     after the pbc follow-up time (pbcseq's own futime was updated later; tmerge does NOT extend
#     follow-up, deliberately).
#   * t on the join of two touching rows ("boundary", tstop_k == tstart_k+1 == t): no split; the
#     new value applies to the later row. For the 2nd and 3rd tdc (albumin, protime) every
#     within-follow-up visit day is already a boundary created by bili's splits.
#   * t in a gap between non-touching rows ("gap"): no split, applies from the next row on.
#   * Two changes for the same id at the same t ("tied"): the one LATER in data2's row order wins
#     (not the larger value); each tied row is also counted in its own category.
#   * Changes whose value (or time) is NA are dropped first (na.rm = TRUE: last value carried
#     forward). pbcseq has no NA in bili, albumin or protime.
#   * An event() at a boundary goes to the EARLIER row (the one ending at t); at a leading edge it
#     is discarded.
#   tcount (attr(pbc2, "tcount")): one row per term added, columns early, late, gap, within,
#   boundary, leading, trailing, tied, missid (counts of data2 rows per category; missid = data2
#   ids not in data1).
#
# ---- PEM cases (key `cases`) ----
#   sp <- survSplit(Surv(start, stop, event) ~ ., data, cut = cuts, episode = "interval")
#   glm(event ~ 0 + factor(interval) + <terms> + offset(log(stop - start)), family = poisson,
#       control = glm.control(epsilon = 1e-14, maxit = 100)), refitted with start = coef(fit) so
#   the SEs are the inverse Fisher information at the estimate itself (as make_numeric_reference.R).
#   Intervals are right-closed (a, b], the last one open, labelled (last cut, inf]; a row
#   (start, stop] is cut at every cut point strictly inside it; a piece lies in interval k when
#   b_{k-1} <= start < stop <= b_k. Exposure = stop - start of the pieces. Covariates are those of
#   the row at that time (time-varying). loglik = logLik.glm on the split rows (offset included).
#   Coefficient names as in make_numeric_reference.R: numeric terms by written name (log(bili)),
#   factor levels as var[level] (bayessa's C(transplant) -> transplant[1]), baseline log-rates
#   as interval[(a,b]]. Each case is also refitted on cells (interval x covariate values) as a
#   check, its events and exposure per interval are recomputed by hand from the unsplit rows,
#   and it is compared with coxph on the unsplit rows (`cox_sanity`, not a reference; the
#   discrete Poisson trick over the rows' risk sets start < t <= stop is checked to reproduce
#   coxph(ties = "breslow") to 1e-6). With the coarse cuts used here the PEM and Cox estimates differ by a fraction of an SE (heart's
#   transplant: PEM -0.123, Cox +0.016, SE 0.29), since transplants happen later within the wide
#   early intervals, where the true baseline hazard is falling steeply.
#
# ---- log-rank with counting-process rows (key `logrank`) ----
#   Hand loop over distinct event times t: at risk are the ROWS with start < t <= stop, in the
#   group of the row's CURRENT value; d_t = rows with stop == t and event == 1.
#   O_g = sum d_gt, E_g = sum d_t n_gt / n_t, V = sum d_t (n_t - d_t)/(n_t - 1) (diag(p) - p p'),
#   p = n_gt / n_t; statistic = u' V^-1 u on all groups but the first. The statistic must equal
#   coxph(Surv(start, stop, event) ~ factor(group), ties = "exact")$score (checked to 1e-8).
#   n = number of ROWS per group (a patient who changes group counts in both); n_subjects_ever =
#   patients with at least one row in the group.
#
# ---- Kaplan-Meier (key `kaplan_meier`) ----
#   survfit(Surv(start, stop, event) ~ 1, data = heart) (conf.type "log"), exported exactly as
#   make_reference.R exports KM: rows of summary(fit, censored = TRUE), where std_err is the SE of
#   S(t) (= S(t) * fit$std.err); this file adds std_err_cumhaz = fit$std.err (R's survfit
#   std.err, the SE of the cumulative hazard) and n_censor_id = n.censor of the same fit with
#   id = id. Without id, R counts every row that ends without an event as censored, including
#   the row ended by a transplant (the patient continues in the next row); with id = id only real
#   ends of follow-up count. The times listed include such internal row ends (e.g. 4.5) even when
#   nothing else happens there. surv, n.risk, std.err do not depend on id. `summary` is
#   summary(fit, rmean = tau)$table.
#
# ---- data notes ----
#   heart: rows per id are contiguous, each id starts at 0, at most one event per id, the event
#   (if any) on the last row; no row has start == stop; the shortest row is id 38's (4.5, 5]
#   (transplant and death on the same day: R's jasa1 put the transplant at 4.5). heart's times
#   are jasa's futime + 1 day for every patient (so log-rank on collapsed heart == on jasa).

suppressPackageStartupMessages({
  library(survival)
  library(jsonlite)
})

args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", args[grep("^--file=", args)])
here <- if (length(script)) dirname(normalizePath(script)) else "tests/reference"
out_dir <- file.path(here, "tvc")
dir.create(out_dir, showWarnings = FALSE)

ctl <- glm.control(epsilon = 1e-14, maxit = 100)
same <- function(a, b, tol = 1e-12) {
  isTRUE(all.equal(a, b, tolerance = tol, check.attributes = FALSE))
}

write_csv <- function(df, name) {
  write.csv(df, file.path(out_dir, name), row.names = FALSE, na = "")
}
read_back <- function(name, orig) {
  d <- read.csv(file.path(out_dir, name), stringsAsFactors = FALSE, na.strings = "")
  stopifnot(identical(names(d), names(orig)), nrow(d) == nrow(orig))
  for (v in names(d)) {
    if (is.numeric(orig[[v]])) stopifnot(same(d[[v]], as.numeric(orig[[v]]), 1e-14))
    else stopifnot(identical(as.character(d[[v]]), as.character(orig[[v]])))
  }
  d
}

# ---------------------------------------------------------------- data: heart
heart_out <- data.frame(
  id = as.integer(heart$id), start = heart$start, stop = heart$stop,
  event = as.integer(heart$event), age = heart$age, year = heart$year,
  surgery = as.integer(heart$surgery),
  transplant = as.integer(as.character(heart$transplant))
)
stopifnot(identical(heart_out$transplant, as.integer(heart$transplant) - 1L))
write_csv(heart_out, "heart.csv")
heart_df <- read_back("heart.csv", heart_out)

hs <- split(heart_df, heart_df$id)
heart_notes <- list(
  n_rows = nrow(heart_df), n_ids = length(hs),
  rows_per_id = as.list(table(factor(sapply(hs, nrow)))),
  contiguous = all(sapply(hs, function(d) nrow(d) == 1 ||
                            all(d$start[-1] == d$stop[-nrow(d)]))),
  all_start_at_zero = all(sapply(hs, function(d) d$start[1] == 0)),
  max_events_per_id = max(sapply(hs, function(d) sum(d$event))),
  event_only_on_last_row = all(sapply(hs, function(d) all(d$event[-nrow(d)] == 0))),
  n_rows_start_eq_stop = sum(heart_df$start == heart_df$stop),
  shortest_row = as.list(heart_df[which.min(heart_df$stop - heart_df$start),
                                  c("id", "start", "stop", "event", "transplant")]),
  n_events = sum(heart_df$event),
  n_distinct_event_times = length(unique(heart_df$stop[heart_df$event == 1])),
  n_transplanted = sum(sapply(hs, function(d) any(d$transplant == 1))),
  stop_equals_jasa_futime_plus_1 = all(sapply(hs, function(d) max(d$stop)) ==
                                         jasa$futime + 1)
)
stopifnot(heart_notes$contiguous, heart_notes$all_start_at_zero,
          heart_notes$event_only_on_last_row, heart_notes$n_rows_start_eq_stop == 0)

# ---------------------------------------------------------------- data: pbc
pbc_r <- pbc[pbc$id <= 312, ]
pbc_base <- data.frame(
  id = pbc_r$id, time = pbc_r$time, status = pbc_r$status,
  event = as.integer(pbc_r$status == 2), trt = pbc_r$trt, age = pbc_r$age,
  sex = as.character(pbc_r$sex), bili = pbc_r$bili, albumin = pbc_r$albumin,
  protime = pbc_r$protime, stringsAsFactors = FALSE
)
stopifnot(nrow(pbc_base) == 312, !anyNA(pbc_base))
write_csv(pbc_base, "pbc_base.csv")
pbc_base_df <- read_back("pbc_base.csv", pbc_base)

pbc_changes <- data.frame(id = pbcseq$id, day = pbcseq$day, bili = pbcseq$bili,
                          albumin = pbcseq$albumin, protime = pbcseq$protime)
stopifnot(!anyNA(pbc_changes))
write_csv(pbc_changes, "pbc_changes.csv")
pbc_changes_df <- read_back("pbc_changes.csv", pbc_changes)

# ---------------------------------------------------------------- tmerge (vignette)
temp <- subset(pbc, id <= 312, select = c(id:sex))
pbc2 <- tmerge(temp, temp, id = id, death = event(time, status == 2))
pbc2 <- tmerge(pbc2, pbcseq, id = id, bili = tdc(day, bili), albumin = tdc(day, albumin),
               protime = tdc(day, protime))
tcount <- attr(pbc2, "tcount")
pbc2 <- as.data.frame(unclass(pbc2), stringsAsFactors = FALSE)
pbc_tm <- data.frame(
  id = pbc2$id, tstart = pbc2$tstart, tstop = pbc2$tstop, death = as.integer(pbc2$death),
  trt = pbc2$trt, age = pbc2$age, sex = as.character(pbc2$sex), bili = pbc2$bili,
  albumin = pbc2$albumin, protime = pbc2$protime, stringsAsFactors = FALSE
)
stopifnot(!anyNA(pbc_tm), all(pbc_tm$tstop > pbc_tm$tstart))
write_csv(pbc_tm, "pbc_tmerge.csv")
pbc_tm_df <- read_back("pbc_tmerge.csv", pbc_tm)
stopifnot(identical(pbc_tm_df$age, pbc_base_df$age[match(pbc_tm_df$id, pbc_base_df$id)]))

# Independent construction from the two CSVs, written from the rules in the header: break at
# every change day strictly inside (0, time]; each row takes the last change with day <= tstart.
hand_tmerge <- function(base, ch, vars) {
  rows <- lapply(seq_len(nrow(base)), function(i) {
    b <- base[i, ]
    c_i <- ch[ch$id == b$id, ]
    c_i <- c_i[order(c_i$day), ]
    cuts <- sort(unique(c_i$day[c_i$day > 0 & c_i$day < b$time]))
    st <- c(0, cuts); en <- c(cuts, b$time)
    out <- data.frame(id = b$id, tstart = st, tstop = en,
                      death = c(rep(0L, length(cuts)), b$event), trt = b$trt, age = b$age,
                      sex = b$sex, stringsAsFactors = FALSE)
    for (v in vars) {
      out[[v]] <- vapply(st, function(s) {
        k <- which(c_i$day <= s)
        if (length(k)) c_i[[v]][max(k)] else NA_real_
      }, 0)
    }
    out
  })
  do.call(rbind, rows)
}
pbc_hand <- hand_tmerge(pbc_base_df, pbc_changes_df, c("bili", "albumin", "protime"))
stopifnot(nrow(pbc_hand) == nrow(pbc_tm_df))
for (v in names(pbc_tm_df)) stopifnot(all(pbc_hand[[v]] == pbc_tm_df[[v]]))  # exact equality

# categories of each change row relative to the single (0, time] row of the first call
ch_time <- pbc_base_df$time[match(pbc_changes_df$id, pbc_base_df$id)]
first_visit <- pbc_changes_df[!duplicated(pbc_changes_df$id), ]
fv_base <- pbc_base_df[match(first_visit$id, pbc_base_df$id), ]
diff_ids <- function(v) first_visit$id[first_visit[[v]] != fv_base[[v]]]
tm_rows_per_id <- table(pbc_tm_df$id)
tmerge_info <- list(
  call = paste(
    "temp <- subset(pbc, id <= 312, select = c(id:sex));",
    "pbc2 <- tmerge(temp, temp, id = id, death = event(time, status == 2));",
    "pbc2 <- tmerge(pbc2, pbcseq, id = id, bili = tdc(day, bili),",
    "albumin = tdc(day, albumin), protime = tdc(day, protime))"),
  base = "pbc_base.csv", changes = "pbc_changes.csv", result = "pbc_tmerge.csv",
  id = "id", base_time = "time", base_event = "event", change_time = "day",
  tdc = c("bili", "albumin", "protime"), init = NULL,
  n_base = nrow(pbc_base_df), n_changes = nrow(pbc_changes_df), n_rows = nrow(pbc_tm_df),
  n_events = sum(pbc_tm_df$death), total_exposure = sum(pbc_tm_df$tstop - pbc_tm_df$tstart),
  tcount_columns = colnames(tcount),
  tcount = setNames(lapply(rownames(tcount), function(r) as.list(tcount[r, ])),
                    rownames(tcount)),
  change_day_counts = list(
    day_zero = sum(pbc_changes_df$day == 0),
    inside_follow_up = sum(pbc_changes_df$day > 0 & pbc_changes_df$day < ch_time),
    at_end_of_follow_up = sum(pbc_changes_df$day == ch_time),
    after_end_of_follow_up = sum(pbc_changes_df$day > ch_time),
    negative = sum(pbc_changes_df$day < 0),
    tied_id_day = sum(duplicated(pbc_changes_df[, c("id", "day")]))
  ),
  ids_with_only_day0_visit = sum(table(pbc_changes_df$id) == 1),
  ids_with_single_tmerge_row = sum(tm_rows_per_id == 1),
  max_rows_per_id = max(tm_rows_per_id),
  day0_differs_from_pbc_baseline = list(bili = I(diff_ids("bili")),
                                        albumin = I(diff_ids("albumin")),
                                        protime = I(diff_ids("protime"))),
  pbcseq_futime_differs_from_pbc_time = sum(
    pbcseq$futime[!duplicated(pbcseq$id)] != pbc_base_df$time[match(first_visit$id,
                                                                    pbc_base_df$id)]),
  checked_against_hand_construction = TRUE
)
stopifnot(tmerge_info$change_day_counts$day_zero == 312,
          tcount["bili", "leading"] == 312, tcount["bili", "late"] == 138,
          tcount["bili", "within"] == tmerge_info$change_day_counts$inside_follow_up,
          tcount["albumin", "boundary"] == tcount["bili", "within"],
          tcount["death", "trailing"] == 312)

# ---------------------------------------------------------------- naming (make_numeric_reference.R)
interval_labels <- function(cuts) {
  b <- c(0, cuts, Inf)
  fmt <- function(x) ifelse(is.infinite(x), "inf", format(x, scientific = FALSE, trim = TRUE))
  sprintf("(%s,%s]", fmt(head(b, -1)), fmt(tail(b, -1)))
}
bayessa_name <- function(r_name, cuts, factors = list(), rename = list()) {
  labels <- interval_labels(cuts)
  piece <- function(p) {
    m <- regmatches(p, regexec("^factor\\(interval\\)([0-9]+)$", p))[[1]]
    if (length(m)) return(sprintf("interval[%s]", labels[as.integer(m[2])]))
    m <- regmatches(p, regexec("^factor\\(([A-Za-z0-9._]+)\\)(.+)$", p))[[1]]
    if (length(m)) return(sprintf("%s[%s]", m[2], m[3]))
    for (v in names(factors)) {
      for (lev in factors[[v]]) if (p == paste0(v, lev)) return(sprintf("%s[%s]", v, lev))
    }
    if (p %in% names(rename)) return(rename[[p]])
    p
  }
  vapply(strsplit(r_name, ":", fixed = TRUE), function(ps) paste(vapply(ps, piece, ""),
                                                                  collapse = ":"), "")
}

fit_glm <- function(form, data) {
  fit0 <- glm(form, family = poisson, data = data, control = ctl)
  fit <- glm(form, family = poisson, data = data, control = ctl, start = coef(fit0))
  X <- model.matrix(fit)
  se_info <- sqrt(diag(solve(crossprod(X * sqrt(fitted(fit))))))
  se <- summary(fit)$coefficients[, 2]
  stopifnot(fit0$converged, fit$converged,
            isTRUE(all.equal(coef(fit), coef(fit0), tolerance = 1e-10)),
            isTRUE(all.equal(unname(se), unname(se_info), tolerance = 1e-10)))
  fit
}

# ---------------------------------------------------------------- PEM on counting-process rows
pem_tvc_case <- function(label, data_file, source, rows, start, stop, event, cuts, terms, by,
                         bayessa_formula, cox_terms, factors = list(), extra = list()) {
  sform <- as.formula(sprintf("Surv(%s, %s, %s) ~ .", start, stop, event))
  sp <- survSplit(sform, data = rows, cut = cuts, episode = "interval")
  sp$exposure <- sp[[stop]] - sp[[start]]
  b <- c(0, cuts, Inf)
  stopifnot(all(sp$exposure > 0), sum(sp[[event]]) == sum(rows[[event]]),
            same(sum(sp$exposure), sum(rows[[stop]] - rows[[start]]), 1e-14),
            all(sp[[start]] >= b[sp$interval]), all(sp[[stop]] <= b[sp$interval + 1]),
            all(sp$interval == findInterval(sp[[stop]], cuts, left.open = TRUE) + 1))

  form <- as.formula(sprintf("%s ~ 0 + factor(interval) + %s + offset(log(exposure))",
                             event, terms))
  fit <- fit_glm(form, sp)
  stopifnot(nobs(fit) == nrow(sp), !anyNA(coef(fit)))
  co <- summary(fit)$coefficients

  agg_form <- as.formula(sprintf("cbind(%s, exposure) ~ %s", event,
                                 paste(c("interval", by), collapse = " + ")))
  cells <- aggregate(agg_form, data = sp, FUN = sum)
  cfit <- fit_glm(form, cells)
  cco <- summary(cfit)$coefficients
  stopifnot(identical(rownames(cco), rownames(co)),
            same(cco[, 1], co[, 1], 1e-8), same(cco[, 2], co[, 2], 1e-8))

  cox <- coxph(as.formula(sprintf("Surv(%s, %s, %s) ~ %s", start, stop, event, cox_terms)),
               data = rows, ties = "efron")
  # Sanity, not reference: (1) the same PEM with a cut at every distinct event time (pieces
  # after the last event time dropped) moves towards Cox; (2) the discrete "Poisson trick" (one
  # record per row at risk at each event time t, i.e. start < t <= stop, offset 0) reproduces
  # coxph(ties = "breslow") exactly, which confirms the risk-set convention of the rows.
  etimes <- sort(unique(rows[[stop]][rows[[event]] == 1]))
  spf <- survSplit(sform, data = rows, cut = etimes, episode = "interval")
  spf <- spf[spf[[start]] < max(etimes), ]
  spf$exposure <- spf[[stop]] - spf[[start]]
  ffit <- glm(form, family = poisson, data = spf, control = ctl)
  fine_coef <- coef(ffit)[-seq_along(etimes)]
  risk <- do.call(rbind, lapply(seq_along(etimes), function(j) {
    r <- rows[rows[[start]] < etimes[j] & rows[[stop]] >= etimes[j], ]
    r[[event]] <- as.integer(r[[event]] == 1 & r[[stop]] == etimes[j])
    r$interval <- j
    r$exposure <- 1
    r
  }))
  dfit <- glm(form, family = poisson, data = risk, control = ctl)
  breslow <- coxph(as.formula(sprintf("Surv(%s, %s, %s) ~ %s", start, stop, event, cox_terms)),
                   data = rows, ties = "breslow")
  pt_diff <- max(abs(coef(dfit)[-seq_along(etimes)] - coef(breslow)))
  stopifnot(pt_diff < 1e-6)
  # (3) events and exposure per interval by hand from the unsplit rows: a row contributes
  # max(0, min(stop, b_k) - max(start, b_{k-1})) to interval k; its event goes to the interval
  # holding stop (right-closed).
  hand_exp <- sapply(seq_along(b[-1]), function(k)
    sum(pmax(0, pmin(rows[[stop]], b[k + 1]) - pmax(rows[[start]], b[k]))))
  hand_ev <- tabulate(findInterval(rows[[stop]][rows[[event]] == 1], cuts, left.open = TRUE) + 1,
                      length(b) - 1)
  stopifnot(same(hand_exp, as.numeric(tapply(sp$exposure, factor(sp$interval,
                                                                  seq_along(b[-1])), sum))),
            all(hand_ev == tapply(sp[[event]], factor(sp$interval, seq_along(b[-1])), sum)))

  call <- paste0(
    sprintf("sp <- survSplit(Surv(%s, %s, %s) ~ ., data = %s, cut = c(%s), ", start, stop, event,
            sub("\\.csv$", "", data_file), paste(cuts, collapse = ", ")),
    'episode = "interval"); ',
    sprintf("glm(%s ~ 0 + factor(interval) + %s + offset(log(%s - %s)), ", event, terms,
            stop, start),
    "family = poisson, data = sp, control = glm.control(epsilon = 1e-14, maxit = 100)); ",
    "refitted with start = coef(fit) so the SEs are evaluated at the estimate")
  c(list(
    label = label, data = data_file, source = source, counting_process = TRUE,
    id = "id", start = start, stop = stop, event = event,
    cuts = cuts, interval_labels = interval_labels(cuts),
    call = call, terms = terms, bayessa_formula = bayessa_formula,
    n_units = length(unique(rows$id)), n_rows = nrow(rows),
    n_split_rows = nrow(sp), n_events = sum(sp[[event]]), total_exposure = sum(sp$exposure),
    events_per_interval = as.numeric(tapply(sp[[event]], factor(sp$interval,
                                                                seq_along(b[-1])), sum)),
    exposure_per_interval = as.numeric(tapply(sp$exposure, factor(sp$interval,
                                                                  seq_along(b[-1])), sum)),
    names = bayessa_name(rownames(co), cuts, factors), r_names = rownames(co),
    coef = unname(co[, 1]), se = unname(co[, 2]),
    loglik = as.numeric(logLik(fit)), deviance = deviance(fit),
    df_residual = fit$df.residual, converged = fit$converged,
    cells_check = list(
      by = c("interval", by), n_cells = nrow(cells),
      max_abs_coef_diff = max(abs(cco[, 1] - co[, 1])),
      max_abs_se_diff = max(abs(cco[, 2] - co[, 2]))
    ),
    cox_sanity = list(
      call = sprintf("coxph(Surv(%s, %s, %s) ~ %s, ties = \"efron\")", start, stop, event,
                     cox_terms),
      r_names = names(coef(cox)), coef = unname(coef(cox)),
      se = unname(sqrt(diag(vcov(cox)))),
      breslow_coef = unname(coef(breslow)),
      discrete_poisson_trick_max_abs_diff_vs_breslow = pt_diff,
      pem_event_time_cuts_coef = unname(fine_coef)
    )
  ), extra)
}

cases <- list()
heart_cuts <- c(30, 100, 365, 1000)
cases$heart_transplant <- pem_tvc_case(
  "a", "heart.csv", "survival::heart", heart_df, "start", "stop", "event", heart_cuts,
  "transplant + age + surgery", c("transplant", "age", "surgery"),
  "transplant + age + surgery", "transplant + age + surgery",
  extra = list(note = "transplant is a numeric 0/1 time-varying indicator"))
cases$heart_transplant_factor <- pem_tvc_case(
  "a2", "heart.csv", "survival::heart", heart_df, "start", "stop", "event", heart_cuts,
  "factor(transplant) + age + surgery", c("transplant", "age", "surgery"),
  "C(transplant) + age + surgery", "factor(transplant) + age + surgery",
  extra = list(transplant_levels = c("0", "1"), transplant_reference = "0"))
stopifnot(same(cases$heart_transplant$coef, cases$heart_transplant_factor$coef, 1e-10),
          identical(cases$heart_transplant_factor$names[6], "transplant[1]"))

pbc_cuts <- c(365, 730, 1461, 2922)
cases$pbc_tmerge <- pem_tvc_case(
  "b", "pbc_tmerge.csv", "tmerge(survival::pbc id <= 312, survival::pbcseq), see tmerge",
  pbc_tm_df, "tstart", "tstop", "death", pbc_cuts,
  "log(bili) + albumin + age", c("bili", "albumin", "age"),
  "log(bili) + albumin + age", "log(bili) + albumin + age")
for (nm in names(cases)) stopifnot(!anyDuplicated(cases[[nm]]$names))

# ---------------------------------------------------------------- log-rank, counting process
# make_reference.R's logrank_hand (rho = gamma = 0) with entry = start, time = stop, per row.
logrank_rows <- function(start, stop, event, group) {
  group <- factor(group)
  k <- nlevels(group)
  gg <- as.integer(group)
  O <- E <- numeric(k)
  V <- matrix(0, k, k)
  for (t in sort(unique(stop[event == 1]))) {
    at_risk <- start < t & stop >= t
    nk <- tabulate(gg[at_risk], k); n <- sum(nk)
    dk <- tabulate(gg[at_risk & stop == t & event == 1], k); d <- sum(dk)
    O <- O + dk
    E <- E + d * nk / n
    if (n > 1) V <- V + d * (n - d) / (n - 1) * (diag(nk / n) - outer(nk / n, nk / n))
  }
  keep <- which(E > 0)
  u <- (O - E)[keep][-1]
  chisq <- sum(solve(V[keep, keep][-1, -1, drop = FALSE], u) * u)
  list(groups = levels(group), n = as.numeric(table(group)), observed = O, expected = E,
       variance = V, statistic = chisq, df = length(keep) - 1,
       p_value = pchisq(chisq, length(keep) - 1, lower.tail = FALSE))
}

lr_case <- function(data, group, data_file) {
  h <- logrank_rows(data$start, data$stop, data$event, data[[group]])
  cx <- coxph(as.formula(sprintf("Surv(start, stop, event) ~ factor(%s)", group)), data = data,
              ties = "exact")
  # survival 3.5-3 returns this (start, stop] + ties = "exact" fit WITHOUT its "coxph" class
  # (summary() does not dispatch), so the score test's df and p-value are formed here.
  sc <- c(df = length(coef(cx)),
          pvalue = pchisq(unname(cx$score), length(coef(cx)), lower.tail = FALSE))
  stopifnot(isTRUE(all.equal(unname(cx$score), h$statistic, tolerance = 1e-8)),
            unname(sc["df"]) == h$df)
  ever <- tapply(data$id, factor(data[[group]]), function(x) length(unique(x)))
  c(list(data = data_file, id = "id", entry = "start", time = "stop", event = "event",
         group = group, counting_process = TRUE, rho = 0, gamma = 0,
         call = sprintf("logrank_rows(heart$start, heart$stop, heart$event, heart$%s)", group)),
    h,
    list(n_subjects_ever = as.numeric(ever),
         coxph = list(
           call = sprintf(paste0("coxph(Surv(start, stop, event) ~ factor(%s), data = heart, ",
                                 "ties = \"exact\")"), group),
           score = unname(cx$score), df = unname(sc["df"]), p_value = unname(sc["pvalue"]),
           abs_diff_vs_hand = abs(unname(cx$score) - h$statistic))))
}

logrank <- list()
logrank$heart_transplant <- lr_case(heart_df, "transplant", "heart.csv")
logrank$heart_surgery <- lr_case(heart_df, "surgery", "heart.csv")

# surgery is fixed per patient and heart's rows are contiguous from 0, so the counting-process
# test must equal the ordinary log-rank on one row per patient (and on jasa: times + 1 day).
collapsed <- do.call(rbind, lapply(hs, function(d) data.frame(
  id = d$id[1], time = max(d$stop), event = d$event[nrow(d)], surgery = d$surgery[1])))
sd_coll <- survdiff(Surv(time, event) ~ surgery, data = collapsed)
sd_jasa <- survdiff(Surv(futime, fustat) ~ surgery, data = jasa)
h_coll <- logrank_rows(rep(-Inf, nrow(collapsed)), collapsed$time, collapsed$event,
                       collapsed$surgery)
stopifnot(same(h_coll$statistic, sd_coll$chisq), same(h_coll$expected, sd_coll$exp))
s_cp <- logrank$heart_surgery$statistic
logrank$heart_surgery$right_censored_comparison <- list(
  survdiff_collapsed_heart = list(
    call = paste("survdiff(Surv(time, event) ~ surgery) on heart collapsed to one row per id",
                 "(time = last stop, event = event of the last row)"),
    statistic = sd_coll$chisq, observed = as.numeric(sd_coll$obs),
    expected = as.numeric(sd_coll$exp), p_value = sd_coll$pvalue,
    agrees_with_counting_process = same(sd_coll$chisq, s_cp, 1e-10)),
  survdiff_jasa = list(
    call = "survdiff(Surv(futime, fustat) ~ surgery, data = jasa)",
    statistic = sd_jasa$chisq, observed = as.numeric(sd_jasa$obs),
    expected = as.numeric(sd_jasa$exp), p_value = sd_jasa$pvalue,
    agrees_with_counting_process = same(sd_jasa$chisq, s_cp, 1e-10)))
stopifnot(logrank$heart_surgery$right_censored_comparison$survdiff_collapsed_heart$
            agrees_with_counting_process)

# ---------------------------------------------------------------- Kaplan-Meier, counting process
strip_label <- function(x) sub("^[^=]*=", "", as.character(x))
km_rows <- function(fit) {
  s <- summary(fit, censored = TRUE)
  group <- if (is.null(s$strata)) rep(NA_character_, length(s$time)) else strip_label(s$strata)
  list(
    group = group, time = s$time, n_risk = s$n.risk, n_event = s$n.event,
    n_censor = s$n.censor, surv = s$surv, std_err = s$std.err,
    lower = s$lower, upper = s$upper
  )
}
km_table <- function(fit, tau) {
  tab <- summary(fit, rmean = tau)$table
  if (is.null(dim(tab))) tab <- matrix(tab, nrow = 1, dimnames = list("all", names(tab)))
  list(
    group = if (is.null(fit$strata)) NA_character_ else strip_label(rownames(tab)),
    records = unname(tab[, "records"]), n_max = unname(tab[, "n.max"]),
    n_start = unname(tab[, "n.start"]), events = unname(tab[, "events"]),
    rmean = unname(tab[, "rmean"]), se_rmean = unname(tab[, "se(rmean)"]),
    median = unname(tab[, "median"]), median_lower = unname(tab[, "0.95LCL"]),
    median_upper = unname(tab[, "0.95UCL"]), tau = tau
  )
}
km_fit <- survfit(Surv(start, stop, event) ~ 1, data = heart_df, conf.type = "log")
km_fit_id <- survfit(Surv(start, stop, event) ~ 1, data = heart_df, conf.type = "log", id = id)
rows <- km_rows(km_fit)
rows_id <- km_rows(km_fit_id)
stopifnot(identical(rows$time, km_fit$time), same(rows$time, rows_id$time),
          same(rows$surv, rows_id$surv), same(rows$std_err, rows_id$std_err),
          same(rows$n_risk, rows_id$n_risk), same(rows$std_err, km_fit$std.err * km_fit$surv))
rows$std_err_cumhaz <- km_fit$std.err
rows$n_censor_id <- rows_id$n_censor
kaplan_meier <- list(heart_all = list(
  data = "heart.csv", time = "stop", event = "event", group = NULL, entry = "start", id = "id",
  counting_process = TRUE,
  call = "survfit(Surv(start, stop, event) ~ 1, data = heart)", conf_type = "log",
  rows = rows, summary = km_table(km_fit, 365),
  notes = paste("std_err = SE of S(t) (summary.survfit); std_err_cumhaz = survfit's std.err;",
                "n_censor counts row ends without an event (incl. the row ended by a",
                "transplant); n_censor_id = the same with id = id (real ends of follow-up only)")
))

# ---------------------------------------------------------------- write
out <- list(
  meta = list(
    generated_by = "tests/reference/make_tvc_reference.R",
    command = "Rscript tests/reference/make_tvc_reference.R",
    r_version = R.version.string,
    survival_version = as.character(packageVersion("survival")),
    jsonlite_version = as.character(packageVersion("jsonlite")),
    date = format(Sys.Date()),
    glm_control = list(epsilon = 1e-14, maxit = 100),
    cells_tolerance = 1e-8
  ),
  data = list(
    heart = c(list(file = "heart.csv", source = "survival::heart"), heart_notes),
    pbc_base = list(file = "pbc_base.csv", source = "survival::pbc[pbc$id <= 312, ]",
                    n_rows = nrow(pbc_base_df), n_events = sum(pbc_base_df$event),
                    status_counts = as.list(table(factor(pbc_base_df$status)))),
    pbc_changes = list(file = "pbc_changes.csv", source = "survival::pbcseq (all rows)",
                       n_rows = nrow(pbc_changes_df),
                       n_ids = length(unique(pbc_changes_df$id)))
  ),
  tmerge = list(pbc = tmerge_info),
  cases = cases,
  logrank = logrank,
  kaplan_meier = kaplan_meier
)
path <- file.path(out_dir, "tvc_reference.json")
writeLines(toJSON(out, digits = NA, na = "null", auto_unbox = TRUE, pretty = TRUE,
                  null = "null"), path)
cat("wrote", path, "\n")

# ---------------------------------------------------------------- summary
for (nm in names(cases)) {
  cs <- cases[[nm]]
  cat(sprintf("\n%s: %d split rows, %d events, exposure %g, loglik %.6f\n", nm,
              cs$n_split_rows, cs$n_events, cs$total_exposure, cs$loglik))
  print(data.frame(name = cs$names, coef = cs$coef, se = cs$se), row.names = FALSE)
  cat("  PEM with a cut at every event time:",
      paste(sprintf("%.4f", cs$cox_sanity$pem_event_time_cuts_coef), collapse = " "), "\n")
  cat("  cox:", paste(sprintf("%s=%.4f", cs$cox_sanity$r_names, cs$cox_sanity$coef),
                      collapse = " "), "\n")
}
for (nm in names(logrank)) {
  l <- logrank[[nm]]
  cat(sprintf("\nlogrank %s: O = %s, E = %s, chisq = %.6f (coxph score %.6f), p = %.4g\n", nm,
              paste(l$observed, collapse = "/"), paste(round(l$expected, 3), collapse = "/"),
              l$statistic, l$coxph$score, l$p_value))
}
rc <- logrank$heart_surgery$right_censored_comparison
cat(sprintf("surgery: survdiff collapsed %.6f, survdiff jasa %.6f\n",
            rc$survdiff_collapsed_heart$statistic, rc$survdiff_jasa$statistic))
cat(sprintf("\nKM heart: %d times, S(365) row: %s, median %g\n", length(rows$time),
            format(rows$surv[max(which(rows$time <= 365))]), kaplan_meier$heart_all$summary$median))
cat("\ntmerge pbc2:", nrow(pbc_tm_df), "rows\n")
print(tcount)
