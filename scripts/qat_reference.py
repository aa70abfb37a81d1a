#!/usr/bin/python3
"""PyTorch eager-mode QAT reference for `warboy qat` (docs/quantizer.md, section QAT).

Rebuilds a float ONNX classifier (Conv, BatchNormalization, Relu, MaxPool, Gemm,
Flatten, GlobalAveragePool, Add) as a torch.nn.Module with the same weights, fuses
Conv+BN(+ReLU) and Linear+ReLU, prepares it for eager-mode QAT with the default QAT
qconfig of the onednn engine (fbgemm with --engine fbgemm), fine-tunes it with the
same schedule as `warboy qat` (SGD momentum 0.9, cosine learning rate, no augmentation,
data shuffled with --seed), converts it to int8 and evaluates on the test set.

Run with Debian's python (python3-torch 1.13, python3-onnx):

  /usr/bin/python3 scripts/qat_reference.py ../shared/models/fmnist_cnn.onnx \
      --data ../shared/data/fashion-mnist --epochs 1 --threads 2

--export-onnx OUT writes the fine-tuned fake-quant model (QuantizeLinear/
DequantizeLinear around float weights, as torch.onnx exports eager QAT) for
`warboy inspect/eval`; --json prints the figures as JSON.
"""
import argparse
import copy
import json
import math
import sys
import time

import numpy as np
import onnx
import torch
import torch.ao.quantization as tq
import torch.nn as nn
from onnx import helper, numpy_helper

import fmnist


def load_split(d, split):
    x, y = fmnist.load_split(d, split)
    return torch.from_numpy(x), torch.from_numpy(y)


class OnnxNet(nn.Module):
    """An ONNX graph of the supported operators as modules, run in graph order."""

    def __init__(self, model):
        super().__init__()
        g = model.graph
        inits = {t.name: numpy_helper.to_array(t).copy() for t in g.initializer}
        self.input = g.input[0].name
        self.output = g.output[0].name
        self.mods = nn.ModuleDict()
        self.plan = []
        for i, n in enumerate(g.node):
            a = {x.name: helper.get_attribute_value(x) for x in n.attribute}
            key = f"n{i}"
            op = n.op_type
            data_in = [x for x in n.input if x and x not in inits]
            if op == "Conv":
                w = inits[n.input[1]]
                b = inits[n.input[2]] if len(n.input) > 2 and n.input[2] else None
                groups = a.get("group", 1)
                pads = a.get("pads", [0, 0, 0, 0])
                assert pads[0] == pads[2] and pads[1] == pads[3], "asymmetric pads"
                m = nn.Conv2d(w.shape[1] * groups, w.shape[0], tuple(w.shape[2:]), stride=tuple(a.get("strides", [1, 1])),
                              padding=(pads[0], pads[1]), dilation=tuple(a.get("dilations", [1, 1])), groups=groups,
                              bias=b is not None)
                m.weight.data = torch.from_numpy(w)
                if b is not None:
                    m.bias.data = torch.from_numpy(b)
            elif op == "BatchNormalization":
                sc, bi, mean, var = (inits[x] for x in n.input[1:5])
                m = nn.BatchNorm2d(sc.shape[0], eps=a.get("epsilon", 1e-5))
                m.weight.data, m.bias.data = torch.from_numpy(sc), torch.from_numpy(bi)
                m.running_mean.data, m.running_var.data = torch.from_numpy(mean), torch.from_numpy(var)
            elif op == "Relu":
                m = nn.ReLU()
            elif op == "MaxPool":
                pads = a.get("pads", [0, 0, 0, 0])
                m = nn.MaxPool2d(tuple(a["kernel_shape"]), stride=tuple(a.get("strides", a["kernel_shape"])),
                                 padding=(pads[0], pads[1]))
            elif op == "Gemm":
                w = inits[n.input[1]]
                if not a.get("transB", 0):
                    w = w.T.copy()
                b = inits[n.input[2]] if len(n.input) > 2 else None
                m = nn.Linear(w.shape[1], w.shape[0], bias=b is not None)
                m.weight.data = torch.from_numpy(w * a.get("alpha", 1.0))
                if b is not None:
                    m.bias.data = torch.from_numpy(b * a.get("beta", 1.0))
            elif op == "Flatten":
                m = nn.Flatten(a.get("axis", 1))
            elif op == "GlobalAveragePool":
                m = nn.AdaptiveAvgPool2d(1)
            elif op == "Add":
                m = nn.quantized.FloatFunctional()
            else:
                raise SystemExit(f"node {n.name!r}: operator {op} is not supported by this script")
            self.mods[key] = m
            self.plan.append((key, op, data_in, n.output[0]))
        self.quant = tq.QuantStub()
        self.dequant = tq.DeQuantStub()

    def forward(self, x):
        env = {self.input: self.quant(x)}
        for key, op, ins, out in self.plan:
            m = self.mods[key]
            env[out] = m.add(env[ins[0]], env[ins[1]]) if op == "Add" else m(env[ins[0]])
        return self.dequant(env[self.output])

    def set_ranges(self, ranges):
        """Starts the activation observers at the given ranges (ONNX output names)."""
        outs = {self.input: self.quant}
        for key, op, ins, out in self.plan:
            outs[out] = self.mods[key]
        # A fused module (ConvBnReLU2d, LinearReLU) observes the output of its last node.
        for grp in self.fusions():
            last = grp[-1].split(".", 1)[1]
            out = next(o for k, _, _, o in self.plan if k == last)
            outs[out] = self.mods[grp[0].split(".", 1)[1]]
        for name, (lo, hi) in ranges.items():
            m = outs.get(name)
            ap = getattr(m, "activation_post_process", None)
            if ap is None or not hasattr(ap, "activation_post_process"):
                continue  # shares its input's range (pooling, flatten) or not observed
            ap.activation_post_process.min_val.fill_(lo)
            ap.activation_post_process.max_val.fill_(hi)

    def fusions(self):
        cons = {}
        for key, op, ins, out in self.plan:
            for x in ins:
                cons.setdefault(x, []).append((key, op))
        groups = []
        for key, op, ins, out in self.plan:
            if op not in ("Conv", "Gemm"):
                continue
            grp, cur = [key], out
            want = ["BatchNormalization", "Relu"] if op == "Conv" else ["Relu"]
            for w in want:
                c = cons.get(cur, [])
                if len(c) == 1 and c[0][1] == w:
                    grp.append(c[0][0])
                    cur = next(o for k, _, _, o in self.plan if k == c[0][0])
            if len(grp) > 1:
                groups.append(["mods." + k for k in grp])
        return groups


def evaluate(model, x, y, batch=500):
    model.eval()
    correct = 0
    with torch.no_grad():
        for s in range(0, len(x), batch):
            correct += (model(x[s:s + batch]).argmax(1) == y[s:s + batch]).sum().item()
    return correct / len(x)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--data", default="../shared/data/fashion-mnist")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--lr", type=float, default=0.01)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--train-n", type=int, default=0, help="use the first N training images (0 = all)")
    ap.add_argument("--freeze-bn-after", type=int, default=-1, help="freeze BatchNorm statistics after K epochs (-1 never)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--engine", default="onednn")
    ap.add_argument("--export-onnx", default="")
    ap.add_argument("--weight-grid", choices=["torch", "tflite"], default="torch",
                    help="weight fake quantization: torch = the qconfig's (per-channel max|w|/127.5 of a moving "
                         "average of min/max, -128..127); tflite = what warboy stores (max|w|/127 of the current "
                         "weights, -127..127)")
    ap.add_argument("--order", default="", help="JSON file whose \"order\" lists the training indices of the "
                    "epoch (replaces the seeded shuffle; step-by-step comparison with warboy qat)")
    ap.add_argument("--init-ranges", default="", help="JSON file whose \"ranges\" maps ONNX tensor names to "
                    "[lo, hi]: initial activation ranges of the observers (default: the first batch's min/max)")
    ap.add_argument("--time-only", action="store_true", help="skip the test-set evaluations (fp32 before, fake-quant "
                    "and int8 after): the training loop and its seconds per epoch only (side-by-side timing)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    torch.backends.quantized.engine = args.engine
    xtr, ytr = load_split(args.data, "train")
    if args.train_n:
        xtr, ytr = xtr[:args.train_n], ytr[:args.train_n]
    xte, yte = load_split(args.data, "t10k")

    net = OnnxNet(onnx.load(args.model))
    fp32 = None if args.time_only else evaluate(net, xte, yte)
    net.train()
    tq.fuse_modules_qat(net, net.fusions(), inplace=True)
    net.qconfig = tq.get_default_qat_qconfig(args.engine)
    if args.weight_grid == "tflite":
        # The plain FakeQuantize takes the observer's scale, max|w|/127 on -127..127; the fused
        # module of the default qconfig computes its own: max(-min/128, max/127) on -128..127.
        net.qconfig = tq.QConfig(activation=net.qconfig.activation, weight=tq.FakeQuantize.with_args(
            observer=tq.MovingAveragePerChannelMinMaxObserver, averaging_constant=1.0, quant_min=-127, quant_max=127,
            dtype=torch.qint8, qscheme=torch.per_channel_symmetric))
    tq.prepare_qat(net, inplace=True)
    if args.init_ranges:
        with open(args.init_ranges) as f:
            net.set_ranges(json.load(f)["ranges"])
    order, other_losses = None, None
    if args.order:
        with open(args.order) as f:
            o = json.load(f)
        order, other_losses = torch.tensor(o["order"]), o.get("step_losses")
        if len(order) != len(xtr):
            raise SystemExit(f"--order lists {len(order)} indices for {len(xtr)} training images")

    opt = torch.optim.SGD(net.parameters(), lr=args.lr, momentum=0.9)
    steps = args.epochs * math.ceil(len(xtr) / args.batch)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * s / steps)))
    lossf = nn.CrossEntropyLoss()
    g = torch.Generator().manual_seed(args.seed)
    epochs = []
    for ep in range(args.epochs):
        if 0 <= args.freeze_bn_after <= ep:
            net.apply(torch.nn.intrinsic.qat.freeze_bn_stats)
        net.train()
        if 0 <= args.freeze_bn_after <= ep:
            net.apply(torch.nn.intrinsic.qat.freeze_bn_stats)
        perm = torch.randperm(len(xtr), generator=g) if order is None else order
        t0, c0 = time.perf_counter(), time.process_time()
        tot, correct, seen, step_losses = 0.0, 0, 0, []
        for s in range(0, len(xtr), args.batch):
            idx = perm[s:s + args.batch]
            xb, yb = xtr[idx], ytr[idx]
            out = net(xb)
            loss = lossf(out, yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            tot += loss.item() * len(idx)
            step_losses.append(loss.item())
            correct += (out.argmax(1) == yb).sum().item()
            seen += len(idx)
        sec, cpu = time.perf_counter() - t0, time.process_time() - c0
        # cpu_seconds: the process's CPU time (every thread) in the epoch's training loop, as
        # warboy qat's epoch_log[].cpu_seconds (scripts/qat_cpu_time.sh compares the two).
        epochs.append({"epoch": ep + 1, "loss": tot / seen, "train_accuracy": correct / seen, "seconds": sec,
                       "cpu_seconds": cpu, "step_losses": step_losses})
        if not args.json:
            print(f"epoch {ep + 1}: loss {tot / seen:.4f}  train acc {100 * correct / seen:.2f} %  {sec:.1f} s", file=sys.stderr)
    if args.time_only:
        res = {"model": args.model, "engine": args.engine, "epochs": args.epochs, "batch": args.batch,
               "train_images": len(xtr), "threads": args.threads, "seed": args.seed, "epoch_log": epochs}
        print(json.dumps(res) if args.json else "seconds per epoch: " + ", ".join(f"{e['seconds']:.1f}" for e in epochs))
        return
    net.eval()
    # The observers of PyTorch's FakeQuantize modules stay on in eval mode: every
    # forward pass, test images included, moves the activation ranges (averaging
    # constant 0.01 per batch). Freeze them before anything is evaluated so that the
    # int8 model depends on the training data only. The figure the script reported
    # before (ranges moved by the 20 batches of 500 test images of the fake-quant
    # evaluation, then converted) is kept as int8_accuracy_observed_test.
    leaky = copy.deepcopy(net)
    net.apply(tq.disable_observer)
    fake = evaluate(net, xte, yte)
    if args.export_onnx:
        torch.onnx.export(net, xte[:1], args.export_onnx, opset_version=13, input_names=["input"],
                          output_names=["logits"], dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}})
    q = tq.convert(net.eval(), inplace=False)
    int8 = evaluate(q, xte, yte)
    evaluate(leaky, xte, yte)
    int8_leaky = evaluate(tq.convert(leaky.eval(), inplace=False), xte, yte)
    res = {"model": args.model, "engine": args.engine, "epochs": args.epochs, "lr": args.lr, "batch": args.batch,
           "train_images": len(xtr), "threads": args.threads, "seed": args.seed, "fp32_accuracy": fp32,
           "fake_quant_accuracy": fake, "int8_accuracy": int8, "int8_accuracy_observed_test": int8_leaky,
           "epoch_log": epochs}
    if other_losses:
        # Step-by-step comparison with the run that wrote --order (its per-step losses).
        mine = [l for e in epochs for l in e["step_losses"]][:len(other_losses)]
        rel = [abs(a - b) / max(abs(b), 1e-12) for a, b in zip(other_losses, mine)]
        lead = next((i for i, r in enumerate(rel) if r > 1e-5), len(rel))
        res["compare"] = {"steps": len(rel), "leading_steps_within_1e-5": lead,
                          "max_rel_diff_first_10": max(rel[:10]), "mean_loss_other": sum(other_losses[:len(mine)]) / len(mine),
                          "mean_loss": sum(mine) / len(mine)}
    if args.json:
        print(json.dumps(res))
    else:
        print(f"{args.model}: fp32 {100 * fp32:.2f} %  QAT fake-quant {100 * fake:.2f} %  QAT int8 ({args.engine}) {100 * int8:.2f} %"
              f"  (ranges moved by the test images, as before: {100 * int8_leaky:.2f} %)")
        print("seconds per epoch: " + ", ".join(f"{e['seconds']:.1f}" for e in epochs))


if __name__ == "__main__":
    main()
