# Reference values for tests/ipd (issue 13): lme4 one-stage models and R survival (survfit, survdiff,
# coxph Efron) on the synthetic analysis dataset tests/ipd/data/sites.csv.
# Run from the repository root:  Rscript tests/ipd/data/ipd_reference.R
# Writes tests/ipd/data/ipd_reference.json (R 4.2, lme4 1.1-31, survival 3.5-3).
suppressPackageStartupMessages({library(lme4); library(survival); library(jsonlite)})
d <- read.csv("tests/ipd/data/sites.csv", stringsAsFactors = FALSE, na.strings = "")
levs <- sort(unique(d$genotype), method = "radix")  # C-locale order, as Python's sorted()
d$genotype <- factor(d$genotype, levels = levs)

glmm <- function(data, formula) {
  f <- glmer(formula, data = data, family = binomial, nAGQ = 7)
  b <- fixef(f); se <- sqrt(diag(as.matrix(vcov(f))))
  list(names = names(b), beta = unname(b), se = unname(se), tau2 = unname(VarCorr(f)$site[1, 1]),
       loglik = as.numeric(logLik(f)))
}
up <- subset(d, !is.na(uptake_restored) & uptake_definition == "diagnostic_scan")
up$y <- up$uptake_restored
itt <- subset(d, !is.na(response_denominator))
itt$y <- ifelse(is.na(itt$objective_response), 0, itt$objective_response)
trt <- subset(d, response_denominator == "treated" & !is.na(objective_response))
trt$y <- trt$objective_response
onestage <- list(
  uptake_diagnostic = glmm(up, y ~ 1 + (1 | site)),
  response_itt = glmm(itt, y ~ 1 + (1 | site)),
  response_treated = glmm(trt, y ~ 1 + (1 | site)),
  response_itt_by_genotype = glmm(itt, y ~ genotype + (1 | site)),
  uptake_diagnostic_by_genotype = glmm(up, y ~ genotype + (1 | site))
)

km <- function(data, time, event, by = NULL) {
  f <- if (is.null(by)) as.formula(sprintf("Surv(%s, %s) ~ 1", time, event)) else
    as.formula(sprintf("Surv(%s, %s) ~ %s", time, event, by))
  s <- survfit(f, data = data, conf.type = "log")
  q <- quantile(s, probs = 0.5)
  tab <- summary(s)$table
  if (is.null(dim(tab))) tab <- t(as.matrix(tab))
  col <- function(x) if (is.null(dim(x))) unname(x[1]) else unname(x[, 1])
  list(median = col(q$quantile), lower = col(q$lower), upper = col(q$upper),
       n = unname(tab[, "records"]), events = unname(tab[, "events"]))
}
lr <- function(formula, data) {
  s <- survdiff(formula, data = data)
  etmp <- if (is.matrix(s$exp)) rowSums(s$exp) else s$exp  # as print.survdiff
  df <- sum(etmp > 0) - 1
  list(chisq = s$chisq, df = df, p = pchisq(s$chisq, df, lower.tail = FALSE))
}
cx <- function(formula, data) {
  f <- coxph(formula, data = data, ties = "efron")
  sm <- summary(f)$coefficients
  list(names = rownames(sm), coef = unname(sm[, "coef"]), se = unname(sm[, "se(coef)"]),
       p = unname(sm[, "Pr(>|z|)"]), loglik = f$loglik[2])
}
# the quantile rules: a curve exactly 0.5 over a stretch (mid-point), and 0.5 at its last point
tiny <- data.frame(t = c(1, 2, 3, 4, 5, 6), e = c(1, 1, 1, 1, 0, 1))
tiny_last <- data.frame(t = c(1, 2, 3, 4), e = c(1, 1, 0, 0))
pfs <- subset(d, !is.na(pfs_days))
dor <- subset(d, !is.na(dor_days))
upt <- subset(pfs, !is.na(uptake_restored))
survival_ref <- list(
  km_tiny = km(tiny, "t", "e"),
  km_tiny_last = km(tiny_last, "t", "e"),
  km_pfs_all = km(pfs, "pfs_days", "pfs_event"),
  km_pfs_genotype = km(pfs, "pfs_days", "pfs_event", "genotype"),
  km_ttnt_genotype = km(d, "ttnt_days", "ttnt_event", "genotype"),
  km_dor_all = km(dor, "dor_days", "dor_event"),
  km_pfs_site = km(pfs, "pfs_days", "pfs_event", "site"),
  logrank_pfs_genotype = lr(Surv(pfs_days, pfs_event) ~ genotype, pfs),
  logrank_pfs_genotype_strata_site = lr(Surv(pfs_days, pfs_event) ~ genotype + strata(site), pfs),
  logrank_ttnt_uptake = lr(Surv(ttnt_days, ttnt_event) ~ uptake_restored, subset(d, !is.na(uptake_restored))),
  cox_pfs = cx(Surv(pfs_days, pfs_event) ~ uptake_restored + age_years, upt),
  cox_pfs_strata_site = cx(Surv(pfs_days, pfs_event) ~ uptake_restored + age_years + strata(site), upt),
  cox_ttnt_genotype_strata_site = cx(Surv(ttnt_days, ttnt_event) ~ genotype + age_years + strata(site), d)
)
out <- list(
  generated_by = "Rscript tests/ipd/data/ipd_reference.R",
  versions = list(R = paste(R.version$major, R.version$minor, sep = "."),
                  lme4 = as.character(packageVersion("lme4")),
                  survival = as.character(packageVersion("survival"))),
  genotype_levels = levs, onestage = onestage, survival = survival_ref)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "null"),
           "tests/ipd/data/ipd_reference.json")
