#!/usr/bin/env Rscript
# Reference values from R for the cause-specific piecewise-exponential model of survival::mgus2
# (issue 15 item 6): the follow-up is split at fixed cut points with survSplit and one Poisson GLM
# with a log-exposure offset is fitted per cause (the other cause censored). The Python test
# tests/frequentist/test_mgus2_cause_glm.py reproduces every coefficient with bayessa's
# poisson_pem on the same split; a Bayesian test may use the same fixture.
#
# Run from the repository root:   Rscript tests/reference/make_mgus2_cause_glm.R
# Needs: R >= 4, survival (made with 3.5-3), jsonlite. Runs in ~1 s.
#
# ---- data and coding ----
# tests/reference/cuminc/mgus2.csv (written by make_cuminc_reference.R from survival::mgus2,
# 1384 rows, none dropped): id, sex ("F"/"M"), age (years at diagnosis), etime (MONTHS:
# ifelse(pstat == 0, futime, ptime)), event (0 censored, 1 pcm = progression to a plasma cell
# malignancy, 2 death before pcm), outcome.
#   time scale   years = etime / 12 (computed from the integer months; the same double in R and
#                Python, IEEE division being correctly rounded)
#   cuts         0, 2, 5, 10, 15, Inf years: pieces (0,2], (2,5], (5,10], (10,15], (15,Inf],
#                numbered 1..5 (`interval`); a time on a cut belongs to the piece it closes
#                (survSplit's convention, e.g. etime 24 -> piece 1)
#   split        survSplit(Surv(years, status) ~ ., cut = c(2, 5, 10, 15), episode =
#                "interval", start = "tstart", end = "tstop"), status = event != 0;
#                exposure = tstop - tstart (years), no piece has zero length;
#                d_pcm = status * (event == 1), d_death = status * (event == 2) on the last piece
#   covariates   sex: factor, reference "F" (coefficient "sexM");
#                age_c = (age - 70) / 10: age in decades, centred at 70 (numeric)
#   model        glm(d_cause ~ 0 + factor(interval) + sex + age_c, family = poisson,
#                    offset = log(exposure), control = glm.control(epsilon = 1e-14, maxit = 100))
#                one log-rate per piece (no intercept), so coefficient k is the log hazard per
#                person-year in piece k for a woman aged 70; sexM and age_c are log hazard ratios.
#                R's default epsilon (1e-8) is tightened so the estimates are exact to ~1e-12.
#   se, vcov     the inverse Fisher information (X' diag(mu) X)^-1 at the estimate. glm's own
#                vcov (kept as vcov_glm / se_glm) uses the weights of its last IRLS pass, one
#                step behind the estimate: it differs by ~1e-7 relative here.
# The fit is on one row per piece (age is numeric, so cells are pieces); the JSON also gives the
# events and exposure per piece x sex, which the Python test checks its own split against.
#
# ---- JSON (tests/reference/mgus2_cause_glm/mgus2_cause_glm.json) ----
#   meta, data {file, n_units, n_pieces, time_scale, cuts, covariates, event_counts},
#   causes {pcm: {...}, death: {...}} each with call, names (R's), terms (bayessa's names:
#   "interval[1]".."interval[5]", "sex[M]", "age_c"), coef, se, vcov (rows), se_glm, vcov_glm,
#   loglik, deviance,
#   df_residual, iter, events, cells {interval, sex, events, exposure} (piece x sex totals).
# Doubles are written with 17 significant digits (they read back as the same doubles).
suppressPackageStartupMessages({
  library(survival)
  library(jsonlite)
})

out_dir <- file.path("tests", "reference", "mgus2_cause_glm")
dir.create(out_dir, showWarnings = FALSE, recursive = TRUE)
src <- file.path("tests", "reference", "cuminc", "mgus2.csv")
d <- read.csv(src, stringsAsFactors = FALSE)
stopifnot(nrow(d) == 1384, !anyNA(d[, c("sex", "age", "etime", "event")]))

CUTS <- c(0, 2, 5, 10, 15, Inf)
d$years <- d$etime / 12
d$status <- as.integer(d$event != 0)
d$sex <- factor(d$sex, levels = c("F", "M"))
d$age_c <- (d$age - 70) / 10
pieces <- survSplit(Surv(years, status) ~ ., data = d, cut = CUTS[2:(length(CUTS) - 1)],
                    episode = "interval", start = "tstart", end = "tstop")
pieces$exposure <- pieces$tstop - pieces$tstart
stopifnot(all(pieces$exposure > 0),
          isTRUE(all.equal(as.numeric(tapply(pieces$exposure, pieces$id, sum)[as.character(d$id)]),
                           d$years, tolerance = 1e-13)),
          sum(pieces$status) == sum(d$status))
pieces$d_pcm <- pieces$status * (pieces$event == 1)
pieces$d_death <- pieces$status * (pieces$event == 2)

fit_cause <- function(cause) {
  y <- paste0("d_", cause)
  f <- as.formula(paste(y, "~ 0 + factor(interval) + sex + age_c"))
  m <- glm(f, family = poisson, data = pieces, offset = log(exposure),
           control = glm.control(epsilon = 1e-14, maxit = 100))
  stopifnot(m$converged)
  # vcov(m) is computed from the working weights of the last IRLS pass, i.e. at the previous
  # iterate: ~1e-7 relative from the inverse Fisher information at the estimate. Record the
  # latter (bayessa's), and glm's own as vcov_glm.
  X <- model.matrix(m)
  V <- solve(crossprod(X * sqrt(fitted(m))))
  stopifnot(max(abs(V - vcov(m)) / abs(V)) < 1e-5)
  cells <- aggregate(cbind(events = pieces[[y]], exposure = pieces$exposure),
                     by = list(interval = pieces$interval, sex = as.character(pieces$sex)), sum)
  cells <- cells[order(cells$interval, cells$sex), ]
  K <- length(CUTS) - 1
  list(
    call = sprintf(paste("glm(%s ~ 0 + factor(interval) + sex + age_c, family = poisson,",
                         "offset = log(exposure), control = glm.control(epsilon = 1e-14,",
                         "maxit = 100))"), y),
    names = I(names(coef(m))),
    terms = I(c(sprintf("interval[%d]", 1:K), "sex[M]", "age_c")),
    coef = I(unname(coef(m))), se = I(unname(sqrt(diag(V)))), vcov = unname(V),
    se_glm = I(unname(sqrt(diag(vcov(m))))), vcov_glm = unname(vcov(m)),
    loglik = as.numeric(logLik(m)), deviance = m$deviance, df_residual = m$df.residual,
    iter = m$iter, events = sum(pieces[[y]]),
    cells = list(interval = I(cells$interval), sex = I(cells$sex), events = I(cells$events),
                 exposure = I(cells$exposure))
  )
}
causes <- list(pcm = fit_cause("pcm"), death = fit_cause("death"))

num_json <- function(x) {
  one <- function(v) {
    ifelse(is.na(v), "null",
           ifelse(is.infinite(v), ifelse(v > 0, "\"Inf\"", "\"-Inf\""), sprintf("%.17g", v)))
  }
  arr <- function(v) paste0("[", paste(one(v), collapse = ","), "]")
  if (is.matrix(x)) {
    return(structure(paste0("[", paste(apply(x, 1, arr), collapse = ","), "]"), class = "json"))
  }
  if (length(x) == 1 && !inherits(x, "AsIs")) return(structure(one(x), class = "json"))
  structure(arr(unclass(x)), class = "json")
}
exact_json <- function(x) {  # every double as verbatim JSON with 17 significant digits
  if (is.list(x) && !is.data.frame(x)) {
    nm <- names(x)
    x <- lapply(x, exact_json)
    names(x) <- nm
    return(x)
  }
  if (is.double(x)) return(num_json(x))
  x
}

out <- list(
  meta = list(
    generated_by = "tests/reference/make_mgus2_cause_glm.R",
    command = "Rscript tests/reference/make_mgus2_cause_glm.R",
    r_version = R.version.string,
    survival_version = as.character(packageVersion("survival")),
    jsonlite_version = as.character(packageVersion("jsonlite")),
    date = format(Sys.Date())
  ),
  data = list(
    file = "../cuminc/mgus2.csv", source = "survival::mgus2 (via make_cuminc_reference.R)",
    n_units = nrow(d), n_pieces = nrow(pieces),
    time_scale = "years = etime / 12 (etime is in months)",
    cuts = CUTS, cut_note = "pieces (c_k, c_k+1], numbered 1..5; a time on a cut closes its piece",
    covariates = list(sex = "factor, reference F", age_c = "(age - 70) / 10"),
    event_counts = list(censored = sum(d$event == 0), pcm = sum(d$event == 1),
                        death = sum(d$event == 2))
  ),
  causes = causes
)
path <- file.path(out_dir, "mgus2_cause_glm.json")
writeLines(toJSON(exact_json(out), json_verbatim = TRUE, na = "null", auto_unbox = TRUE,
                  pretty = TRUE, null = "null"), path)
cat("wrote", path, "\n")
for (cause in names(causes)) {
  cat("\n", cause, ":\n", sep = "")
  print(data.frame(term = unclass(causes[[cause]]$terms), coef = unclass(causes[[cause]]$coef),
                   se = unclass(causes[[cause]]$se)))
}
