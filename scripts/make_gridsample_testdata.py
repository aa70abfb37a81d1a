#!/usr/bin/python3
"""Write the GridSample test model and its data (runtime/op_gridsample.go; the test
is TestGridSampleAgreesWithORT in cmd/warboy):

    /usr/bin/python3 scripts/make_gridsample_testdata.py [OUTDIR]     (default testdata/exported)

OUTDIR/gridsample_opset16.onnx is a torch module exported by torch.onnx at opset
16 with the inputs x [1, 2, 5, 7] and grid [1, 4, 6, 2] and one output per
F.grid_sample setting: mode (bilinear, nearest, bicubic) x padding_mode (zeros,
border, reflection) x align_corners (0, 1), named MODE_PADDING_ALIGN.
OUTDIR/npz_gridsample/s{0,1}.npz are two inputs (grids reaching outside [-1, 1],
pixel centres, exact ties for nearest) and OUTDIR/npz_gridsample_ort/s{0,1}.npz
ONNX Runtime's outputs on them (tools/ort), committed so that the test needs
neither Python nor node.
"""
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import exportlib  # noqa: E402

MODES = ["bilinear", "nearest", "bicubic"]
PADDINGS = ["zeros", "border", "reflection"]


class AllGridSamples(torch.nn.Module):
    def forward(self, x, grid):
        return tuple(torch.nn.functional.grid_sample(x, grid, mode=m, padding_mode=p, align_corners=bool(a))
                     for m in MODES for p in PADDINGS for a in (0, 1))


def names():
    return [f"{m}_{p}_{a}" for m in MODES for p in PADDINGS for a in (0, 1)]


def inputs():
    rng = np.random.default_rng(31)
    x = rng.standard_normal((1, 2, 5, 7)).astype(np.float32)
    g0 = rng.uniform(-1.4, 1.4, (1, 4, 6, 2)).astype(np.float32)
    # pixel centres (align_corners=0), the corners, a nearest-mode tie, far outside
    g1 = g0.copy()
    g1[0, 0, :, 0] = (2 * np.arange(6) + 1) / 7 - 1
    g1[0, 0, :, 1] = (2 * 2 + 1) / 5 - 1
    g1[0, 1, 0] = [-1, -1]
    g1[0, 1, 1] = [1, 1]
    g1[0, 1, 2] = [2 / 7 - 1, 2 / 5 - 1]          # the edge between two pixels
    g1[0, 1, 3] = [-3.7, 2.9]
    g1[0, 1, 4] = [5.2, -4.4]
    g1[0, 1, 5] = [0, 0]
    return [{"x": x, "grid": g0}, {"x": x * 0.5 + 0.1, "grid": g1.astype(np.float32)}]


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(exportlib.ROOT, "testdata", "exported")
    samples = inputs()
    path = os.path.join(out, "gridsample_opset16.onnx")
    xs = [torch.from_numpy(samples[0]["x"]), torch.from_numpy(samples[0]["grid"])]
    exportlib.torch_export(AllGridSamples().eval(), xs, path, 16, ["x", "grid"], names(), None)
    for sub in ("npz_gridsample", "npz_gridsample_ort"):
        os.makedirs(os.path.join(out, sub), exist_ok=True)
    for i, s in enumerate(samples):
        np.savez(os.path.join(out, "npz_gridsample", f"s{i}.npz"), **s)
        ref = exportlib.ort_run(path, s)
        np.savez(os.path.join(out, "npz_gridsample_ort", f"s{i}.npz"), **ref)
        # PyTorch's own answer, as a check of the export (ONNX Runtime is the oracle).
        with torch.no_grad():
            tv = AllGridSamples()(torch.from_numpy(s["x"]), torch.from_numpy(s["grid"]))
        worst = max(float(np.abs(t.numpy() - ref[n]).max()) for t, n in zip(tv, names()))
        print(f"s{i}: ONNX Runtime vs PyTorch max |diff| {worst:.3g}")
    print(f"{path}: {os.path.getsize(path)} bytes")


if __name__ == "__main__":
    main()
