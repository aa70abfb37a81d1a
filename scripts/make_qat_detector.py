#!/usr/bin/python3
"""A detector for the label-free check of `warboy qat --loss outputs` (docs/quantizer.md,
"QAT without labels"): a model whose outputs are not class scores (boxes and scores on a
grid, two outputs, a bilinear-upsampling FPN neck), trained images without labels, and
the detection metric (mAP at IoU 0.5) scored on held-out images with their boxes.

  OUT/train/      --train 64x64 grey PNG canvases, each with 1-3 Fashion-MNIST items
                  (training images, scaled to 16-32 px, placed at random, overlapping
                  boxes under IoU 0.3); no labels.txt: the images are all warboy sees
  OUT/test/       --test canvases from the test images, the same way (PNG, unlabelled)
  OUT/test.npy    the same test canvases as [N, 1, 64, 64] float32 (pixel/255)
  OUT/test.json   their boxes and classes
  OUT/float.onnx  the detector trained --epochs on OUT/train's canvases with their boxes
                  (AdamW one-cycle 3e-3, batch 64), exported by torch.onnx at opset 13
                  with input [batch,1,height,width] and outputs boxes [batch,4,gh,gw]
                  (cell offsets before a sigmoid, log sizes) and scores [batch,11,gh,gw]
                  (objectness and 10 class logits), one cell per 8x8 pixels

--score MODEL.onnx runs MODEL on OUT/test.npy with `warboy run` (--warboy BIN; int8
for a quantized model, float32 otherwise) and prints one JSON line: the mAP at IoU 0.5
over the 10 classes (VOC all-point AP), with the detections' precision and recall at
score 0.5. Debian's python3-torch 1.13, python3-pil:

  /usr/bin/python3 scripts/make_qat_detector.py OUT
  /usr/bin/python3 scripts/make_qat_detector.py OUT --score OUT/float.onnx --warboy ./warboy

--torch-qat MODEL.onnx (after the above, same --train and --seed) is the labelled reference:
PyTorch 1.13's eager QAT of MODEL's weights (BatchNorm folded as in the file, conv+ReLU fused,
the onednn default QAT qconfig) for one epoch on OUT/train's canvases WITH their boxes and
classes (the training loss above; --torch-opt sgd: momentum 0.9, lr 0.01, or adamw: lr 1e-3;
cosine, batch 64), converted to int8 and scored on the test canvases; one JSON line per seed
of --seeds:

  /usr/bin/python3 scripts/make_qat_detector.py OUT --torch-qat OUT/float.onnx --seeds 0,1,2 --torch-opt adamw
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fmnist  # noqa: E402

SIZE, STRIDE, CLASSES = 64, 8, 10


def iou(a, b):
    """IoU of boxes [x0, y0, x1, y1]."""
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def make_canvases(x, y, n, seed):
    """n uint8 canvases [n, 64, 64] and their objects [(class, x0, y0, x1, y1)]."""
    rng = np.random.default_rng(seed)
    src = torch.from_numpy(x)  # [N, 1, 28, 28] in [0, 1]
    canv = np.zeros((n, SIZE, SIZE), np.float32)
    objs = []
    for i in range(n):
        boxes = []
        for _ in range(rng.integers(1, 4)):
            for _try in range(20):
                s = int(rng.integers(16, 33))
                x0, y0 = int(rng.integers(0, SIZE - s + 1)), int(rng.integers(0, SIZE - s + 1))
                j = int(rng.integers(0, len(x)))
                item = F.interpolate(src[j:j + 1], size=(s, s), mode="bilinear", align_corners=False)[0, 0].numpy()
                ys, xs = np.nonzero(item > 0.1)
                if len(xs) == 0:
                    continue
                box = [x0 + xs.min(), y0 + ys.min(), x0 + xs.max() + 1, y0 + ys.max() + 1]
                if any(iou(box, b[1:]) > 0.3 for b in boxes):
                    continue
                region = canv[i, y0:y0 + s, x0:x0 + s]
                np.maximum(region, item, out=region)
                boxes.append([int(y[j])] + [float(v) for v in box])
                break
        objs.append(boxes)
    return np.clip(np.round(canv * 255), 0, 255).astype(np.uint8), objs


class Detector(nn.Module):
    """Stride-8 single-scale detector with an FPN neck (bilinear upsampling)."""

    def __init__(self):
        super().__init__()

        def cbr(i, o, s):
            return nn.Sequential(nn.Conv2d(i, o, 3, s, 1, bias=False), nn.BatchNorm2d(o), nn.ReLU())
        self.c2 = nn.Sequential(cbr(1, 16, 2), cbr(16, 32, 2), cbr(32, 32, 1))
        self.c3 = nn.Sequential(cbr(32, 64, 2), cbr(64, 64, 1))
        self.c4 = nn.Sequential(cbr(64, 96, 2), cbr(96, 96, 1))
        self.lat3, self.lat4 = nn.Conv2d(64, 64, 1), nn.Conv2d(96, 64, 1)
        self.up = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)
        self.fuse = cbr(64, 64, 1)
        self.boxes, self.scores = nn.Conv2d(64, 4, 1), nn.Conv2d(64, 1 + CLASSES, 1)

    def forward(self, x):
        c3 = self.c3(self.c2(x))
        c4 = self.c4(c3)
        p = self.fuse(self.lat3(c3) + self.up(self.lat4(c4)))
        return self.boxes(p), self.scores(p)


def targets(objs, gh, gw):
    """Per image: objectness [gh, gw], box targets [4, gh, gw], class [gh, gw] (-1 off)."""
    n = len(objs)
    obj = torch.zeros(n, gh, gw)
    box = torch.zeros(n, 4, gh, gw)
    cls = torch.full((n, gh, gw), -1, dtype=torch.long)
    for i, boxes in enumerate(objs):
        # the larger object keeps a cell two centres share
        for c, x0, y0, x1, y1 in sorted(boxes, key=lambda b: (b[3] - b[1]) * (b[4] - b[2])):
            cx, cy, w, h = (x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0
            gx, gy = min(int(cx // STRIDE), gw - 1), min(int(cy // STRIDE), gh - 1)
            obj[i, gy, gx] = 1
            box[i, :, gy, gx] = torch.tensor([cx / STRIDE - gx, cy / STRIDE - gy, np.log(w / 16), np.log(h / 16)])
            cls[i, gy, gx] = c
    return obj, box, cls


def loss_fn(pb, ps, obj, box, cls):
    lo = F.binary_cross_entropy_with_logits(ps[:, 0], obj)
    pos = obj > 0
    pbp = pb.permute(0, 2, 3, 1)[pos]
    bt = box.permute(0, 2, 3, 1)[pos]
    lb = F.l1_loss(torch.sigmoid(pbp[:, :2]), bt[:, :2]) + F.l1_loss(pbp[:, 2:], bt[:, 2:])
    lc = F.cross_entropy(ps.permute(0, 2, 3, 1)[pos][:, 1:], cls[pos])
    return lo + lb + lc


def train_epoch(net, x, perm, obj, box, cls, opt, sched):
    """One epoch over x in the order perm, batch 64, on loss_fn; the mean loss. A
    RuntimeError (a NaN reaching a QAT observer) is raised again naming the step."""
    tot = 0.0
    for s in range(0, len(x), 64):
        idx = perm[s:s + 64]
        try:
            pb, ps = net(x[idx])
            loss = loss_fn(pb, ps, obj[idx], box[idx], cls[idx])
            opt.zero_grad()
            loss.backward()
        except RuntimeError as e:
            raise RuntimeError(f"step {s // 64}: {e}") from e
        opt.step()
        sched.step()
        tot += float(loss) * len(idx)
    return tot / len(x)


def decode(boxes, scores, thr=0.05):
    """Detections per image: (class, score, x0, y0, x1, y1), best class of each cell."""
    n, _, gh, gw = boxes.shape
    obj = 1 / (1 + np.exp(-scores[:, 0]))
    cl = scores[:, 1:] - scores[:, 1:].max(axis=1, keepdims=True)
    p = np.exp(cl) / np.exp(cl).sum(axis=1, keepdims=True)
    out = []
    for i in range(n):
        dets = []
        for gy in range(gh):
            for gx in range(gw):
                c = int(p[i, :, gy, gx].argmax())
                s = float(obj[i, gy, gx] * p[i, c, gy, gx])
                if s < thr:
                    continue
                tx, ty, tw, th = boxes[i, :, gy, gx]
                cx, cy = (gx + 1 / (1 + np.exp(-tx))) * STRIDE, (gy + 1 / (1 + np.exp(-ty))) * STRIDE
                w, h = 16 * np.exp(tw), 16 * np.exp(th)
                dets.append((c, s, cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2))
        out.append(dets)
    return out


def mean_ap(dets, objs, thr=0.5):
    """VOC all-point AP at IoU thr, averaged over the classes; precision and recall of
    the detections scoring at least 0.5."""
    aps = []
    tp5 = fp5 = 0
    npos_all = sum(len(o) for o in objs)
    for c in range(CLASSES):
        cand = [(d[1], i, d[2:]) for i, ds in enumerate(dets) for d in ds if d[0] == c]
        cand.sort(key=lambda t: -t[0])
        gts = {i: [o[1:] for o in obj if o[0] == c] for i, obj in enumerate(objs)}
        used = {i: [False] * len(g) for i, g in gts.items()}
        npos = sum(len(g) for g in gts.values())
        tp, fp = [], []
        for s, i, b in cand:
            best, bj = 0.0, -1
            for j, g in enumerate(gts[i]):
                v = iou(b, g)
                if v > best:
                    best, bj = v, j
            hit = best >= thr and not used[i][bj]
            if hit:
                used[i][bj] = True
            tp.append(1 if hit else 0)
            fp.append(0 if hit else 1)
            if s >= 0.5:
                tp5 += hit
                fp5 += not hit
        if npos == 0:
            continue
        tp, fp = np.cumsum(tp), np.cumsum(fp)
        rec = tp / npos if len(tp) else np.zeros(0)
        prec = tp / np.maximum(tp + fp, 1e-9) if len(tp) else np.zeros(0)
        mrec = np.concatenate([[0], rec, [1]])
        mpre = np.concatenate([[0], prec, [0]])
        for k in range(len(mpre) - 2, -1, -1):
            mpre[k] = max(mpre[k], mpre[k + 1])
        idx = np.where(mrec[1:] != mrec[:-1])[0]
        aps.append(float(np.sum((mrec[idx + 1] - mrec[idx]) * mpre[idx + 1])))
    return float(np.mean(aps)), tp5 / max(tp5 + fp5, 1), tp5 / max(npos_all, 1)


def write_pngs(d, canv):
    os.makedirs(d, exist_ok=True)
    for i, c in enumerate(canv):
        Image.fromarray(c, mode="L").save(os.path.join(d, f"{i:05d}.png"))


def build(a):
    torch.manual_seed(a.seed)
    xtr, ytr = fmnist.load_split(a.fmnist, "train")
    xte, yte = fmnist.load_split(a.fmnist, "t10k")
    ctr, otr = make_canvases(xtr, ytr, a.train, a.seed)
    cte, ote = make_canvases(xte, yte, a.test, a.seed + 1)
    write_pngs(os.path.join(a.out, "train"), ctr)
    write_pngs(os.path.join(a.out, "test"), cte)
    np.save(os.path.join(a.out, "test.npy"), (cte.astype(np.float32) / 255)[:, None])
    with open(os.path.join(a.out, "test.json"), "w") as f:
        json.dump(ote, f)
    net = Detector()
    x = torch.from_numpy(ctr.astype(np.float32) / 255)[:, None]
    g = SIZE // STRIDE
    obj, box, cls = targets(otr, g, g)
    steps = a.epochs * ((len(x) + 63) // 64)
    opt = torch.optim.AdamW(net.parameters(), lr=3e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps)
    gen = torch.Generator().manual_seed(a.seed)
    for ep in range(a.epochs):
        net.train()
        perm = torch.randperm(len(x), generator=gen)
        t0 = time.time()
        mean = train_epoch(net, x, perm, obj, box, cls, opt, sched)
        print(f"epoch {ep + 1}/{a.epochs}: loss {mean:.4f} ({time.time() - t0:.0f} s)", file=sys.stderr)
    net.eval()
    with torch.no_grad():
        pb, ps = net(torch.from_numpy(cte.astype(np.float32) / 255)[:, None])
    m, p, r = mean_ap(decode(pb.numpy(), ps.numpy()), ote)
    print(json.dumps({"model": "float (PyTorch)", "map50": round(m, 4), "precision": round(p, 4), "recall": round(r, 4)}))
    torch.onnx.export(net, torch.zeros(1, 1, SIZE, SIZE), os.path.join(a.out, "float.onnx"), opset_version=13,
                      input_names=["images"], output_names=["boxes", "scores"],
                      dynamic_axes={"images": {0: "batch", 2: "height", 3: "width"},
                                    "boxes": {0: "batch", 2: "gh", 3: "gw"}, "scores": {0: "batch", 2: "gh", 3: "gw"}})


def score(a):
    with open(os.path.join(a.out, "test.json")) as f:
        objs = json.load(f)
    with tempfile.TemporaryDirectory() as d:
        res = os.path.join(d, "out.npz")
        subprocess.run([a.warboy, "run", a.score, "--input", os.path.join(a.out, "test.npy"), "--output", res], check=True,
                       stdout=subprocess.DEVNULL)
        z = np.load(res)
        m, p, r = mean_ap(decode(z["boxes"], z["scores"]), objs)
    print(json.dumps({"model": a.score, "map50": round(m, 4), "precision": round(p, 4), "recall": round(r, 4)}))


class FoldedDetector(nn.Module):
    """Detector as the ONNX file computes it (BatchNorm folded into the convolutions), for
    PyTorch's eager QAT of a file's weights: conv+ReLU pairs fused, the neck's sum a
    FloatFunctional, quant/dequant stubs at the input and the two outputs."""

    def __init__(self):
        super().__init__()
        import torch.ao.nn.quantized as nnq
        import torch.ao.quantization as tq

        def cr(i, o, s):
            return nn.Sequential(nn.Conv2d(i, o, 3, s, 1), nn.ReLU())
        self.body = nn.Sequential(cr(1, 16, 2), cr(16, 32, 2), cr(32, 32, 1), cr(32, 64, 2), cr(64, 64, 1))
        self.c4 = nn.Sequential(cr(64, 96, 2), cr(96, 96, 1))
        self.lat3, self.lat4 = nn.Conv2d(64, 64, 1), nn.Conv2d(96, 64, 1)
        self.up = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)
        self.add = nnq.FloatFunctional()
        self.fuse = cr(64, 64, 1)
        self.boxes, self.scores = nn.Conv2d(64, 4, 1), nn.Conv2d(64, 1 + CLASSES, 1)
        self.quant, self.dq_b, self.dq_s = tq.QuantStub(), tq.DeQuantStub(), tq.DeQuantStub()

    def convs(self):
        """The convolutions in the ONNX file's node order."""
        out = [seq[0] for seq in list(self.body) + list(self.c4)]
        return out + [self.lat3, self.lat4, self.fuse[0], self.boxes, self.scores]

    def fuse_modules(self):
        import torch.ao.quantization as tq
        for seq in list(self.body) + list(self.c4) + [self.fuse]:
            tq.fuse_modules_qat(seq, ["0", "1"], inplace=True)

    def forward(self, x):
        c3 = self.body(self.quant(x))
        c4 = self.c4(c3)
        p = self.fuse(self.add.add(self.lat3(c3), self.up(self.lat4(c4))))
        return self.dq_b(self.boxes(p)), self.dq_s(self.scores(p))


def torch_qat(a):
    """PyTorch 1.13's eager QAT of a detector file's weights WITH the boxes and classes:
    the labelled reference for the label-free `warboy qat --loss outputs`."""
    import onnx
    import torch.ao.quantization as tq
    from onnx import numpy_helper
    m = onnx.load(a.torch_qat)
    inits = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
    xtr, ytr = fmnist.load_split(a.fmnist, "train")
    ctr, otr = make_canvases(xtr, ytr, a.train, a.seed)
    png = np.array(Image.open(os.path.join(a.out, "train", "00000.png")))
    assert (png == ctr[0]).all(), "the regenerated canvases are not OUT/train's (other --train or --seed?)"
    with open(os.path.join(a.out, "test.json")) as f:
        ote = json.load(f)
    xte = torch.from_numpy(np.load(os.path.join(a.out, "test.npy")))
    x = torch.from_numpy(ctr.astype(np.float32) / 255)[:, None]
    g = SIZE // STRIDE
    obj, box, cls = targets(otr, g, g)
    for seed in [int(v) for v in a.seeds.split(",")]:
        torch.manual_seed(seed)
        net = FoldedDetector()
        convs = [n for n in m.graph.node if n.op_type == "Conv"]
        with torch.no_grad():
            for mod, node in zip(net.convs(), convs):
                mod.weight.copy_(torch.from_numpy(inits[node.input[1]]))
                mod.bias.copy_(torch.from_numpy(inits[node.input[2]]))
        net.eval()
        with torch.no_grad():
            fl = mean_ap(decode(*[t.numpy() for t in net(xte)]), ote)[0]
        torch.backends.quantized.engine = "onednn"
        net.train()
        net.fuse_modules()
        net.qconfig = tq.get_default_qat_qconfig("onednn")
        tq.prepare_qat(net, inplace=True)
        steps = (len(x) + 63) // 64
        if a.torch_opt == "adamw":
            opt = torch.optim.AdamW(net.parameters(), lr=1e-3, weight_decay=0.01)
        else:
            opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
        gen = torch.Generator().manual_seed(seed)
        perm = torch.randperm(len(x), generator=gen)
        net.train()
        t0 = time.time()
        try:
            train_epoch(net, x, perm, obj, box, cls, opt, sched)
        except RuntimeError as e:  # a NaN reaching an observer
            print(json.dumps({"model": a.torch_qat, "tool": "pytorch eager QAT (onednn, labels)", "optimizer": a.torch_opt, "seed": seed,
                              "float_map50": round(fl, 4), "diverged": str(e)}))
            continue
        secs = time.time() - t0
        q = tq.convert(net.eval(), inplace=False)
        with torch.no_grad():
            mq, p, r = mean_ap(decode(*[t.numpy() for t in q(xte)]), ote)
        print(json.dumps({"model": a.torch_qat, "tool": "pytorch eager QAT (onednn, labels)", "optimizer": a.torch_opt, "seed": seed, "float_map50": round(fl, 4),
                          "qat_int8_map50": round(mq, 4), "precision": round(p, 4), "recall": round(r, 4), "epoch_seconds": round(secs, 1)}))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--fmnist", default=fmnist.DEFAULT_DIR)
    ap.add_argument("--train", type=int, default=20000)
    ap.add_argument("--test", type=int, default=2000)
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--score", help="score this model on OUT/test.npy")
    ap.add_argument("--warboy", default="warboy")
    ap.add_argument("--torch-qat", help="PyTorch eager QAT, with the labels, of this detector file's weights")
    ap.add_argument("--seeds", default="0", help="seeds of --torch-qat")
    ap.add_argument("--torch-opt", default="sgd", choices=["sgd", "adamw"],
                    help="--torch-qat's optimizer: sgd (momentum 0.9, lr 0.01, PyTorch's QAT recipe) or adamw (lr 1e-3); cosine decay, one epoch, batch 64")
    a = ap.parse_args()
    if a.score:
        score(a)
    elif a.torch_qat:
        torch_qat(a)
    else:
        os.makedirs(a.out, exist_ok=True)
        build(a)


if __name__ == "__main__":
    main()
