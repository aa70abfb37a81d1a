#!/usr/bin/env python3
"""Reference thresholds for quantizer/entropy_test.go (ENTROPY calibration).

An independent, direct numpy implementation (one O(i) pass per candidate, no prefix
sums) of the KL-divergence threshold search of TensorRT (GTC 2017 "8-bit inference with
TensorRT"; NVIDIA pytorch-quantization calib/histogram.py _compute_amax_entropy):

  for i in start .. n:
      P = hist[:i] with sum(hist[i:]) added to P[i-1]
      Q = hist[:i] merged into `levels` levels (bin j -> level j*levels//i), each level's
          mass spread evenly over its non-empty bins
      KL(P/sum(P) || Q/sum(Q)); the threshold is the LAST argmin, i bins.

with point masses carried exactly: hist = continuous part c + point masses s; only c is
merged and spread, s is added unchanged to Q (and to P); beyond the threshold s is an
outlier like any other value. With s = 0 this is TensorRT's algorithm unchanged.

The synthetic histograms are defined by closed formulas that the Go test rebuilds.
Run with Debian's python3 (numpy only):  /usr/bin/python3 scripts/entropy_reference.py
"""
import numpy as np

N = 2048
START = 128


def kl_search(c, s, levels, start=START):
    c = np.asarray(c, dtype=np.float64)
    s = np.asarray(s, dtype=np.float64)
    n = len(c)
    total = c.sum() + s.sum()
    kls = np.full(n + 1, np.inf)
    for i in range(start, n + 1):
        ci, si = c[:i], s[:i]
        grp = (np.arange(i) * levels) // i
        nz = ci > 0
        sums = np.bincount(grp, weights=ci, minlength=levels)
        cnt = np.bincount(grp, weights=nz.astype(np.float64), minlength=levels)
        q = np.where(nz, sums[grp] / np.maximum(cnt[grp], 1), 0.0) + si
        p = ci + si
        p[-1] += total - p.sum()
        pn, qn = p / p.sum(), q / q.sum()
        m = pn > 0
        if np.any(qn[m] == 0):
            continue
        kls[i] = np.sum(pn[m] * np.log(pn[m] / qn[m]))
    best = np.min(kls)
    return int(np.max(np.nonzero(kls == best)[0])), kls


def relu6_like():
    """[0, 6]: exponential density (rate 1/0.5) plus point masses: five constant-
    background values of 60,000 each (0.2, 0.35, 0.5, 0.65, 0.8) and ReLU6's saturation
    at 6 (2,000 in the last bin)."""
    w = 6.0 / N
    edges = np.arange(N + 1) * w
    F = -0.5 * np.exp(-edges / 0.5)
    c = 1e6 / 0.5 * (F[1:] - F[:-1])
    s = np.zeros(N)
    for v in (0.2, 0.35, 0.5, 0.65, 0.8):
        s[int(v / w)] += 60000.0
    s[N - 1] += 2000.0
    return c, s, w


def heavy_tail():
    """|x| of a Student-t (3 degrees of freedom, scale 0.5) over [0, 40], evaluated at
    bin centres, no point mass."""
    w = 40.0 / N
    x = (np.arange(N) + 0.5) * w
    c = 1e6 * w * (1 + x * x / (3 * 0.25)) ** -2
    return c, np.zeros(N), w


def main():
    c, s, w = relu6_like()
    i, _ = kl_search(c, s, 256)
    print("relu6_like  levels=256 point masses: bins=%d threshold=%.6f" % (i, i * w))
    i, _ = kl_search(c + s, np.zeros(N), 256)
    print("relu6_like  levels=256 plain TensorRT: bins=%d threshold=%.6f" % (i, i * w))
    c, s, w = heavy_tail()
    i, _ = kl_search(c, s, 128)
    print("heavy_tail  levels=128: bins=%d threshold=%.6f" % (i, i * w))
    i, _ = kl_search(c, s, 256)
    print("heavy_tail  levels=256: bins=%d threshold=%.6f" % (i, i * w))


if __name__ == "__main__":
    main()
