#!/usr/bin/env Rscript
# Reference values from R for bayessa's Poisson-GLM piecewise-exponential model (PEM) with
# NUMERIC covariates: plain numeric terms, transforms (log, scale, center), numeric x factor and
# numeric x numeric interactions. The Python tests pin bayessa to these numbers (1e-8) without R.
#
# Run from the repository root:   Rscript tests/reference/make_numeric_reference.R
# Needs: R >= 4, survival, jsonlite (Debian: apt-get install r-base-core r-cran-survival
# r-cran-jsonlite).
#
# Writes, next to this script:
#   numeric_glm_reference.json   every reference number, full precision (jsonlite digits = NA)
# It does NOT rewrite lung.csv / veteran.csv (make_reference.R owns those); the data are read from
# survival::lung and survival::veteran, which is what those CSVs hold:
#   * lung.csv    = survival::lung + `event` (status == 2) + a synthetic `entry` (ignored here:
#                   no delayed entry in these cases).
#   * veteran.csv = survival::veteran with celltype as character, so celltype's levels here are
#                   R's default alphabetical order (adeno, large, smallcell, squamous) and the
#                   reference level is "adeno" (survival::veteran's own factor order is
#                   squamous, smallcell, adeno, large; it is deliberately NOT used).
#
# Conventions of the export:
#   * Each case splits the one-row-per-patient table with
#       survSplit(Surv(time, event) ~ ., data, cut = cuts, episode = "interval",
#                 start = "tstart", end = "tstop")
#     Intervals are right-closed (a, b]; the last one is open, labelled (last cut, inf].
#     Exposure = tstop - tstart. The fit is
#       glm(event ~ 0 + factor(interval) + <terms> + offset(log(tstop - tstart)),
#           family = poisson, control = glm.control(epsilon = 1e-14, maxit = 100))
#   * Rows: a case that uses ph.karno keeps the patients with non-missing ph.karno (dropped
#     BEFORE splitting); every other case uses all patients (no NA in the variables it uses).
#   * scale(x) / center(x) are computed on the one-row-per-patient table before splitting
#     (mean and SD over units, not over split rows; SD with denominator n - 1 as R's sd()).
#   * Coefficients are named in bayessa's scheme (`names`) and R's (`r_names`), in R's order:
#     numeric terms by their written name, factor levels as var[level], interactions joined with
#     ':' (numeric first, as written), baseline log-rates as interval[(a,b]].
#   * se = sqrt(diag(inverse Fisher information)) at the estimate: each glm is restarted at its
#     own estimate so summary.glm's SEs do not lag one IRLS step (see fit_glm).
#   * loglik is the full Poisson log-likelihood of the split rows (logLik.glm, offset included).
#   * Every case is refitted on cells (interval x covariate values, events and exposure summed);
#     coefficients and SEs must agree to 1e-8, which shows aggregation into cells is exact for
#     numeric covariates too.

suppressPackageStartupMessages({
  library(survival)
  library(jsonlite)
})

args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", args[grep("^--file=", args)])
here <- if (length(script)) dirname(normalizePath(script)) else "tests/reference"

ctl <- glm.control(epsilon = 1e-14, maxit = 100)

# ---------------------------------------------------------------- data sets (unit tables)
lung_df <- survival::lung
lung_df$event <- as.integer(lung_df$status == 2)

veteran_df <- survival::veteran
veteran_df$celltype <- factor(as.character(veteran_df$celltype))  # alphabetical: ref "adeno"
veteran_df$event <- veteran_df$status
stopifnot(identical(levels(veteran_df$celltype), c("adeno", "large", "smallcell", "squamous")))

lung_cuts <- c(90, 180, 365, 540)
veteran_cuts <- c(30, 60, 90, 180, 365)

interval_labels <- function(cuts) {
  b <- c(0, cuts, Inf)
  fmt <- function(x) ifelse(is.infinite(x), "inf", format(x, scientific = FALSE, trim = TRUE))
  sprintf("(%s,%s]", fmt(head(b, -1)), fmt(tail(b, -1)))
}

# ---------------------------------------------------------------- naming
# R coefficient name -> bayessa name. `rename` maps R variables to bayessa term names
# (e.g. age_s -> scale(age)); character/factor columns are given in `factors` with their levels.
bayessa_name <- function(r_name, cuts, factors, rename) {
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

# ---------------------------------------------------------------- fitting
# summary.glm's SEs come from the QR of the LAST IRLS step, whose weights were evaluated at the
# previous iterate, so they lag the final estimate by one step (seen here: ~4e-8 relative for
# log(age), whose column is nearly collinear with the interval intercepts). The fit is therefore
# restarted at its own estimate, so the reported SEs are the inverse Fisher information at the
# estimate itself; the script checks that against an explicit (X' diag(mu) X)^-1.
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

# ---------------------------------------------------------------- one case
# terms: the right-hand side after factor(interval); by: the unit-table columns that determine
# every covariate in the fit (used to aggregate into cells).
pem_case <- function(label, data_name, source, units, cuts, terms, by, bayessa_formula,
                     rows, dropna = character(0), factors = list(), rename = list(),
                     extra = list()) {
  units <- units[, setdiff(names(units), "status"), drop = FALSE]
  sp <- survSplit(Surv(time, event) ~ ., data = units, cut = cuts, episode = "interval",
                  start = "tstart", end = "tstop")
  sp$exposure <- sp$tstop - sp$tstart
  stopifnot(all(sp$exposure > 0))
  # right-closed intervals: each patient's last piece is the interval holding its time
  last <- sp[sp$tstop == units$time[match(sp$id_, units$id_)], ]
  last <- last[!duplicated(last$id_), ]
  stopifnot(nrow(last) == nrow(units),
            all(last$interval == findInterval(last$tstop, cuts, left.open = TRUE) + 1),
            sum(sp$event) == sum(units$event))

  form <- as.formula(sprintf("event ~ 0 + factor(interval) + %s + offset(log(exposure))", terms))
  fit <- fit_glm(form, sp)
  stopifnot(fit$converged, nobs(fit) == nrow(sp), !anyNA(coef(fit)))
  co <- summary(fit)$coefficients

  # the same fit on cells: (interval, covariate values) with events and exposure summed
  agg_form <- as.formula(sprintf("cbind(event, exposure) ~ %s",
                                 paste(c("interval", by), collapse = " + ")))
  cells <- aggregate(agg_form, data = sp, FUN = sum)
  cfit <- fit_glm(form, cells)
  cco <- summary(cfit)$coefficients
  stopifnot(identical(rownames(cco), rownames(co)),
            isTRUE(all.equal(unname(cco[, 1]), unname(co[, 1]), tolerance = 1e-8)),
            isTRUE(all.equal(unname(cco[, 2]), unname(co[, 2]), tolerance = 1e-8)),
            sum(cells$event) == sum(sp$event),
            isTRUE(all.equal(sum(cells$exposure), sum(sp$exposure), tolerance = 1e-14)))

  call <- paste0(
    sprintf("sp <- survSplit(Surv(time, event) ~ ., data = %s, cut = c(%s), ", data_name,
            paste(cuts, collapse = ", ")),
    'episode = "interval", start = "tstart", end = "tstop"); ',
    sprintf("glm(event ~ 0 + factor(interval) + %s + offset(log(tstop - tstart)), ", terms),
    "family = poisson, data = sp, control = glm.control(epsilon = 1e-14, maxit = 100)); ",
    "refitted with start = coef(fit) so the SEs are evaluated at the estimate")
  c(list(
    label = label, data = paste0(data_name, ".csv"), source = source,
    time = "time", event = "event",
    event_definition = if (data_name == "lung") "status == 2" else "status",
    rows = rows, dropna = I(dropna), cuts = cuts, interval_labels = interval_labels(cuts),
    call = call, terms = terms, bayessa_formula = bayessa_formula,
    n_units = nrow(units), n_split_rows = nrow(sp), n_events = sum(sp$event),
    total_exposure = sum(sp$exposure),
    names = bayessa_name(rownames(co), cuts, factors, rename), r_names = rownames(co),
    coef = unname(co[, 1]), se = unname(co[, 2]),
    loglik = as.numeric(logLik(fit)), deviance = deviance(fit),
    df_residual = fit$df.residual, converged = fit$converged,
    cells_check = list(
      by = c("interval", by), n_cells = nrow(cells),
      max_abs_coef_diff = max(abs(cco[, 1] - co[, 1])),
      max_abs_se_diff = max(abs(cco[, 2] - co[, 2]))
    )
  ), extra)
}

# ---------------------------------------------------------------- cases
cases <- list()
lung_units <- lung_df
lung_units$id_ <- seq_len(nrow(lung_units))
lung_karno <- lung_units[!is.na(lung_units$ph.karno), ]
sex_lv <- list(sex = c("1", "2"))

cases$lung_age_phkarno <- pem_case(
  "a", "lung", "survival::lung", lung_karno, lung_cuts, "age + ph.karno", c("age", "ph.karno"),
  "age + ph.karno", "ph.karno not NA", dropna = "ph.karno")
cases$lung_age_x_sex <- pem_case(
  "b", "lung", "survival::lung", lung_units, lung_cuts, "age * factor(sex)", c("age", "sex"),
  "age * C(sex)", "all")
cases$lung_age_x_phkarno <- pem_case(
  "c", "lung", "survival::lung", lung_karno, lung_cuts, "age:ph.karno + age + ph.karno",
  c("age", "ph.karno"), "age:ph.karno + age + ph.karno", "ph.karno not NA", dropna = "ph.karno")
cases$lung_logage_sex <- pem_case(
  "d", "lung", "survival::lung", lung_units, lung_cuts, "log(age) + factor(sex)",
  c("age", "sex"), "log(age) + C(sex)", "all")

age_mean <- mean(lung_units$age)
age_sd <- sd(lung_units$age)
age_sd_n <- sqrt(mean((lung_units$age - age_mean)^2))
lung_units$age_s <- (lung_units$age - age_mean) / age_sd
lung_units$age_c <- lung_units$age - age_mean
transform_info <- function(kind) list(transform = list(
  variable = "age", kind = kind, over = "units (one row per patient, before splitting)",
  n = nrow(lung_units), mean = age_mean, sd = age_sd, sd_denominator = "n - 1",
  sd_n = age_sd_n))
cases$lung_scaleage_sex <- pem_case(
  "e", "lung", "survival::lung", lung_units, lung_cuts, "age_s + factor(sex)",
  c("age_s", "sex"), "scale(age) + C(sex)", "all", rename = list(age_s = "scale(age)"),
  extra = transform_info("scale"))
cases$lung_centerage_sex <- pem_case(
  "f", "lung", "survival::lung", lung_units, lung_cuts, "age_c + factor(sex)",
  c("age_c", "sex"), "center(age) + C(sex)", "all", rename = list(age_c = "center(age)"),
  extra = transform_info("center"))

vet_units <- veteran_df
vet_units$id_ <- seq_len(nrow(vet_units))
cell_lv <- list(celltype = levels(veteran_df$celltype))
cases$veteran_karno_age_celltype_trt <- pem_case(
  "g", "veteran", "survival::veteran", vet_units, veteran_cuts,
  "karno + age + celltype + factor(trt)", c("karno", "age", "celltype", "trt"),
  "karno + age + celltype + C(trt)", "all", factors = cell_lv,
  extra = list(celltype_reference = "adeno"))
cases$veteran_karno_x_celltype <- pem_case(
  "h", "veteran", "survival::veteran", vet_units, veteran_cuts, "karno * celltype",
  c("karno", "celltype"), "karno * celltype", "all", factors = cell_lv,
  extra = list(celltype_reference = "adeno"))
cases$veteran_logkarno_age <- pem_case(
  "i", "veteran", "survival::veteran", vet_units, veteran_cuts, "log(karno) + age",
  c("karno", "age"), "log(karno) + age", "all")

for (nm in names(cases)) stopifnot(!anyDuplicated(cases[[nm]]$names))

# ---------------------------------------------------------------- write
out <- list(
  meta = list(
    generated_by = "tests/reference/make_numeric_reference.R",
    command = "Rscript tests/reference/make_numeric_reference.R",
    r_version = R.version.string,
    survival_version = as.character(packageVersion("survival")),
    jsonlite_version = as.character(packageVersion("jsonlite")),
    date = format(Sys.Date()),
    glm_control = list(epsilon = 1e-14, maxit = 100),
    cells_tolerance = 1e-8
  ),
  cases = cases
)
path <- file.path(here, "numeric_glm_reference.json")
writeLines(toJSON(out, digits = NA, na = "null", auto_unbox = TRUE, pretty = TRUE,
                  null = "null"), path)
cat("wrote", path, "\n")
