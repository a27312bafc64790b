#!/usr/bin/env Rscript
# Reference values for bayessa's new-user tests: R's veteran and lung, as R codes them, fitted
# by coxph on the covariates the tests give bayessa with nothing but --data/--time/--event/--formula.
#
# Run from the repository root:   Rscript tests/reference/new_user/make_new_user.R
# Needs: R >= 4, survival, jsonlite (Debian: r-cran-survival, r-cran-jsonlite).
#
# Writes, next to this script:
#   veteran.csv   survival::veteran as it is (time in days, status 0/1, trt 1/2)
#   lung.csv      survival::lung as it is (time in days, status 1 = censored / 2 = dead, NAs)
#   new_user_reference.json   coxph log hazard ratios and standard errors, R's reference levels
#
# Reference levels are R's defaults: the first level of each factor. That is the sorted first level
# for trt, sex and ph.ecog, as in bayessa's spec-free fits; veteran's celltype is a factor in R
# whose levels are in the order squamous, smallcell, adeno, large, so R's reference is squamous
# where bayessa's (read from CSV, sorted) is adeno. The tests re-express R's estimates against
# adeno with the covariance matrix written here (vcov, row-major, in the order of `terms`).
# coxph drops rows with a missing covariate (na.action = na.omit); the tests pass
# --on-invalid exclude for the same rows, since bayessa never drops a row silently.

suppressPackageStartupMessages({
  library(survival)
  library(jsonlite)
})
here <- "tests/reference/new_user"
write.csv(survival::veteran, file.path(here, "veteran.csv"), row.names = FALSE)
write.csv(survival::lung, file.path(here, "lung.csv"), row.names = FALSE, na = "")

cox <- function(fit) {
  s <- summary(fit)$coefficients
  list(
    terms = rownames(s),
    log_hr = unname(s[, "coef"]),
    se = unname(s[, "se(coef)"]),
    vcov = unname(as.vector(t(vcov(fit)))),
    n = fit$n,
    events = fit$nevent,
    call = paste(deparse(fit$call), collapse = " ")
  )
}

vet <- survival::veteran
lung <- survival::lung
ref <- list(
  r_version = R.version.string,
  survival_version = as.character(packageVersion("survival")),
  veteran_trt_celltype = cox(coxph(Surv(time, status) ~ factor(trt) + celltype, data = vet,
                                   ties = "efron")),
  lung_sex = cox(coxph(Surv(time, status) ~ factor(sex), data = lung, ties = "efron")),
  lung_sex_ecog = cox(coxph(Surv(time, status) ~ factor(sex) + factor(ph.ecog), data = lung,
                            ties = "efron"))
)
writeLines(toJSON(ref, auto_unbox = TRUE, digits = NA, pretty = TRUE),
           file.path(here, "new_user_reference.json"))
cat("wrote", file.path(here, "new_user_reference.json"), "\n")
