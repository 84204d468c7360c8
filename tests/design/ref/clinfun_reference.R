# Reference values for tests/design from R clinfun 1.1.5 (Seshan), run on this machine.
#
# clinfun is not reachable on CRAN here; it was built from CRAN's GitHub mirror (cran/clinfun,
# commit "version 1.1.5") with:
#   git -C <mirror> archive HEAD | tar -x -C src && R CMD INSTALL -l rlib src
# Regenerate:
#   Rscript tests/design/ref/clinfun_reference.R <path-to-rlib> > tests/design/ref/clinfun_reference.json
args <- commandArgs(trailingOnly = TRUE)
library(clinfun, lib.loc = args[1])
library(jsonlite)

simon_cases <- list(
  c(0.05, 0.25, 0.05, 0.20), c(0.05, 0.25, 0.10, 0.10),
  c(0.10, 0.30, 0.05, 0.20), c(0.10, 0.30, 0.10, 0.10), c(0.10, 0.30, 0.05, 0.10),
  c(0.20, 0.40, 0.05, 0.20), c(0.20, 0.40, 0.10, 0.10), c(0.20, 0.40, 0.05, 0.10),
  c(0.30, 0.50, 0.05, 0.20), c(0.40, 0.60, 0.10, 0.10), c(0.05, 0.20, 0.10, 0.10),
  c(0.50, 0.70, 0.05, 0.10), c(0.70, 0.90, 0.05, 0.20)
)
simon <- lapply(simon_cases, function(a) {
  x <- ph2simon(a[1], a[2], a[3], a[4], nmax = 100)
  adm <- twostage.admissible(x)
  rows <- lapply(seq_len(nrow(adm)), function(i) {
    d <- adm[i, ]
    oc <- oc.twostage.bdry(a[1], a[2], d[["r1"]], d[["n1"]], d[["r"]], d[["n"]])
    list(r1 = d[["r1"]], n1 = d[["n1"]], r = d[["r"]], n = d[["n"]], en0 = d[["EN(p0)"]],
         pet0 = d[["PET(p0)"]], q_lo = d[["qLo"]], q_hi = d[["qHi"]],
         alpha = oc[[1]], power = oc[[2]])
  })
  list(p0 = a[1], p1 = a[2], alpha = a[3], beta = a[4], nmax = 100,
       by_n = unname(lapply(seq_len(nrow(x$out)), function(i) as.list(x$out[i, 1:4]))),
       admissible = rows)
})

single_cases <- list(c(0.2, 0.4, 0.05, 0.1), c(0.1, 0.3, 0.05, 0.2), c(0.05, 0.25, 0.1, 0.1),
                     c(0.3, 0.5, 0.05, 0.2))
single <- lapply(single_cases, function(a) {
  s <- ph2single(a[1], a[2], a[3], a[4], nsoln = 5)
  list(p0 = a[1], p1 = a[2], alpha = a[3], beta = a[4],
       designs = lapply(seq_len(nrow(s)), function(i) list(n = s[i, 1], r = s[i, 2],
                        alpha = s[i, 3], beta = s[i, 4])))
})

inf_cases <- list(
  c(8, 4, 19, 54, 0.2), c(3, 4, 19, 54, 0.2), c(20, 4, 19, 54, 0.2), c(0, 1, 10, 29, 0.1),
  c(5, 1, 10, 29, 0.1), c(9, 1, 10, 29, 0.1), c(2, 1, 10, 29, 0.1), c(14, 5, 24, 45, 0.2)
)
inference <- lapply(inf_cases, function(a) {
  v <- twostage.inference(a[1], a[2], a[3], a[4], a[5], alpha = 0.05)
  list(x = a[1], r1 = a[2], n1 = a[3], n = a[4], p0 = a[5], alpha = 0.05,
       umvue = v[[1]], p_value = v[[2]], lcl = v[[3]], ucl = v[[4]])
})

cat(toJSON(list(clinfun_version = as.character(packageVersion("clinfun")), r_version = R.version.string,
                simon = simon, single = single, inference = inference),
           auto_unbox = TRUE, digits = NA, pretty = TRUE))
