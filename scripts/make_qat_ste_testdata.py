#!/usr/bin/python3
"""Makes testdata/qat_ste/torch_mask.json: PyTorch's straight-through mask of fake
quantization at the edges of the grid, for TestSTEMaskMatchesTorch (qat/ste_mask_test.go).

For each (scale, zero point) of the int8 grid [-128, 127] (PyTorch's quint8 0..255
with zero point zp + 128, the activations' qconfig of the onednn engine), the float32
values a few ulps around the clamp points (qmin - zp) * s, (qmax - zp) * s and the
half-way points (qmin - zp - 0.5) * s, (qmax - zp + 0.5) * s, and the gradient
torch 1.13 passes to each, through both paths eager QAT takes:
torch.fake_quantize_per_tensor_affine (FakeQuantize, FixedQParamsFakeQuantize) and
the FusedMovingAvgObsFakeQuantize module of get_default_qat_qconfig('onednn') with
its observer off (checked equal here). And, for the weights, per-channel random
tensors with scale max|w|/127 (qat's grid), the mask of
torch.fake_quantize_per_channel_affine on [-127, 127]: every weight passes.

  /usr/bin/python3 scripts/make_qat_ste_testdata.py
"""
import json
import os

import numpy as np
import torch
import torch.ao.quantization as tq

torch.set_num_threads(1)
ULPS = 4


def around(v):
    v = np.float32(v)
    out = [v]
    lo = hi = v
    for _ in range(ULPS):
        lo = np.nextafter(lo, np.float32(-np.inf), dtype=np.float32)
        hi = np.nextafter(hi, np.float32(np.inf), dtype=np.float32)
        out = [lo] + out + [hi]
    return out


def mask_function(x, scale, zp):
    x = torch.tensor(x, dtype=torch.float32, requires_grad=True)
    torch.fake_quantize_per_tensor_affine(x, float(scale), zp + 128, 0, 255).sum().backward()
    return x.grad.numpy()


def mask_module(x, scale, zp):
    fq = tq.get_default_qat_qconfig("onednn").activation()
    fq.disable_observer()
    # the fused op recomputes the parameters from the observer's min/max even with the
    # observer off (and raises on its initial +-inf): give it the range of (scale, zp),
    # which gives them back (asserted below; scales under 2^-14 would not: its floor)
    fq.activation_post_process.min_val.copy_(torch.tensor(float(-(zp + 128) * np.float64(scale))))
    fq.activation_post_process.max_val.copy_(torch.tensor(float((127 - zp) * np.float64(scale))))
    fq.scale.copy_(torch.tensor([float(scale)]))
    fq.zero_point.copy_(torch.tensor([zp + 128], dtype=torch.int32))
    x = torch.tensor(x, dtype=torch.float32, requires_grad=True)
    fq(x).sum().backward()
    assert fq.scale.item() == np.float32(scale) and fq.zero_point.item() == zp + 128, (fq.scale.item(), scale, fq.zero_point.item(), zp)
    return x.grad.numpy()


def main():
    rng = np.random.default_rng(17)
    cases = []
    scales = [0.1, 4 / 255, 1 / 256, 0.0123, 2.7e-3, 7.7, float(rng.uniform(0.001, 0.1))]
    for scale in scales:
        scale = np.float32(scale)
        for zp in [-128, -64, 0, 10, 127]:
            xs = []
            for code in [-128 - zp - 0.5, -128 - zp, 127 - zp, 127 - zp + 0.5]:
                xs += around(np.float64(code) * np.float64(scale))
            xs = np.array(xs, dtype=np.float32)
            m1, m2 = mask_function(xs, scale, zp), mask_module(xs, scale, zp)
            assert (m1 == m2).all(), (scale, zp)
            cases.append({"scale": float(scale), "zp": zp, "x": [float(v) for v in xs],
                          "pass": [int(v) for v in m1]})
    weights = []
    for shape in [[8, 3, 3, 3], [10, 64]]:
        w = (rng.standard_normal(shape) * rng.uniform(0.01, 1, size=(shape[0],) + (1,) * (len(shape) - 1))).astype(np.float32)
        amax = np.abs(w.reshape(shape[0], -1)).max(axis=1)
        s = np.maximum(amax.astype(np.float64) / 127, 1e-10).astype(np.float32)
        wt = torch.tensor(w, requires_grad=True)
        torch.fake_quantize_per_channel_affine(wt, torch.tensor(s), torch.zeros(shape[0], dtype=torch.int32),
                                               0, -127, 127).sum().backward()
        weights.append({"shape": shape, "w": [float(v) for v in w.ravel()], "scales": [float(v) for v in s],
                        "pass": [int(v) for v in wt.grad.numpy().ravel()]})
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "testdata", "qat_ste", "torch_mask.json")
    with open(out, "w") as f:
        json.dump({"torch": torch.__version__, "activations": cases, "weights": weights}, f, separators=(",", ":"))
        f.write("\n")
    print(out, len(cases), "cases")


if __name__ == "__main__":
    main()
