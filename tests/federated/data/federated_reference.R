# Reference values for the federated survival tests (issue 13), from R survival on the POOLED site files.
# Run from this folder:  Rscript federated_reference.R   (writes federated_reference.json)
# R 4.2, survival 3.5-3; the federated algorithm (min_cell 0) must reproduce these numbers.
suppressPackageStartupMessages({library(survival); library(jsonlite)})
files <- sort(Sys.glob("sites/*.csv"))
d <- do.call(rbind, lapply(files, function(f) read.csv(f, colClasses = "character", na.strings = "")))
d$t <- as.numeric(d$pfs_days); d$e <- as.numeric(d$pfs_event)
d$uptake_restored <- as.numeric(d$uptake_restored); d$age_years <- as.numeric(d$age_years)

km <- function(fit) {
  q <- quantile(fit, probs = 0.5)   # survfit's default conf.type = "log"
  n <- if (is.null(fit$strata)) sum(fit$n) else fit$n
  ev <- if (is.null(fit$strata)) sum(fit$n.event) else
    tapply(fit$n.event, rep(seq_along(fit$strata), fit$strata), sum)
  data.frame(n = n, events = as.numeric(ev), median = as.numeric(q$quantile),
             median_ci_lower = as.numeric(q$lower), median_ci_upper = as.numeric(q$upper))
}
all <- km(survfit(Surv(t, e) ~ 1, data = d)); all$group <- "all"
byg <- survfit(Surv(t, e) ~ genotype, data = d)
gg <- km(byg); gg$group <- sub("genotype=", "", names(byg$strata))
lr <- function(s) list(chisq = s$chisq, df = length(s$n) - 1, p = pchisq(s$chisq, length(s$n) - 1, lower.tail = FALSE))
lr_un <- lr(survdiff(Surv(t, e) ~ genotype, data = d))
lr_st <- lr(survdiff(Surv(t, e) ~ genotype + strata(site), data = d))
fit <- coxph(Surv(t, e) ~ uptake_restored + age_years + strata(site), data = d, ties = "efron")
s <- summary(fit)
cox <- data.frame(name = rownames(s$coefficients), coef = s$coefficients[, "coef"],
                  se = s$coefficients[, "se(coef)"], hr = s$coefficients[, "exp(coef)"],
                  ci_lower = s$conf.int[, "lower .95"], ci_upper = s$conf.int[, "upper .95"],
                  p = s$coefficients[, "Pr(>|z|)"])
out <- list(
  source = "R survival 3.5-3 (survfit + quantile, survdiff, coxph ties = efron) on the pooled sites/*.csv",
  time = "pfs_days", event = "pfs_event",
  overall = all, by_genotype = gg, logrank = lr_un, logrank_strata_site = lr_st,
  cox = list(coefficients = cox, loglik = fit$loglik, n = fit$n, events = fit$nevent))
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, na = "null", pretty = TRUE), "federated_reference.json")

# A hand-built case where the pooled KM lies exactly on 0.5 (six patients over two sites; S = 0.5 from day 30
# to the next event at day 40, so survfit's median is the mid-point 35) -> federated_reference_half.json
h <- do.call(rbind, lapply(sort(Sys.glob("sites_half/*.csv")),
                           function(f) read.csv(f, colClasses = "character", na.strings = "")))
h$t <- as.numeric(h$pfs_days); h$e <- as.numeric(h$pfs_event)
writeLines(toJSON(list(source = "R survival 3.5-3 survfit + quantile on the pooled sites_half/*.csv",
                       overall = km(survfit(Surv(t, e) ~ 1, data = h))),
                  digits = NA, auto_unbox = TRUE, na = "null", pretty = TRUE), "federated_reference_half.json")
