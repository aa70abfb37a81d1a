#!/usr/bin/python3
"""Export the small exporter-made test models of testdata/exported/.

Run with Debian's python (python3-torch 1.13, python3-torchvision, python3-onnx):

    /usr/bin/python3 scripts/export_testmodels.py [OUTDIR]

It writes, at opset 11 and 13, with symbolic batch / height / width (or sequence
length) exactly as torch.onnx writes them:

  classifier_opsetNN.onnx   a narrow ResNet / MobileNetV2-style classifier (BatchNorm,
                            ReLU, ReLU6 as Clip, depthwise convs, residual Adds,
                            GlobalAveragePool, Flatten, Gemm) for ImageNet-style
                            preprocessed input [N,3,H,W]; random weights, 100 classes
  detector_opsetNN.onnx     a detector-style net: strided convs, HardSwish, an FPN with
                            Resize (nearest by scale, linear to a size read from a
                            Shape/Gather/Unsqueeze/Concat subgraph), ConvTranspose,
                            Concat, Unsqueeze/Squeeze, a head [N,A,H/8,W/8,5+C]
  transformer_opsetNN.onnx  a transformer encoder block on [N,T,D]: LayerNorm written
                            out (ReduceMean/Sub/Pow/Sqrt/Div), multi-head attention with
                            shape-subgraph Reshapes, GELU as Erf

recognizer_opsetNN.onnx   a CRNN-style text-line recogniser on [N,1,32,W] with W
                            symbolic: AveragePool, Squeeze of the height (attribute form
                            at opset 11, input form at 13), a bidirectional LSTM
classifier_bn_opset13.onnx  the classifier exported with TrainingMode.PRESERVE: the
                            BatchNormalization nodes are not folded

plus sample data: images/ (PNG and JPEG of different sizes, a labels.txt),
npy/ (classifier tensors: one sample and a batch), npz_seq/ (transformer samples of two
sequence lengths, keyed by input name), npy_det/ (detector tensors),
npy_lines/ (text lines of widths 64, 100 and 160), images_torchvision_r64c56.npz (torchvision's Resize(64)/CenterCrop(56)/Normalize of the
images, the reference of the Go preprocessing). Weights are
random (seeded) and BatchNorm statistics are randomised, so nothing is downloaded.
"""
import math
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(14)
np.random.seed(14)

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "testdata", "exported")


def randomise_bn(m):
    for mod in m.modules():
        if isinstance(mod, nn.BatchNorm2d):
            with torch.no_grad():
                mod.running_mean.uniform_(-0.2, 0.2)
                mod.running_var.uniform_(0.5, 2.0)
                mod.weight.uniform_(0.5, 1.5)
                mod.bias.uniform_(-0.2, 0.2)


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.down = None
        if stride != 1 or cin != cout:
            self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        s = x if self.down is None else self.down(x)
        return F.relu(y + s)


class InvertedResidual(nn.Module):
    def __init__(self, c, expand):
        super().__init__()
        h = c * expand
        self.body = nn.Sequential(
            nn.Conv2d(c, h, 1, bias=False), nn.BatchNorm2d(h), nn.ReLU6(),
            nn.Conv2d(h, h, 3, 1, 1, groups=h, bias=False), nn.BatchNorm2d(h), nn.ReLU6(),
            nn.Conv2d(h, c, 1, bias=False), nn.BatchNorm2d(c))

    def forward(self, x):
        return x + self.body(x)


class Classifier(nn.Module):
    """ResNet-18-style stem and stages, narrowed, with one MobileNetV2 block."""

    def __init__(self, classes=100):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 7, 2, 3, bias=False), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(3, 2, 1))
        self.layer1 = BasicBlock(16, 16, 1)
        self.layer2 = BasicBlock(16, 32, 2)
        self.mb = InvertedResidual(32, 4)
        self.layer3 = BasicBlock(32, 48, 2)
        self.layer4 = BasicBlock(48, 64, 2)
        self.fc = nn.Linear(64, classes)

    def forward(self, x):
        x = self.stem(x)
        x = self.layer4(self.layer3(self.mb(self.layer2(self.layer1(x)))))
        x = F.adaptive_avg_pool2d(x, 1)
        return self.fc(torch.flatten(x, 1))


class ConvBNAct(nn.Sequential):
    def __init__(self, cin, cout, k=3, s=1):
        super().__init__(nn.Conv2d(cin, cout, k, s, k // 2, bias=False), nn.BatchNorm2d(cout), nn.Hardswish())


class Detector(nn.Module):
    """A small YOLO/FPN-style detector: three strides, top-down path with Resize and
    ConvTranspose, one head at stride 8."""

    def __init__(self, classes=4, anchors=3):
        super().__init__()
        self.a, self.c = anchors, classes
        self.s2 = ConvBNAct(3, 16, 3, 2)
        self.s4 = ConvBNAct(16, 24, 3, 2)
        self.s8 = ConvBNAct(24, 32, 3, 2)
        self.s16 = ConvBNAct(32, 48, 3, 2)
        self.s32 = ConvBNAct(48, 64, 3, 2)
        self.lat32 = nn.Conv2d(64, 32, 1)
        self.lat16 = nn.Conv2d(48, 32, 1)
        self.up16 = nn.ConvTranspose2d(32, 32, 2, 2)
        self.lat8 = nn.Conv2d(32, 32, 1)
        self.fuse = ConvBNAct(64, 32)
        self.head = nn.Conv2d(32, anchors * (5 + classes), 1)

    def forward(self, x):
        c8 = self.s8(self.s4(self.s2(x)))
        c16 = self.s16(c8)
        c32 = self.s32(c16)
        p16 = self.lat16(c16) + F.interpolate(self.lat32(c32), scale_factor=2.0, mode="nearest")
        p8a = self.up16(p16)
        p8b = F.interpolate(p16, size=c8.shape[-2:], mode="bilinear", align_corners=False)
        p8 = self.fuse(torch.cat([self.lat8(c8) + p8a, p8b], 1))
        y = self.head(p8)
        n, _, h, w = y.shape
        y = y.view(n, self.a, 5 + self.c, h, w).permute(0, 1, 3, 4, 2)
        # objectness and class scores through a sigmoid, boxes raw (as YOLOv5 heads do).
        box, rest = y[..., :4], torch.sigmoid(y[..., 4:])
        return torch.cat([box, rest], -1)


class LayerNorm(nn.Module):
    """LayerNorm written out, as exporters before opset 17 emit it."""

    def __init__(self, d, eps=1e-5):
        super().__init__()
        self.g = nn.Parameter(torch.ones(d) + 0.1 * torch.randn(d))
        self.b = nn.Parameter(0.1 * torch.randn(d))
        self.eps = eps

    def forward(self, x):
        mu = x.mean(-1, keepdim=True)
        d = x - mu
        var = d.pow(2).mean(-1, keepdim=True)
        return d / torch.sqrt(var + self.eps) * self.g + self.b


def gelu(x):
    return 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))


class Block(nn.Module):
    def __init__(self, d=64, heads=4, ff=128):
        super().__init__()
        self.h = heads
        self.ln1 = LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.ln2 = LayerNorm(d)
        self.fc1 = nn.Linear(d, ff)
        self.fc2 = nn.Linear(ff, d)

    def forward(self, x):
        n, t, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).chunk(3, dim=-1)
        q = q.reshape(n, t, self.h, d // self.h).transpose(1, 2)
        k = k.reshape(n, t, self.h, d // self.h).transpose(1, 2)
        v = v.reshape(n, t, self.h, d // self.h).transpose(1, 2)
        a = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(d // self.h), dim=-1)
        y = (a @ v).transpose(1, 2).reshape(n, t, d)
        x = x + self.proj(y)
        return x + self.fc2(gelu(self.fc1(self.ln2(x))))


class Recognizer(nn.Module):
    """A CRNN-style text-line recogniser: convolutions and AveragePool over a line of
    symbolic width, Squeeze of the height, a bidirectional LSTM, per-step class scores."""

    def __init__(self, classes=37):
        super().__init__()
        self.cnn = nn.Sequential(
            nn.Conv2d(1, 16, 3, 1, 1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2, 2),
            nn.Conv2d(16, 32, 3, 1, 1), nn.BatchNorm2d(32), nn.ReLU(), nn.AvgPool2d((2, 2), (2, 2)),
            nn.Conv2d(32, 48, 3, 1, 1), nn.ReLU(), nn.AvgPool2d((8, 1), (8, 1)))
        self.rnn = nn.LSTM(48, 32, bidirectional=True)
        self.fc = nn.Linear(64, classes)

    def forward(self, x):
        f = self.cnn(x).squeeze(2)  # [N, C, W/4]
        f = f.permute(2, 0, 1)  # [T, N, C]
        y, _ = self.rnn(f)
        return self.fc(y)  # [T, N, classes]


def export(model, args, path, names, dyn, opset, **kw):
    model.eval()
    torch.onnx.export(model, args, path, opset_version=opset, input_names=names[0], output_names=names[1],
                      dynamic_axes=dyn, do_constant_folding=True, **kw)
    import onnx
    m = onnx.load(path)
    onnx.checker.check_model(m)
    print(f"{path}: {os.path.getsize(path)} bytes, {len(m.graph.node)} nodes, opset {opset}")


def save_images(d):
    from PIL import Image
    os.makedirs(d, exist_ok=True)
    rng = np.random.RandomState(7)
    sizes = [(160, 120, "png"), (120, 160, "jpg"), (128, 128, "png"), (150, 100, "jpg"), (97, 131, "png"), (250, 188, "jpg")]
    lines = []
    for i, (w, h, ext) in enumerate(sizes):
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        img = np.zeros((h, w, 3), np.float32)
        img[..., 0] = 255 * (xx / w)
        img[..., 1] = 255 * (yy / h)
        img[..., 2] = 128 + 100 * np.sin((xx + yy) / (7 + 3 * i))
        cx, cy, r = rng.uniform(0.3, 0.7) * w, rng.uniform(0.3, 0.7) * h, rng.uniform(0.15, 0.3) * min(w, h)
        mask = (xx - cx) ** 2 + (yy - cy) ** 2 < r * r
        img[mask] = rng.uniform(0, 255, 3)
        img += rng.normal(0, 8, img.shape)
        name = f"img{i}_{w}x{h}.{ext}"
        im = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))
        if ext == "jpg":
            im.save(os.path.join(d, name), quality=85)
        else:
            im.save(os.path.join(d, name))
        lines.append(f"{name} {i % 3}")
    with open(os.path.join(d, "labels.txt"), "w") as f:
        f.write("# FILE LABEL (synthetic images of different sizes)\n" + "\n".join(lines) + "\n")


def main():
    os.makedirs(OUT, exist_ok=True)
    clf = Classifier()
    randomise_bn(clf)
    det = Detector()
    randomise_bn(det)
    blk = Block()
    rec = Recognizer()
    randomise_bn(rec)
    for opset in (11, 13):
        export(clf, torch.randn(1, 3, 224, 224), os.path.join(OUT, f"classifier_opset{opset}.onnx"), (["input"], ["logits"]),
               {"input": {0: "batch", 2: "height", 3: "width"}, "logits": {0: "batch"}}, opset)
        export(det, torch.randn(1, 3, 128, 160), os.path.join(OUT, f"detector_opset{opset}.onnx"), (["images"], ["pred"]),
               {"images": {0: "batch", 2: "height", 3: "width"}, "pred": {0: "batch", 2: "gh", 3: "gw"}}, opset)
        export(blk, torch.randn(1, 10, 64), os.path.join(OUT, f"transformer_opset{opset}.onnx"), (["x"], ["y"]),
               {"x": {0: "batch", 1: "seq"}, "y": {0: "batch", 1: "seq"}}, opset)
        export(rec, torch.randn(1, 1, 32, 100), os.path.join(OUT, f"recognizer_opset{opset}.onnx"), (["line"], ["scores"]),
               {"line": {0: "batch", 3: "width"}, "scores": {0: "steps", 1: "batch"}}, opset)
    # The classifier as exported with TrainingMode.PRESERVE: BatchNormalization nodes
    # are kept (not folded into the convolutions), as some exporters leave them.
    export(clf, torch.randn(1, 3, 224, 224), os.path.join(OUT, "classifier_bn_opset13.onnx"), (["input"], ["logits"]),
           {"input": {0: "batch", 2: "height", 3: "width"}, "logits": {0: "batch"}}, 13, training=torch.onnx.TrainingMode.PRESERVE)

    save_images(os.path.join(OUT, "images"))
    # torchvision's preprocessing of those images, the reference of the Go preprocessing
    # (bench/dataset/torchvision_test.go).
    from PIL import Image
    import torchvision.transforms as T
    tf = T.Compose([T.Resize(64), T.CenterCrop(56), T.ToTensor(), T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
    d = os.path.join(OUT, "images")
    ref = {f: tf(Image.open(os.path.join(d, f)).convert("RGB")).numpy()[None] for f in sorted(os.listdir(d)) if f.endswith((".png", ".jpg"))}
    np.savez_compressed(os.path.join(OUT, "images_torchvision_r64c56.npz"), **ref)
    rng = np.random.RandomState(3)
    mean = np.array([0.485, 0.456, 0.406], np.float32).reshape(1, 3, 1, 1)
    std = np.array([0.229, 0.224, 0.225], np.float32).reshape(1, 3, 1, 1)

    def img_like(n, h, w):
        # smooth ImageNet-normalised tensors (what a preprocessing pipeline would give)
        base = rng.uniform(0, 1, (n, 3, h // 8, w // 8)).astype(np.float32)
        up = np.kron(base, np.ones((1, 1, 8, 8), np.float32))[:, :, :h, :w]
        return ((up + rng.normal(0, 0.05, up.shape).astype(np.float32) - mean) / std).astype(np.float32)

    d = os.path.join(OUT, "npy")
    os.makedirs(d, exist_ok=True)
    np.save(os.path.join(d, "batch_of_4.npy"), img_like(4, 48, 48))
    np.save(os.path.join(d, "one_sample.npy"), img_like(1, 48, 48)[0])  # no batch axis
    np.save(os.path.join(d, "as_float64.npy"), img_like(1, 48, 48).astype(np.float64))
    d = os.path.join(OUT, "npy_det")
    os.makedirs(d, exist_ok=True)
    for i in range(3):
        np.save(os.path.join(d, f"det{i}.npy"), (img_like(1, 64, 96) * std + mean).astype(np.float32))
    d = os.path.join(OUT, "npz_seq")
    os.makedirs(d, exist_ok=True)
    for i, t in enumerate([6, 6, 11, 6, 11]):
        np.savez(os.path.join(d, f"seq{i}.npz"), x=rng.normal(0, 1, (1, t, 64)).astype(np.float32))
    np.savez_compressed(os.path.join(d, "seq_compressed.npz"), x=rng.normal(0, 1, (2, 11, 64)).astype(np.float32))
    # Text lines of three widths for the recogniser (one input: .npy).
    d = os.path.join(OUT, "npy_lines")
    os.makedirs(d, exist_ok=True)
    for i, w in enumerate([64, 100, 64, 160]):
        line = np.kron(rng.uniform(0, 1, (1, 1, 4, w // 4)), np.ones((1, 1, 8, 4))).astype(np.float32)
        np.save(os.path.join(d, f"line{i}_w{w}.npy"), line)


if __name__ == "__main__":
    main()
