#!/usr/bin/python3
"""Write the small exporter-made test models of the thirteenth session's --unseen8
triage (docs/models.md, "Unseen families (thirteenth session)") and their data:

    /usr/bin/python3 scripts/make_unseen8_testdata.py [OUTDIR]     (default testdata/exported)

- resize10_scale_dynhw.onnx: F.interpolate(x, scale_factor=0.64, mode="bilinear")
  exported at opset 10 with symbolic height and width (Resize-10, constant
  scales), as preproc_u8_op10 writes its resize. npz_resize10/s{0,1}.npz hold
  inputs of 150x100 and 120x80, npz_resize10_ort/ ONNX Runtime's outputs: 96x64
  (100 * float32(0.64) is 64 in float32 and 63.99999857 in float64) and 76x51.
  Test: TestResize10ScaleSizeAsORT (cmd/warboy).
- t5_bucket_op13.onnx: one T5 encoder layer (relative position buckets: Range,
  Abs, Log of |i - j| / 8, which is -Inf on the diagonal, Cast to int64, Min,
  Where, an Embedding of the buckets; RMSNorm; gated GELU) with a symbolic
  sequence length; npz_t5bucket/s{0,1}.npz two inputs of 12 tokens. Test:
  TestQuantizeT5RelativeBuckets (cmd/warboy).
- script_lists_op13.onnx: a torch.jit.script greedy decoder whose Loop carries two
  lists (SequenceEmpty -> SequenceInsert in the body -> ConcatFromSequence): the
  tokens stacked (torch.stack, new_axis=1) and the hidden states concatenated
  (torch.cat on axis 1, new_axis=0), and a data-dependent break; npz_lists/s{0,1}.npz
  two inputs, npz_lists_ort/ ONNX Runtime's outputs. Test: TestScriptListLoop
  (cmd/warboy).
Committed so that the tests need neither Python nor node.
"""
import math
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import exportlib  # noqa: E402

nn = torch.nn


class Resize10(nn.Module):
    def forward(self, x):
        return nn.functional.interpolate(x, scale_factor=0.64, mode="bilinear", align_corners=False)


def t5_bucket_layer():
    torch.manual_seed(1)
    d, h = 16, 2

    def bucket(rel, num_buckets=16, max_distance=32):
        num_buckets //= 2
        out = (rel > 0).to(torch.long) * num_buckets
        rel = torch.abs(rel)
        max_exact = num_buckets // 2
        is_small = rel < max_exact
        large = max_exact + (torch.log(rel.float() / max_exact) / math.log(max_distance / max_exact) *
                             (num_buckets - max_exact)).to(torch.long)
        large = torch.min(large, torch.full_like(large, num_buckets - 1))
        return out + torch.where(is_small, rel, large)

    class Layer(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(50, d)
            self.q, self.k, self.v, self.o = (nn.Linear(d, d, bias=False) for _ in range(4))
            self.rel = nn.Embedding(16, h)
            self.wi0, self.wi1, self.wo = nn.Linear(d, 32, bias=False), nn.Linear(d, 32, bias=False), \
                nn.Linear(32, d, bias=False)

        def rms(self, x):
            return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6)

        def forward(self, input_ids):
            x = self.emb(input_ids)
            y = self.rms(x)
            sh = (x.size(0), -1, h, d // h)
            q, k, v = (t(y).view(sh).transpose(1, 2) for t in (self.q, self.k, self.v))
            n = x.size(1)
            rel = torch.arange(n, dtype=torch.long)[None, :] - torch.arange(n, dtype=torch.long)[:, None]
            pb = self.rel(bucket(rel)).permute([2, 0, 1]).unsqueeze(0)
            a = torch.softmax(torch.matmul(q, k.transpose(3, 2)) + pb, -1)
            x = x + self.o(torch.matmul(a, v).transpose(1, 2).reshape(x.size(0), -1, d))
            y = self.rms(x)
            return x + self.wo(nn.functional.gelu(self.wi0(y), approximate="tanh") * self.wi1(y))

    return Layer().eval()


def script_lists():
    from typing import List
    torch.manual_seed(2)

    class Dec(nn.Module):
        def __init__(self):
            super().__init__()
            self.init = nn.Linear(6, 8)
            self.emb = nn.Embedding(5, 8)
            self.wx, self.wh = nn.Linear(8, 8), nn.Linear(8, 8, bias=False)
            self.out = nn.Linear(8, 5)

        def forward(self, feats):
            h = torch.tanh(self.init(feats))
            tok = torch.zeros([1], dtype=torch.long)
            toks: List[torch.Tensor] = []
            hs: List[torch.Tensor] = []
            for _ in range(7):
                h = torch.tanh(self.wx(self.emb(tok)) + self.wh(h))
                tok = self.out(h).argmax(-1)
                toks.append(tok)
                hs.append(h)
                if bool(tok[0] == 0):
                    break
            return torch.stack(toks, 1), torch.cat(hs, 1)

    return torch.jit.script(Dec().eval())


def main(out):
    rng = np.random.default_rng(19)
    xs = [rng.random((1, 1, 150, 100)).astype(np.float32), rng.random((1, 1, 120, 80)).astype(np.float32)]
    path = exportlib.torch_export(Resize10().eval(), [torch.from_numpy(xs[0])],
                                  os.path.join(out, "resize10_scale_dynhw.onnx"), 10, ["input"], ["output"],
                                  {"input": {2: "height", 3: "width"}, "output": {2: "oh", 3: "ow"}})
    for d in ("npz_resize10", "npz_resize10_ort"):
        os.makedirs(os.path.join(out, d), exist_ok=True)
    for i, x in enumerate(xs):
        np.savez(os.path.join(out, "npz_resize10", f"s{i}.npz"), input=x)
        np.savez(os.path.join(out, "npz_resize10_ort", f"s{i}.npz"), **exportlib.ort_run(path, {"input": x}))
    print(f"{path}: {os.path.getsize(path)} bytes")

    ids = [rng.integers(0, 50, (1, 12)).astype(np.int64) for _ in range(2)]
    path = exportlib.torch_export(t5_bucket_layer(), [torch.from_numpy(ids[0])],
                                  os.path.join(out, "t5_bucket_op13.onnx"), 13, ["input_ids"], ["hidden"],
                                  {"input_ids": {0: "batch", 1: "seq"}, "hidden": {0: "batch", 1: "seq"}})
    os.makedirs(os.path.join(out, "npz_t5bucket"), exist_ok=True)
    for i, t in enumerate(ids):
        np.savez(os.path.join(out, "npz_t5bucket", f"s{i}.npz"), input_ids=t)
    print(f"{path}: {os.path.getsize(path)} bytes")

    fs = [rng.standard_normal((1, 6)).astype(np.float32) * 2 for _ in range(2)]
    path = exportlib.torch_export(script_lists(), [torch.from_numpy(fs[0])],
                                  os.path.join(out, "script_lists_op13.onnx"), 13, ["feats"], ["tokens", "states"], None)
    for d in ("npz_lists", "npz_lists_ort"):
        os.makedirs(os.path.join(out, d), exist_ok=True)
    for i, f in enumerate(fs):
        np.savez(os.path.join(out, "npz_lists", f"s{i}.npz"), feats=f)
        np.savez(os.path.join(out, "npz_lists_ort", f"s{i}.npz"), **exportlib.ort_run(path, {"feats": f}))
    print(f"{path}: {os.path.getsize(path)} bytes")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(exportlib.ROOT, "testdata", "exported"))
