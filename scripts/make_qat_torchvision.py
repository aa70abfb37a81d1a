#!/usr/bin/env python3
"""torchvision's classification architectures, as torch.onnx writes them, for a check that
`warboy qat` trains networks it was not built on (docs/quantizer.md, "QAT (eleventh
session)"). Each network is torchvision's own module with num_classes=10, fed a
Fashion-MNIST image [N, 1, 28, 28] that a first `expand` makes three-channel (the
exported graph starts with Expand), randomly initialised (torchvision's init, seed 0),
switched to eval mode and exported at OPSET (default 13) with a symbolic batch. The
files are not committed (benchmarks only; 1-25 MB each). Debian's python3-torch 1.13:

    /usr/bin/python3 scripts/make_qat_torchvision.py OUTDIR [OPSET [rgb]]
    for f in OUTDIR/*.onnx; do warboy qat $f -o q.onnx --data ../shared/data/fashion-mnist \\
        -n 256 --calib-n 64 --eval-n 200 --batch 32 --threads 1; done
"""
import os
import sys

import torch
import torch.nn as nn
import torchvision.models as tvm

NETS = {
    "resnet18": lambda: tvm.resnet18(num_classes=10),
    "mobilenet_v2": lambda: tvm.mobilenet_v2(num_classes=10),
    "mobilenet_v3_small": lambda: tvm.mobilenet_v3_small(num_classes=10),
    "squeezenet1_1": lambda: tvm.squeezenet1_1(num_classes=10),
    "shufflenet_v2_x0_5": lambda: tvm.shufflenet_v2_x0_5(num_classes=10),
    "mnasnet0_5": lambda: tvm.mnasnet0_5(num_classes=10),
    "regnet_x_400mf": lambda: tvm.regnet_x_400mf(num_classes=10),
    "efficientnet_b0": lambda: tvm.efficientnet_b0(num_classes=10),
    "googlenet": lambda: tvm.googlenet(num_classes=10, aux_logits=False, init_weights=True),
}


class Gray(nn.Module):
    """A one-channel image made three-channel for a torchvision network."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        return self.net(x.expand(-1, 3, -1, -1))


def main():
    out = sys.argv[1]
    opset = int(sys.argv[2]) if len(sys.argv) > 2 else 13
    # rgb: the network as torchvision exports it for images, input [N,3,H,W] with symbolic
    # height and width and no expand (docs/quantizer.md, "QAT on models as exporters write
    # them"), plus convnext_tiny.
    rgb = len(sys.argv) > 3 and sys.argv[3] == "rgb"
    nets = dict(NETS)
    if rgb:
        nets["convnext_tiny"] = lambda: tvm.convnext_tiny(num_classes=10)
    os.makedirs(out, exist_ok=True)
    for name, make in nets.items():
        torch.manual_seed(0)
        if rgb:
            m, x, axes = make().eval(), torch.rand(2, 3, 64, 64), {0: "N", 2: "H", 3: "W"}
        else:
            m, x, axes = Gray(make()).eval(), torch.rand(2, 1, 28, 28), {0: "N"}
        path = os.path.join(out, f"{name}.onnx")
        try:
            torch.onnx.export(m, x, path, opset_version=opset, input_names=["x"], output_names=["logits"],
                              dynamic_axes={"x": axes, "logits": {0: "N"}})
            print(f"wrote {path}")
        except Exception as e:  # an architecture torch.onnx cannot export at this opset
            print(f"{name}: export failed: {e}")


if __name__ == "__main__":
    main()
