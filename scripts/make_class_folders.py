#!/usr/bin/python3
"""Fashion-MNIST as folders of class folders (OUT/train/CLASS/*.png, OUT/val/CLASS/*),
the layout of torchvision's ImageFolder, for `warboy qat/eval/quantize --data` on class
folders (docs/quantizer.md, "QAT on data and models as users bring them").

  grey (default): every image as a 28x28 PNG, folders 0_t-shirt ... 9_ankle-boot (sorted
                  order = Fashion-MNIST's class order), --train and --val images
  --colour:       each image tinted a random colour, resized to 56-90 px with a random
                  aspect, PNG and JPEG alternately, folders named by class (bag, boot, ...:
                  sorted order is NOT Fashion-MNIST's, as with any real data set), and
                  OUT/mbv2.onnx: torchvision's MobileNetV2 (width 0.5) trained --epochs on
                  OUT/train with ImageFolder at 64x64 with ImageNet mean/std, exported at
                  opset 13 with symbolic height and width

Debian's python3-torch / python3-torchvision 1.13:

  FMNIST_DIR=../shared/data/fashion-mnist /usr/bin/python3 scripts/make_class_folders.py OUT
  FMNIST_DIR=... /usr/bin/python3 scripts/make_class_folders.py OUT --colour --train 3000 --val 1000
"""
import argparse
import gzip
import os

import numpy as np
from PIL import Image

GREY = ["0_t-shirt", "1_trouser", "2_pullover", "3_dress", "4_coat", "5_sandal", "6_shirt", "7_sneaker", "8_bag",
        "9_ankle-boot"]
COLOUR = ["tshirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "boot"]


def load(d, split):
    im = np.frombuffer(gzip.open(f"{d}/{split}-images-idx3-ubyte.gz").read()[16:], np.uint8).reshape(-1, 28, 28)
    lb = np.frombuffer(gzip.open(f"{d}/{split}-labels-idx1-ubyte.gz").read()[8:], np.uint8)
    return im, lb


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("outdir")
    ap.add_argument("--train", type=int, default=60000)
    ap.add_argument("--val", type=int, default=10000)
    ap.add_argument("--colour", action="store_true")
    ap.add_argument("--epochs", type=int, default=3)
    a = ap.parse_args()
    d = os.environ.get("FMNIST_DIR", "../shared/data/fashion-mnist")
    rng = np.random.default_rng(0)
    for split, n, sub in [("train", a.train, "train"), ("t10k", a.val, "val")]:
        im, lb = load(d, split)
        for i in range(n):
            names = COLOUR if a.colour else GREY
            folder = os.path.join(a.outdir, sub, names[lb[i]])
            os.makedirs(folder, exist_ok=True)
            if not a.colour:
                Image.fromarray(im[i]).save(os.path.join(folder, f"{i:05d}.png"))
                continue
            col = rng.integers(60, 255, 3)
            rgb = (im[i][..., None].astype(np.float32) / 255 * col).astype(np.uint8)
            sz = int(rng.integers(56, 90))
            img = Image.fromarray(rgb).resize((sz, int(sz * rng.uniform(0.8, 1.25))), Image.BILINEAR)
            img.save(os.path.join(folder, f"{i:05d}." + ("jpg" if i % 2 else "png")))
    if a.colour:
        train_mobilenet(a.outdir, a.epochs)


def train_mobilenet(out, epochs):
    import torch
    import torchvision
    torch.manual_seed(0)
    torch.set_num_threads(2)
    tf = torchvision.transforms
    t = tf.Compose([tf.Resize((64, 64)), tf.ToTensor(), tf.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
    ds = torchvision.datasets.ImageFolder(os.path.join(out, "train"), t)
    print(ds.class_to_idx)
    m = torchvision.models.mobilenet_v2(width_mult=0.5, num_classes=10)
    opt = torch.optim.AdamW(m.parameters(), 2e-3)
    for ep in range(epochs):
        m.train()
        for x, y in torch.utils.data.DataLoader(ds, batch_size=64, shuffle=True):
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(m(x), y)
            loss.backward()
            opt.step()
        print("epoch", ep + 1, float(loss))
    m.eval()
    vs = torchvision.datasets.ImageFolder(os.path.join(out, "val"), t)
    with torch.no_grad():
        c = sum(int((m(x).argmax(1) == y).sum()) for x, y in torch.utils.data.DataLoader(vs, batch_size=200))
    print("torch val accuracy", c / len(vs))
    torch.onnx.export(m, torch.randn(1, 3, 64, 64), os.path.join(out, "mbv2.onnx"), opset_version=13,
                      input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "batch", 2: "height", 3: "width"}, "logits": {0: "batch"}})


if __name__ == "__main__":
    main()
