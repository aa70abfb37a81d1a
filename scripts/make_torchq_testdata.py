#!/usr/bin/python3
"""Write the PyTorch-quantized test model and its data (the test is
TestTorchQuantizedModel in cmd/warboy):

    /usr/bin/python3 scripts/make_torchq_testdata.py [OUTDIR]     (default testdata/exported)

OUTDIR/torchq_qnnpack_opset13.onnx is a small CNN (Conv+ReLU, a depthwise
Conv+ReLU, a residual add, global pooling, Linear) quantized by PyTorch itself
(eager mode, qnnpack, calibrated on random data) and exported by torch.onnx at
opset 13, as a user who quantized in PyTorch hands it over: QuantizeLinear ->
Cast(to=uint8) -> DequantizeLinear around float operators, weights int8 with
1-element scales, int32 biases. OUTDIR/npz_torchq/s{0,1}.npz are two inputs and
OUTDIR/npz_torchq_ort/s{0,1}.npz ONNX Runtime's outputs on them (tools/ort),
committed so that the test needs neither Python nor node.
"""
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import exportlib  # noqa: E402

nn = torch.nn


class Small(nn.Module):
    def __init__(self):
        super().__init__()
        self.quant = torch.ao.quantization.QuantStub()
        self.c1 = nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1), nn.ReLU())
        self.c2 = nn.Sequential(nn.Conv2d(8, 8, 3, 1, 1, groups=8), nn.ReLU())
        self.add = nn.quantized.FloatFunctional()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(8, 4)
        self.dequant = torch.ao.quantization.DeQuantStub()

    def forward(self, x):
        y = self.c1(self.quant(x))
        y = self.add.add(y, self.c2(y))
        return self.dequant(self.fc(torch.flatten(self.pool(y), 1)))


def build():
    torch.backends.quantized.engine = "qnnpack"   # Debian's torch has no fbgemm
    torch.manual_seed(0)
    m = Small().eval()
    torch.ao.quantization.fuse_modules(m, [["c1.0", "c1.1"], ["c2.0", "c2.1"]], inplace=True)
    m.qconfig = torch.ao.quantization.get_default_qconfig("qnnpack")
    torch.ao.quantization.prepare(m, inplace=True)
    g = torch.Generator().manual_seed(5)
    with torch.no_grad():
        for _ in range(4):
            m(torch.rand(2, 3, 16, 16, generator=g) * 2 - 1)
    torch.ao.quantization.convert(m, inplace=True)
    return m


def main(out):
    rng = np.random.default_rng(17)
    xs = [(rng.random((1, 3, 16, 16)) * 2 - 1).astype(np.float32) for _ in range(2)]
    path = exportlib.torch_export(build(), [torch.from_numpy(xs[0])], os.path.join(out, "torchq_qnnpack_opset13.onnx"),
                                  13, ["input"], ["output"], None)
    for d in ("npz_torchq", "npz_torchq_ort"):
        os.makedirs(os.path.join(out, d), exist_ok=True)
    for i, x in enumerate(xs):
        np.savez(os.path.join(out, "npz_torchq", f"s{i}.npz"), input=x)
        np.savez(os.path.join(out, "npz_torchq_ort", f"s{i}.npz"), **exportlib.ort_run(path, {"input": x}))
    print(f"{path}: {os.path.getsize(path)} bytes")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(exportlib.ROOT, "testdata", "exported"))
