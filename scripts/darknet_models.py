#!/usr/bin/python3
"""The --darknet export set (thirteenth session): detectors and face/segmentation
nets whose activations carry a parameter — LeakyRelu(0.1) after every Conv
(Darknet), PRelu with one slope per channel (MobileFaceNet) or a single slope
(ENet) — for the parameterised convolution epilogues (docs/runtime.md,
"Parameterised epilogues (thirteenth session)").

    /usr/bin/python3 scripts/export_benchmodels.py --darknet [--models a,b] [--out DIR]

Random weights (BatchNorm statistics randomised, folded into the Convs by the
exporter), nothing downloaded, static batch 1, one float input "input". Every
model NAME is written as DIR/NAME.onnx (default DIR out/bench-models-darknet)
with four samples DIR/data/NAME/s{0..3}.npz (one array "input" each; the
calibration set of `warboy quantize --calib-data`) and DIR/data/NAME.in.npz
(sample 0). The .onnx files are large and not committed.

The models (MODELS below; the suffix _opN is the export opset):
- yolov3_tiny_op11: YOLOv3-tiny at 416x416 as darknet's yolov3-tiny.cfg lays it
  out: 3x3 Conv+BN+LeakyReLU(0.1) with 2x2 MaxPools, the ZeroPad + stride-1
  MaxPool at 13x13, two heads of 255 channels (13x13 and 26x26), the second
  through a 1x1 Conv, nearest 2x upsampling (Resize with scales at opset 11)
  and a Concat with the 26x26 route.
- yolov4_tiny_op13: YOLOv4-tiny at 416x416: two stride-2 stems, three CSP
  blocks (the second half of the channels taken by torch.split: Split at opset
  13 with its sizes as an input; two 3x3 Convs, a Concat, a 1x1 Conv, a Concat
  with the block input, a MaxPool), the 13x13 and 26x26 heads with nearest
  upsampling and Concat; LeakyReLU(0.1) throughout.
- mobilefacenet_op13: a MobileFaceNet at 112x112: PReLU with one slope per
  channel after the stem, the depthwise and every expansion Conv of the
  inverted-residual bottlenecks (no activation after the projections), a 7x7
  global depthwise Conv (GDC) and a 1x1 Conv to a 128-d embedding.
- enet_op12: an ENet-style segmenter at 256x256: the initial block (a 3x3
  stride-2 Conv concatenated with a MaxPool of the input), bottlenecks with
  1x1/3x3/dilated/asymmetric (5x1, 1x5) Convs and nn.PReLU() (one slope each),
  residual Adds, and a ConvTranspose decoder to 12 classes.
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import exportlib  # noqa: E402  (beside this script)

MODELS = ["yolov3_tiny_op11", "yolov4_tiny_op13", "mobilefacenet_op13", "enet_op12"]


def _torch():
    import torch
    return torch


def randomise_norms(model):
    """Random BatchNorm statistics and affines (the exporter folds them into the Convs)."""
    torch = _torch()
    nn = torch.nn
    g = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2, generator=g)
                m.running_var.uniform_(0.5, 2.0, generator=g)
                m.weight.uniform_(0.5, 1.5, generator=g)
                m.bias.uniform_(-0.2, 0.2, generator=g)
            if isinstance(m, nn.PReLU):
                m.weight.uniform_(0.05, 0.4, generator=g)
    return model


def cbl(i, o, k=3, s=1):
    """Darknet's convolutional layer: Conv (no bias) + BN + LeakyReLU(0.1)."""
    nn = _torch().nn
    return nn.Sequential(nn.Conv2d(i, o, k, s, k // 2, bias=False), nn.BatchNorm2d(o), nn.LeakyReLU(0.1))


def yolov3_tiny(na=3, nc=80):
    torch = _torch()
    nn = torch.nn
    F = torch.nn.functional
    no = na * (5 + nc)

    class YoloV3Tiny(nn.Module):
        def __init__(self):
            super().__init__()
            self.b1 = nn.Sequential(cbl(3, 16), nn.MaxPool2d(2, 2), cbl(16, 32), nn.MaxPool2d(2, 2),
                                    cbl(32, 64), nn.MaxPool2d(2, 2), cbl(64, 128), nn.MaxPool2d(2, 2),
                                    cbl(128, 256))                                     # 26x26 route
            self.b2 = nn.Sequential(nn.MaxPool2d(2, 2), cbl(256, 512), nn.ZeroPad2d((0, 1, 0, 1)),
                                    nn.MaxPool2d(2, 1), cbl(512, 1024), cbl(1024, 256, 1))  # 13x13 route
            self.h1 = nn.Sequential(cbl(256, 512), nn.Conv2d(512, no, 1))
            self.lat = cbl(256, 128, 1)
            self.h2 = nn.Sequential(cbl(384, 256), nn.Conv2d(256, no, 1))

        def forward(self, x):
            a = self.b1(x)
            b = self.b2(a)
            up = F.interpolate(self.lat(b), scale_factor=2.0, mode="nearest")
            return self.h1(b), self.h2(torch.cat([up, a], 1))

    return YoloV3Tiny()


def yolov4_tiny(na=3, nc=80):
    torch = _torch()
    nn = torch.nn
    F = torch.nn.functional
    no = na * (5 + nc)

    class CSP(nn.Module):
        """YOLOv4-tiny's resblock_body: route_lead, the second half of the
        channels (groups=2 group_id=1), two 3x3, Concat, 1x1, Concat, MaxPool."""

        def __init__(self, c):
            super().__init__()
            self.c = c
            self.lead = cbl(c, c)
            self.a = cbl(c // 2, c // 2)
            self.b = cbl(c // 2, c // 2)
            self.t = cbl(c, c, 1)
            self.pool = nn.MaxPool2d(2, 2)

        def forward(self, x):
            x = self.lead(x)
            r = x
            x = torch.split(x, self.c // 2, dim=1)[1]
            a = self.a(x)
            b = self.b(a)
            feat = self.t(torch.cat([b, a], 1))
            return self.pool(torch.cat([r, feat], 1)), feat

    class YoloV4Tiny(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Sequential(cbl(3, 32, 3, 2), cbl(32, 64, 3, 2))
            self.c1, self.c2, self.c3 = CSP(64), CSP(128), CSP(256)
            self.conv3 = cbl(512, 512)
            self.p5 = cbl(512, 256, 1)
            self.h1 = nn.Sequential(cbl(256, 512), nn.Conv2d(512, no, 1))
            self.lat = cbl(256, 128, 1)
            self.h2 = nn.Sequential(cbl(384, 256), nn.Conv2d(256, no, 1))

        def forward(self, x):
            x = self.stem(x)
            x, _ = self.c1(x)
            x, _ = self.c2(x)
            x, feat = self.c3(x)
            p5 = self.p5(self.conv3(x))
            up = F.interpolate(self.lat(p5), scale_factor=2.0, mode="nearest")
            return self.h1(p5), self.h2(torch.cat([up, feat], 1))

    return YoloV4Tiny()


def mobilefacenet(emb=128):
    torch = _torch()
    nn = torch.nn

    def cbp(i, o, k=3, s=1, g=1, act=True):
        layers = [nn.Conv2d(i, o, k, s, k // 2 if k < 7 else 0, groups=g, bias=False), nn.BatchNorm2d(o)]
        if act:
            layers.append(nn.PReLU(o))
        return nn.Sequential(*layers)

    class Bottleneck(nn.Module):
        def __init__(self, i, o, s, t=2):
            super().__init__()
            h = i * t
            self.res = s == 1 and i == o
            self.body = nn.Sequential(cbp(i, h, 1), cbp(h, h, 3, s, h), cbp(h, o, 1, act=False))

        def forward(self, x):
            y = self.body(x)
            return x + y if self.res else y

    def stage(i, o, n, s, t=2):
        return [Bottleneck(i if k == 0 else o, o, s if k == 0 else 1, t) for k in range(n)]

    class MobileFaceNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(
                cbp(3, 64, 3, 2), cbp(64, 64, 3, 1, 64),
                *stage(64, 64, 5, 2), *stage(64, 128, 1, 2, 4), *stage(128, 128, 6, 1),
                *stage(128, 128, 1, 2, 4), *stage(128, 128, 2, 1),
                cbp(128, 512, 1), cbp(512, 512, 7, 1, 512, act=False),   # GDC: 7x7 -> 1x1
                nn.Conv2d(512, emb, 1, bias=False), nn.BatchNorm2d(emb))

        def forward(self, x):
            return torch.flatten(self.body(x), 1)

    return MobileFaceNet()


def enet(classes=12):
    torch = _torch()
    nn = torch.nn

    class Initial(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 13, 3, 2, 1, bias=False)
            self.pool = nn.MaxPool2d(2, 2)
            self.bn = nn.BatchNorm2d(16)
            self.act = nn.PReLU()

        def forward(self, x):
            return self.act(self.bn(torch.cat([self.conv(x), self.pool(x)], 1)))

    class Bottleneck(nn.Module):
        """ENet's regular / dilated / asymmetric bottleneck (1x1 down, the
        middle Conv, 1x1 up, residual Add, PReLU with one slope)."""

        def __init__(self, c, kind="regular", d=1):
            super().__init__()
            m = c // 4
            if kind == "asym":
                mid = nn.Sequential(nn.Conv2d(m, m, (5, 1), 1, (2, 0), bias=False),
                                    nn.Conv2d(m, m, (1, 5), 1, (0, 2), bias=False))
            else:
                mid = nn.Conv2d(m, m, 3, 1, d, dilation=d, bias=False)
            self.body = nn.Sequential(nn.Conv2d(c, m, 1, bias=False), nn.BatchNorm2d(m), nn.PReLU(),
                                      mid, nn.BatchNorm2d(m), nn.PReLU(),
                                      nn.Conv2d(m, c, 1, bias=False), nn.BatchNorm2d(c))
            self.act = nn.PReLU()

        def forward(self, x):
            return self.act(x + self.body(x))

    class Down(nn.Module):
        def __init__(self, i, o):
            super().__init__()
            self.body = nn.Sequential(nn.Conv2d(i, o, 3, 2, 1, bias=False), nn.BatchNorm2d(o), nn.PReLU())

        def forward(self, x):
            return self.body(x)

    def up(i, o):
        return nn.Sequential(nn.ConvTranspose2d(i, o, 2, 2, bias=False), nn.BatchNorm2d(o), nn.ReLU())

    class ENet(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = nn.Sequential(
                Initial(), Down(16, 64), *[Bottleneck(64) for _ in range(4)], Down(64, 128),
                Bottleneck(128), Bottleneck(128, d=2), Bottleneck(128, "asym"), Bottleneck(128, d=4),
                Bottleneck(128), Bottleneck(128, d=8), Bottleneck(128, "asym"), Bottleneck(128, d=16),
                up(128, 64), Bottleneck(64), up(64, 16), Bottleneck(16),
                nn.ConvTranspose2d(16, classes, 2, 2))

        def forward(self, x):
            return self.net(x)

    return ENet()


# name: (builder, opset, input side, output names)
SPECS = {
    "yolov3_tiny_op11": (yolov3_tiny, 11, 416, ["out13", "out26"]),
    "yolov4_tiny_op13": (yolov4_tiny, 13, 416, ["out13", "out26"]),
    "mobilefacenet_op13": (mobilefacenet, 13, 112, ["embedding"]),
    "enet_op12": (enet, 12, 256, ["output"]),
}


def export(name, out):
    """Export NAME to OUT/NAME.onnx with its samples; returns the path."""
    torch = _torch()
    builder, opset, side, outs = SPECS[name]
    rng = np.random.default_rng(31)
    # Images in [0, 1] (x/255, the YOLO and face-net preprocessing).
    samples = [rng.random((1, 3, side, side), dtype=np.float32) for _ in range(4)]
    torch.manual_seed(0)
    model = randomise_norms(builder()).eval()
    path = os.path.join(out, name + ".onnx")
    exportlib.torch_export(model, [torch.from_numpy(samples[0])], path, opset, ["input"], outs, None)
    d = os.path.join(out, "data", name)
    os.makedirs(d, exist_ok=True)
    for i, s in enumerate(samples):
        np.savez(os.path.join(d, f"s{i}.npz"), input=s)
    np.savez(os.path.join(out, "data", name + ".in.npz"), input=samples[0])
    print(f"{path}: {os.path.getsize(path) / 1e6:.2f} MB, opset {opset}", flush=True)
    return path


def main(args):
    """Export args.models (default MODELS) to args.out (default
    out/bench-models-darknet); returns the process exit code."""
    return exportlib.export_all(exportlib.model_names(args.models, MODELS), export,
                                args.out or "out/bench-models-darknet")


if __name__ == "__main__":
    print(__doc__)
    sys.exit(2)
