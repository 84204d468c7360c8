# Issue 14: reference Bland-Altman statistics for tests/dosimetry/test_verification.py.
# Bland JM, Altman DG. Lancet 1986;1:307-310: mean difference, SD, limits mean +/- z SD (z = qnorm(0.975)),
# approximate 95% CIs with SE(mean) = SD/sqrt(n), SE(limit) = sqrt(3 SD^2 / n), t on n - 1 df.
# Run: Rscript tests/dosimetry/reference/bland_altman_verification.R (writes bland_altman_verification.csv)
delivered <- c(46.1, 15.0, 5.5, 75.4, 30.2, 12.9)
predicted <- c(57.0, 18.1, 6.5, 93.9, 28.0, 16.4)
ba <- function(d, scale) {
  n <- length(d); m <- mean(d); s <- sd(d); z <- qnorm(0.975); t <- qt(0.975, n - 1)
  se_m <- s / sqrt(n); se_l <- sqrt(3 * s^2 / n)
  lo <- m - z * s; hi <- m + z * s
  data.frame(scale = scale, n = n, mean = m, sd = s, loa_lower = lo, loa_upper = hi,
             mean_ci_lower = m - t * se_m, mean_ci_upper = m + t * se_m,
             loa_lower_ci_lower = lo - t * se_l, loa_lower_ci_upper = lo + t * se_l,
             loa_upper_ci_lower = hi - t * se_l, loa_upper_ci_upper = hi + t * se_l)
}
out <- rbind(ba(log(delivered) - log(predicted), "log_ratio"), ba(delivered - predicted, "difference_gy"))
here <- dirname(sub("--file=", "", grep("--file=", commandArgs(FALSE), value = TRUE)))
write.csv(out, file.path(here, "bland_altman_verification.csv"), row.names = FALSE)
print(format(out, digits = 15))
