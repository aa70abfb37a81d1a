#!/usr/bin/python3
"""The --unseen13 export set (eighteenth session): model families and exporter
spellings none of the earlier sets (--unseen .. --unseen12, --detection, --audio,
--darknet, --extra) has, for triage of the whole workflow (scripts/triage_unseen13.sh:
inspect, run against ONNX Runtime, quantize, int8 against ONNX Runtime, sim,
bench cpu --ort).

    /usr/bin/python3 scripts/export_benchmodels.py --unseen13 [--models a,b] [--out DIR]
    /usr/bin/python3 scripts/unseen13_models.py export [--models a,b] [--out DIR]      (the same)
    /usr/bin/python3 scripts/unseen13_models.py ortcheck MODEL.onnx INPUT.npz OURS.npz [MIN_SQNR] [--threads T]

Random weights (normalisation statistics and affines randomised), nothing
downloaded. Every model NAME is written as DIR/NAME.onnx (default DIR
out/bench-models-unseen13) with four samples DIR/data/NAME/s{0..3}.npz (one array
per input name), DIR/data/NAME.in.npz (sample 0) and, for models with symbolic
sizes, DIR/data/NAME.alt.npz (an input at other sizes).

The models (MODELS below; a suffix _opN is the export opset):
- mamba_scan_op13: an onnx.helper graph of a bidirectional Mamba (Vim-style) block
  whose selective state-space recurrence is written as the ONNX Scan operator
  (scan_input_axes 1, a reverse scan by scan_input_directions/scan_output_directions,
  the state [N, D, S] from ConstantOfShape of the runtime batch): in_proj, causal
  depthwise Conv1d (Pad + grouped Conv), SiLU, x_proj Split into dt/B/C, Softplus,
  discretisation Exp(dt * A) inside the body, RMSNorm, gate, out_proj; symbolic N, L.
- rwkv_loop_script_op13: an RWKV-4 language model scripted by torch.jit.script: token
  shift (F.pad of the time axis), the WKV recurrence with the max-subtraction trick
  in a Loop over the symbolic time (three loop-carried states, a list of outputs
  stacked), squared-ReLU channel mixing; int64 token ids; symbolic N, T.
- convlstm_script_op13: a ConvLSTM next-frame predictor (precipitation nowcasting)
  scripted: a Loop over the symbolic number of frames whose body holds the
  convolutions (encoder conv, gate conv on Concat([x, h]), chunk into four gates),
  a ConvTranspose decoder after the loop; symbolic N, T.
- pwcnet_corr_dynhw_op16: PWC-Net-style optical flow on two images: a feature
  pyramid, the local cost volume (25 displacements by Pad and shifted Slices with
  runtime ends, ReduceMean over channels, Concat), LeakyReLU 0.1, ConvTranspose flow
  upsampling, warping by GridSample with a grid built from Shape/Range; symbolic
  N, H, W.
- msdeform_attn_op16: Deformable-DETR's multi-scale deformable attention as its
  pure-PyTorch path writes it: per-level value Split, sampling offsets and Softmax
  attention weights from Linear layers, reference points, F.grid_sample of each
  level on [N*M, D, H, W] with [N*M, Lq, P, 2] grids, stack, weighted sum; FFN and
  LayerNorm, a class head.
- rtdetr_post_op16: an RT-DETR-style detector with its post-processor in the graph:
  encoder query selection (TopK of class scores, GatherElements of memory and
  anchors), a decoder layer, then boxes cxcywh->xyxy scaled by an int64
  orig_target_sizes input, TopK over queries x classes, labels by integer Div/Mod,
  and a score threshold by boolean indexing (outputs of data-dependent length).
- tf2onnx_cropresize_op13: an onnx.helper graph as tf2onnx writes a TF detector's
  second stage: NHWC image, Resize on the NHWC tensor (scales [1, 2, 2, 1],
  tf_half_pixel_for_nn nearest; asymmetric bilinear by sizes from Shape),
  tf.image.crop_and_resize as a Loop over the boxes whose body Gathers the int32
  box index and box and runs Resize tf_crop_and_resize with an roi and an
  extrapolation value, CumSum with exclusive=1 and reverse=1; symbolic N and K.
- paddle_ocr_rec_dynw_op11: an onnx.helper graph as paddle2onnx writes a PP-OCR
  CRNN recogniser: "p2o." names, conv-BN with hard_swish as x * Clip(x + 3, 0, 6) / 6,
  depthwise convs with strides (2, 1), MaxPool 2x2, im2seq by Squeeze + Transpose,
  a bidirectional LSTM whose zero initial states come from Shape -> Slice ->
  Concat -> ConstantOfShape, Reshape by a Shape-derived target, Softmax over
  classes, CTC greedy decoding in the graph (ArgMax, a shifted comparison, And);
  symbolic N and W.
- preproc_aa_op18: an onnx.helper graph of torchvision-like preprocessing at opset
  18: a decoded uint8 HWC image of any size, Resize-18 with axes [0, 1],
  keep_aspect_ratio_policy "not_smaller" and antialias=1, CenterCropPad to 56x56,
  Transpose, /255, mean/std, Unsqueeze, then a CNN; symbolic H, W.
- kan_spline_op13: a Kolmogorov-Arnold network (efficient-kan): B-spline bases by
  comparisons against a knot grid (GreaterOrEqual, Less, And, Cast) and the
  Cox-de Boor recursion by Slices of the grid, SiLU base branch; symbolic N.
- tabnet_sparsemax_op13: a TabNet encoder: categorical Embeddings of an int64
  input, GLU feature transformers (Linear, BatchNorm1d, Split, Sigmoid), sparsemax
  attentive masks (sort by TopK, CumSum, Range, comparison, count, Gather of tau),
  prior scales, three decision steps; symbolic N.
- skl2onnx_cdist_scan_op9: an onnx.helper graph as skl2onnx writes a
  nearest-prototype classifier at opset 9: scaler and PCA as Sub/Mul/MatMul,
  pairwise distances by a Scan over the prototypes (skl2onnx's onnx_cdist: the
  body Subs, ReduceSumSquare, an Identity state), Transpose, Sqrt, TopK-1 of the
  negated distances (k attribute), Gather of one-hot labels, ReduceSum votes,
  ArgMax; symbolic N.
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import exportlib  # noqa: E402  (beside this script)
from unseen11_models import graph_builder, vary  # noqa: E402  (the same helpers)
from unseen12_models import randomise_norms  # noqa: E402

MODELS = ["mamba_scan_op13", "rwkv_loop_script_op13", "convlstm_script_op13", "pwcnet_corr_dynhw_op16",
          "msdeform_attn_op16", "rtdetr_post_op16", "tf2onnx_cropresize_op13", "paddle_ocr_rec_dynw_op11",
          "preproc_aa_op18", "kan_spline_op13", "tabnet_sparsemax_op13", "skl2onnx_cdist_scan_op9"]


def _torch():
    import torch
    return torch


# ------------------------------------------------------------------ recurrences

def rwkv(vocab=50, c=32):
    torch = _torch()
    nn = torch.nn
    F = nn.functional
    from typing import List

    class TimeMix(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.decay = nn.Parameter(torch.rand(c) * 2 - 3)
            self.first = nn.Parameter(torch.rand(c) * 0.5)
            self.mk = nn.Parameter(torch.rand(c))
            self.mv = nn.Parameter(torch.rand(c))
            self.mr = nn.Parameter(torch.rand(c))
            self.key = nn.Linear(c, c, bias=False)
            self.value = nn.Linear(c, c, bias=False)
            self.recept = nn.Linear(c, c, bias=False)
            self.out = nn.Linear(c, c, bias=False)

        def forward(self, x):
            xx = F.pad(x, [0, 0, 1, -1])  # token shift: x[t-1], zeros at t = 0
            k = self.key(x * self.mk + xx * (1 - self.mk))
            v = self.value(x * self.mv + xx * (1 - self.mv))
            r = torch.sigmoid(self.recept(x * self.mr + xx * (1 - self.mr)))
            w = -torch.exp(self.decay)
            u = self.first
            aa = torch.zeros_like(k[:, 0])
            bb = torch.zeros_like(k[:, 0])
            pp = torch.zeros_like(k[:, 0]) - 1e30
            outs: List[torch.Tensor] = []
            for t in range(x.size(1)):
                kk = k[:, t]
                vv = v[:, t]
                ww = u + kk
                p = torch.maximum(pp, ww)
                e1 = torch.exp(pp - p)
                e2 = torch.exp(ww - p)
                outs.append((e1 * aa + e2 * vv) / (e1 * bb + e2))
                ww = pp + w
                p = torch.maximum(ww, kk)
                e1 = torch.exp(ww - p)
                e2 = torch.exp(kk - p)
                aa = e1 * aa + e2 * vv
                bb = e1 * bb + e2
                pp = p
            return self.out(r * torch.stack(outs, 1))

    class ChannelMix(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.mk = nn.Parameter(torch.rand(c))
            self.mr = nn.Parameter(torch.rand(c))
            self.key = nn.Linear(c, 2 * c, bias=False)
            self.value = nn.Linear(2 * c, c, bias=False)
            self.recept = nn.Linear(c, c, bias=False)

        def forward(self, x):
            xx = F.pad(x, [0, 0, 1, -1])
            k = torch.square(torch.relu(self.key(x * self.mk + xx * (1 - self.mk))))
            r = torch.sigmoid(self.recept(x * self.mr + xx * (1 - self.mr)))
            return r * self.value(k)

    class Block(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.ln1 = nn.LayerNorm(c)
            self.ln2 = nn.LayerNorm(c)
            self.att = TimeMix(c)
            self.ffn = ChannelMix(c)

        def forward(self, x):
            x = x + self.att(self.ln1(x))
            return x + self.ffn(self.ln2(x))

    class RWKV(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(vocab, c)
            self.ln0 = nn.LayerNorm(c)
            self.b1 = Block(c)
            self.b2 = Block(c)
            self.lnf = nn.LayerNorm(c)
            self.head = nn.Linear(c, vocab, bias=False)

        def forward(self, tokens):
            x = self.ln0(self.emb(tokens))
            x = self.b2(self.b1(x))
            return self.head(self.lnf(x))
    return torch.jit.script(randomise_norms(RWKV()).eval())


def convlstm():
    torch = _torch()
    nn = torch.nn

    class ConvLSTM(nn.Module):
        def __init__(self, hid=16):
            super().__init__()
            self.hid = hid
            self.enc = nn.Conv2d(1, 16, 3, 2, 1)
            self.gates = nn.Conv2d(16 + hid, 4 * hid, 3, 1, 1)
            self.dec1 = nn.ConvTranspose2d(hid, 16, 4, 2, 1)
            self.dec2 = nn.Conv2d(16, 1, 3, 1, 1)

        def forward(self, frames):
            n = frames.size(0)
            h = torch.zeros(n, self.hid, frames.size(3) // 2, frames.size(4) // 2)
            c = torch.zeros(n, self.hid, frames.size(3) // 2, frames.size(4) // 2)
            for t in range(frames.size(1)):
                f = torch.relu(self.enc(frames[:, t]))
                g = self.gates(torch.cat([f, h], 1))
                i, fg, o, cc = g.chunk(4, 1)
                c = torch.sigmoid(fg) * c + torch.sigmoid(i) * torch.tanh(cc)
                h = torch.sigmoid(o) * torch.tanh(c)
            return torch.sigmoid(self.dec2(torch.relu(self.dec1(h))))
    return torch.jit.script(ConvLSTM().eval())


def mamba_scan_op13():
    """A bidirectional Mamba block with its recurrence as Scan (onnx.helper)."""
    from onnx import helper, TensorProto
    inits, nodes, const, node, rng = graph_builder(131)
    dm, di, ds, dtr = 16, 32, 8, 4

    def w(name, shape, scale):
        return const(name, (rng.standard_normal(shape) * scale).astype(np.float32))

    const("ax_m1", np.array([-1], np.int64))
    const("ax_1", np.array([1], np.int64))
    const("ax_2", np.array([2], np.int64))
    # RMSNorm
    node("Mul", ["x", "x"], ["x_sq"])
    node("ReduceMean", ["x_sq"], ["x_ms"], axes=[-1], keepdims=1)
    const("eps", np.array(1e-5, np.float32))
    node("Add", ["x_ms", "eps"], ["x_mse"])
    node("Sqrt", ["x_mse"], ["x_rms"])
    node("Div", ["x", "x_rms"], ["x_n0"])
    const("norm_w", rng.uniform(0.5, 1.5, dm).astype(np.float32))
    node("Mul", ["x_n0", "norm_w"], ["xn"])
    node("MatMul", ["xn", w("in_proj", (dm, 2 * di), 0.3)], ["xz"])
    const("split_xz", np.array([di, di], np.int64))
    node("Split", ["xz", "split_xz"], ["xi", "z"], axis=-1)
    # the state's initial value: zeros [N, di, ds] from the runtime batch
    node("Shape", ["x"], ["x_shape"])
    const("s0", np.array([0], np.int64))
    node("Slice", ["x_shape", "s0", "ax_1", "s0"], ["n_dim"])
    const("state_tail", np.array([di, ds], np.int64))
    node("Concat", ["n_dim", "state_tail"], ["state_shape"], axis=0)
    node("ConstantOfShape", ["state_shape"], ["h0"],
         value=helper.make_tensor("v", TensorProto.FLOAT, [1], [0.0]))
    ys = []
    for d, rev in (("f", 0), ("b", 1)):
        # causal depthwise conv over time on [N, di, L] (reversed direction: anti-causal)
        node("Transpose", ["xi"], [d + "_xt"], perm=[0, 2, 1])
        pads = [0, 0, 3, 0, 0, 0] if not rev else [0, 0, 0, 0, 0, 3]
        const(d + "_pads", np.array(pads, np.int64))
        node("Pad", [d + "_xt", d + "_pads"], [d + "_xp"], mode="constant")
        node("Conv", [d + "_xp", w(d + "_conv_w", (di, 1, 4), 0.4), w(d + "_conv_b", (di,), 0.1)], [d + "_xc"],
             group=di, kernel_shape=[4])
        node("Transpose", [d + "_xc"], [d + "_xc2"], perm=[0, 2, 1])
        node("Sigmoid", [d + "_xc2"], [d + "_xsg"])
        node("Mul", [d + "_xc2", d + "_xsg"], [d + "_u"])
        node("MatMul", [d + "_u", w(d + "_x_proj", (di, dtr + 2 * ds), 0.3)], [d + "_dbc"])
        const(d + "_split", np.array([dtr, ds, ds], np.int64))
        node("Split", [d + "_dbc", d + "_split"], [d + "_dtl", d + "_B", d + "_C"], axis=-1)
        node("MatMul", [d + "_dtl", w(d + "_dt_w", (dtr, di), 0.5)], [d + "_dt0"])
        node("Add", [d + "_dt0", const(d + "_dt_b", rng.uniform(-4, -2, di).astype(np.float32))], [d + "_dt1"])
        node("Softplus", [d + "_dt1"], [d + "_dt"])
        a = -np.exp(np.log(np.tile(np.arange(1, ds + 1, dtype=np.float32), (di, 1))))
        const(d + "_A", a.astype(np.float32))
        # the body: h = exp(dt * A) * h + (dt * u) B;  y = h . C
        bn = []
        bi = []

        def bnode(op, ins, outs, **kw):
            bn.append(helper.make_node(op, ins, outs, name=d + "_body_" + outs[0], **kw))
            return outs[0]
        bnode("Unsqueeze", ["dt_t", "b_ax2"], ["dt_e"])
        bnode("Mul", ["dt_e", d + "_A"], ["dtA"])
        bnode("Exp", ["dtA"], ["dA"])
        bnode("Mul", ["dA", "h_in"], ["h_decay"])
        bnode("Mul", ["dt_t", "u_t"], ["dtu"])
        bnode("Unsqueeze", ["dtu", "b_ax2"], ["dtu_e"])
        bnode("Unsqueeze", ["B_t", "b_ax1"], ["B_e"])
        bnode("Mul", ["dtu_e", "B_e"], ["dBu"])
        bnode("Add", ["h_decay", "dBu"], ["h_out"])
        bnode("Unsqueeze", ["C_t", "b_ax1"], ["C_e"])
        bnode("Mul", ["h_out", "C_e"], ["hC"])
        bnode("ReduceSum", ["hC", "b_ax2"], ["y_t"], keepdims=0)
        bi = [helper.make_tensor_value_info("h_in", TensorProto.FLOAT, ["N", di, ds]),
              helper.make_tensor_value_info("u_t", TensorProto.FLOAT, ["N", di]),
              helper.make_tensor_value_info("dt_t", TensorProto.FLOAT, ["N", di]),
              helper.make_tensor_value_info("B_t", TensorProto.FLOAT, ["N", ds]),
              helper.make_tensor_value_info("C_t", TensorProto.FLOAT, ["N", ds])]
        bo = [helper.make_tensor_value_info("h_out", TensorProto.FLOAT, ["N", di, ds]),
              helper.make_tensor_value_info("y_t", TensorProto.FLOAT, ["N", di])]
        body_inits = [helper.make_tensor("b_ax1", TensorProto.INT64, [1], [1]),
                      helper.make_tensor("b_ax2", TensorProto.INT64, [1], [2])]
        body = helper.make_graph(bn, d + "_ssm_body", bi, bo, body_inits)
        node("Scan", ["h0", d + "_u", d + "_dt", d + "_B", d + "_C"], [d + "_hT", d + "_y0"], body=body,
             num_scan_inputs=4, scan_input_axes=[1, 1, 1, 1], scan_output_axes=[1],
             scan_input_directions=[rev] * 4, scan_output_directions=[rev])
        node("Mul", [d + "_u", const(d + "_D", rng.uniform(0.5, 1.5, di).astype(np.float32))], [d + "_uD"])
        node("Add", [d + "_y0", d + "_uD"], [d + "_y"])
        ys.append(d + "_y")
    node("Add", ys, ["y_sum"])
    node("Sigmoid", ["z"], ["z_sg"])
    node("Mul", ["z", "z_sg"], ["z_act"])
    node("Mul", ["y_sum", "z_act"], ["y_gated"])
    node("MatMul", ["y_gated", w("out_proj", (di, dm), 0.2)], ["y_out"])
    node("Add", ["x", "y_out"], ["y"])
    node("ReduceMean", ["y"], ["pooled"], axes=[1], keepdims=0)
    node("Gemm", ["pooled", w("cls_w", (5, dm), 0.3), w("cls_b", (5,), 0.1)], ["logits"], transB=1)
    node("ReduceMean", ["f_hT"], ["state_mean"], axes=[2], keepdims=0)
    g = helper.make_graph(nodes, "mamba_bidir_scan",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", "L", dm])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", "L", dm]),
                           helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 5]),
                           helper.make_tensor_value_info("state_mean", TensorProto.FLOAT, ["N", di])], inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], producer_name="onnx.helper")


# ------------------------------------------------------------------ flow and deformable attention

def pwcnet():
    torch = _torch()
    nn = torch.nn
    F = nn.functional

    def conv(i, o, s=1):
        return nn.Sequential(nn.Conv2d(i, o, 3, s, 1), nn.LeakyReLU(0.1))

    def corr(f1, f2, d: int = 2):
        h, w = f1.shape[2], f1.shape[3]
        f2p = F.pad(f2, [d, d, d, d])
        out = []
        for dy in range(2 * d + 1):
            for dx in range(2 * d + 1):
                out.append((f1 * f2p[:, :, dy:dy + h, dx:dx + w]).mean(1, keepdim=True))
        return F.leaky_relu(torch.cat(out, 1), 0.1)

    def warp(x, flow):
        n, h, w = x.shape[0], x.shape[2], x.shape[3]
        ys = torch.arange(h, dtype=torch.float32).view(1, h, 1).expand(n, h, w)
        xs = torch.arange(w, dtype=torch.float32).view(1, 1, w).expand(n, h, w)
        gx = 2.0 * (xs + flow[:, 0]) / (w - 1) - 1.0
        gy = 2.0 * (ys + flow[:, 1]) / (h - 1) - 1.0
        return F.grid_sample(x, torch.stack([gx, gy], 3), mode="bilinear", padding_mode="zeros",
                             align_corners=True)

    class Estimator(nn.Module):
        def __init__(self, cin):
            super().__init__()
            self.net = nn.Sequential(conv(cin, 32), conv(32, 24), conv(24, 16))
            self.flow = nn.Conv2d(16, 2, 3, 1, 1)

        def forward(self, x):
            f = self.net(x)
            return f, self.flow(f)

    class PWC(nn.Module):
        def __init__(self):
            super().__init__()
            self.l1 = nn.Sequential(conv(3, 16, 2), conv(16, 16))
            self.l2 = nn.Sequential(conv(16, 24, 2), conv(24, 24))
            self.l3 = nn.Sequential(conv(24, 32, 2), conv(32, 32))
            self.est3 = Estimator(25)
            self.up3 = nn.ConvTranspose2d(2, 2, 4, 2, 1)
            self.upf3 = nn.ConvTranspose2d(16, 2, 4, 2, 1)
            self.est2 = Estimator(25 + 24 + 2 + 2)
            self.refine = nn.Sequential(conv(16 + 2, 16), nn.Conv2d(16, 2, 3, 1, 1))

        def forward(self, im1, im2):
            a1, b1 = self.l1(im1), self.l1(im2)
            a2, b2 = self.l2(a1), self.l2(b1)
            a3, b3 = self.l3(a2), self.l3(b2)
            f3, flow3 = self.est3(corr(a3, b3))
            up = self.up3(flow3)
            upf = self.upf3(f3)
            c2 = corr(a2, warp(b2, up * 2.0))
            f2, flow2 = self.est2(torch.cat([c2, a2, up, upf], 1))
            flow2 = flow2 + self.refine(torch.cat([f2, flow2], 1))
            return F.interpolate(flow2 * 4.0, size=(im1.shape[2], im1.shape[3]), mode="bilinear",
                                 align_corners=False)
    return PWC()


def msdeform():
    torch = _torch()
    nn = torch.nn
    F = nn.functional
    shapes = [(16, 16), (8, 8)]

    def core(value, sampling_locations, attention_weights):
        n, _, m, d = value.shape
        _, lq, m, nl, p, _ = sampling_locations.shape
        value_list = value.split([h * w for h, w in shapes], dim=1)
        grids = 2 * sampling_locations - 1
        vals = []
        for lid, (h, w) in enumerate(shapes):
            v = value_list[lid].flatten(2).transpose(1, 2).reshape(n * m, d, h, w)
            g = grids[:, :, :, lid].transpose(1, 2).flatten(0, 1)
            vals.append(F.grid_sample(v, g, mode="bilinear", padding_mode="zeros", align_corners=False))
        aw = attention_weights.transpose(1, 2).reshape(n * m, 1, lq, nl * p)
        out = (torch.stack(vals, dim=-2).flatten(-2) * aw).sum(-1).view(n, m * d, lq)
        return out.transpose(1, 2).contiguous()

    class MSDeformAttn(nn.Module):
        def __init__(self, c=32, m=4, nl=2, p=4):
            super().__init__()
            self.c, self.m, self.nl, self.p = c, m, nl, p
            self.offsets = nn.Linear(c, m * nl * p * 2)
            self.weights = nn.Linear(c, m * nl * p)
            self.value = nn.Linear(c, c)
            self.out = nn.Linear(c, c)
            with torch.no_grad():
                self.offsets.weight.mul_(0.1)

        def forward(self, q, ref, value):
            n, lq, _ = q.shape
            v = self.value(value).view(n, value.shape[1], self.m, self.c // self.m)
            off = self.offsets(q).view(n, lq, self.m, self.nl, self.p, 2)
            aw = self.weights(q).view(n, lq, self.m, self.nl * self.p).softmax(-1)
            aw = aw.view(n, lq, self.m, self.nl, self.p)
            norm = torch.tensor([[w, h] for h, w in shapes], dtype=torch.float32)
            loc = ref[:, :, None, :, None, :] + off / norm[None, None, None, :, None, :]
            return self.out(core(v, loc, aw))

    class Net(nn.Module):
        def __init__(self, c=32):
            super().__init__()
            self.s1 = nn.Sequential(nn.Conv2d(3, c, 3, 2, 1), nn.BatchNorm2d(c), nn.ReLU(),
                                    nn.Conv2d(c, c, 3, 2, 1), nn.BatchNorm2d(c), nn.ReLU())
            self.s2 = nn.Sequential(nn.Conv2d(c, c, 3, 2, 1), nn.BatchNorm2d(c), nn.ReLU())
            self.level = nn.Parameter(torch.randn(2, c) * 0.1)
            self.attn = MSDeformAttn(c)
            self.ln1 = nn.LayerNorm(c)
            self.ffn = nn.Sequential(nn.Linear(c, 64), nn.ReLU(), nn.Linear(64, c))
            self.ln2 = nn.LayerNorm(c)
            self.cls = nn.Linear(c, 5)
            refs = []
            for h, w in shapes:
                ys, xs = torch.meshgrid((torch.arange(h) + 0.5) / h, (torch.arange(w) + 0.5) / w, indexing="ij")
                refs.append(torch.stack([xs.reshape(-1), ys.reshape(-1)], -1))
            ref = torch.cat(refs, 0)
            self.register_buffer("ref", ref[None, :, None, :].expand(1, ref.shape[0], 2, 2).contiguous())

        def forward(self, x):
            f1 = self.s1(x)
            f2 = self.s2(f1)
            src = torch.cat([f1.flatten(2).transpose(1, 2) + self.level[0], f2.flatten(2).transpose(1, 2) + self.level[1]],
                            1)
            y = self.ln1(src + self.attn(src, self.ref, src))
            y = self.ln2(y + self.ffn(y))
            return y, self.cls(y)
    return Net()


# ------------------------------------------------------------------ detection post-processing

def rtdetr():
    torch = _torch()
    nn = torch.nn

    class RTDETR(nn.Module):
        def __init__(self, c=32, nq=10, ncls=6):
            super().__init__()
            self.nq, self.ncls = nq, ncls
            self.backbone = nn.Sequential(nn.Conv2d(3, 16, 3, 2, 1), nn.BatchNorm2d(16), nn.SiLU(),
                                          nn.Conv2d(16, c, 3, 2, 1), nn.BatchNorm2d(c), nn.SiLU(),
                                          nn.Conv2d(c, c, 3, 2, 1), nn.BatchNorm2d(c), nn.SiLU())
            self.enc_out = nn.Sequential(nn.Linear(c, c), nn.LayerNorm(c))
            self.enc_score = nn.Linear(c, ncls)
            self.enc_bbox = nn.Sequential(nn.Linear(c, c), nn.ReLU(), nn.Linear(c, 4))
            self.dec = nn.TransformerDecoderLayer(c, 4, 64, dropout=0.0, batch_first=True)
            self.dec_score = nn.Linear(c, ncls)
            self.dec_bbox = nn.Sequential(nn.Linear(c, c), nn.ReLU(), nn.Linear(c, 4))
            ys, xs = torch.meshgrid((torch.arange(8) + 0.5) / 8, (torch.arange(8) + 0.5) / 8, indexing="ij")
            anchors = torch.stack([xs, ys, torch.full_like(xs, 0.1), torch.full_like(xs, 0.1)], -1).view(1, -1, 4)
            self.register_buffer("anchors", torch.log(anchors / (1 - anchors)))

        def forward(self, images, orig_target_sizes):
            memory = self.backbone(images).flatten(2).permute(0, 2, 1)
            out_mem = self.enc_out(memory)
            enc_logits = self.enc_score(out_mem)
            _, idx = torch.topk(enc_logits.max(-1).values, self.nq, dim=1)
            tgt = out_mem.gather(1, idx.unsqueeze(-1).repeat(1, 1, out_mem.shape[-1]))
            ref = (self.enc_bbox(out_mem) + self.anchors).gather(1, idx.unsqueeze(-1).repeat(1, 1, 4))
            h = self.dec(tgt, memory)
            boxes = torch.sigmoid(self.dec_bbox(h) + ref)
            logits = self.dec_score(h)
            # RT-DETR's post-processor
            cx, cy, w, hh = boxes.unbind(-1)
            xyxy = torch.stack([cx - 0.5 * w, cy - 0.5 * hh, cx + 0.5 * w, cy + 0.5 * hh], -1)
            xyxy = xyxy * orig_target_sizes.repeat(1, 2).unsqueeze(1).to(torch.float32)
            scores = torch.sigmoid(logits)
            scores, index = torch.topk(scores.flatten(1), self.nq, dim=-1)
            labels = index % self.ncls
            index = torch.div(index, self.ncls, rounding_mode="floor")
            xyxy = xyxy.gather(1, index.unsqueeze(-1).repeat(1, 1, 4))
            keep = scores[0] > 0.5
            return xyxy[0][keep], scores[0][keep], labels[0][keep]
    return RTDETR()


def tf2onnx_cropresize_op13():
    """A TF detector's second stage as tf2onnx writes it (NHWC, CropAndResize as a Loop)."""
    from onnx import helper, TensorProto
    inits, nodes, const, node, rng = graph_builder(132)
    c = 16
    node("Transpose", ["image"], ["img_nchw"], perm=[0, 3, 1, 2])
    const("conv1_W", (rng.standard_normal((c, 3, 3, 3)) * 0.4).astype(np.float32))
    const("conv1_B", (rng.standard_normal(c) * 0.1).astype(np.float32))
    node("Identity", ["conv1_W"], ["conv1_W_id"])
    node("Conv", ["img_nchw", "conv1_W_id", "conv1_B"], ["conv1"], strides=[2, 2], auto_pad="SAME_UPPER",
         kernel_shape=[3, 3])
    node("Relu", ["conv1"], ["relu1"])
    node("Transpose", ["relu1"], ["f_nhwc"], perm=[0, 2, 3, 1])
    # tf.image.resize(nearest, half_pixel_centers=True) on the NHWC tensor
    const("empty_roi", np.zeros(0, np.float32))
    const("scales_up", np.array([1, 2, 2, 1], np.float32))
    node("Resize", ["f_nhwc", "empty_roi", "scales_up"], ["f_up"], mode="nearest",
         coordinate_transformation_mode="tf_half_pixel_for_nn", nearest_mode="round_prefer_ceil")
    # tf.compat.v1.image.resize_bilinear(align_corners=False): asymmetric, sizes from Shape
    node("Shape", ["f_up"], ["f_up_shape"])
    const("i0", np.array([0], np.int64))
    const("i1", np.array([1], np.int64))
    const("i3", np.array([3], np.int64))
    const("i4", np.array([4], np.int64))
    node("Slice", ["f_up_shape", "i0", "i1", "i0"], ["n_dim"])
    node("Slice", ["f_up_shape", "i3", "i4", "i0"], ["c_dim"])
    const("hw48", np.array([48, 48], np.int64))
    node("Concat", ["n_dim", "hw48", "c_dim"], ["sizes48"], axis=0)
    node("Resize", ["f_up", "empty_roi", "", "sizes48"], ["feat"], mode="linear",
         coordinate_transformation_mode="asymmetric")
    # crop_and_resize(feat, boxes, box_ind, [7, 7]): tf2onnx's Loop over the boxes
    node("Transpose", ["feat"], ["feat_nchw"], perm=[0, 3, 1, 2])
    node("Shape", ["boxes"], ["boxes_shape"])
    node("Slice", ["boxes_shape", "i0", "i1", "i0"], ["k_dim"])
    node("Squeeze", ["k_dim", "i0"], ["trip"])
    const("cond_true", np.array(True))
    bn = []

    def bnode(op, ins, outs, **kw):
        bn.append(helper.make_node(op, ins, outs, name="crop_body_" + outs[0], **kw))
        return outs[0]
    bnode("Gather", ["box_ind", "iter"], ["bi"], axis=0)
    bnode("Cast", ["bi"], ["bi64"], to=TensorProto.INT64)
    bnode("Unsqueeze", ["bi64", "b_zero"], ["bi1"])
    bnode("Add", ["bi1", "b_one"], ["bi2"])
    bnode("Slice", ["feat_nchw", "bi1", "bi2", "b_zero"], ["img1"])
    bnode("Gather", ["boxes", "iter"], ["box"], axis=0)
    bnode("Concat", ["b_roi_lo", "box", "b_roi_hi"], ["roi_raw"], axis=0)
    bnode("Gather", ["roi_raw", "b_roi_perm"], ["roi"], axis=0)
    bnode("Shape", ["img1"], ["img1_shape"])
    bnode("Slice", ["img1_shape", "b_zero", "b_two", "b_zero"], ["nc"])
    bnode("Concat", ["nc", "b_crop"], ["crop_sizes"], axis=0)
    bnode("Resize", ["img1", "roi", "", "crop_sizes"], ["crop"], mode="linear",
          coordinate_transformation_mode="tf_crop_and_resize", extrapolation_value=0.0)
    bnode("Identity", ["cond_in"], ["cond_out"])
    body_inits = [helper.make_tensor("b_zero", TensorProto.INT64, [1], [0]),
                  helper.make_tensor("b_one", TensorProto.INT64, [1], [1]),
                  helper.make_tensor("b_two", TensorProto.INT64, [1], [2]),
                  helper.make_tensor("b_crop", TensorProto.INT64, [2], [7, 7]),
                  helper.make_tensor("b_roi_lo", TensorProto.FLOAT, [2], [0.0, 0.0]),
                  helper.make_tensor("b_roi_hi", TensorProto.FLOAT, [2], [1.0, 1.0]),
                  # [0, 0, y1, x1, 1, 1, y2, x2] from [0, 0, y1, x1, y2, x2, 1, 1]
                  helper.make_tensor("b_roi_perm", TensorProto.INT64, [8], [0, 1, 2, 3, 6, 7, 4, 5])]
    body = helper.make_graph(
        bn, "crop_and_resize_loop_body",
        [helper.make_tensor_value_info("iter", TensorProto.INT64, []),
         helper.make_tensor_value_info("cond_in", TensorProto.BOOL, [])],
        [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
         helper.make_tensor_value_info("crop", TensorProto.FLOAT, [1, c, 7, 7])], body_inits)
    node("Loop", ["trip", "cond_true"], ["crops5"], body=body)
    node("Squeeze", ["crops5", "i1"], ["crops"])
    node("Transpose", ["crops"], ["crops_nhwc"], perm=[0, 2, 3, 1])
    node("ReduceMean", ["crops_nhwc"], ["pooled"], axes=[1, 2], keepdims=0)
    const("fc_W", (rng.standard_normal((c, 6)) * 0.5).astype(np.float32))
    const("fc_B", (rng.standard_normal(6) * 0.1).astype(np.float32))
    node("MatMul", ["pooled", "fc_W"], ["fc"])
    node("Add", ["fc", "fc_B"], ["crop_logits"])
    node("Softmax", ["crop_logits"], ["probs"], axis=-1)
    const("ax_last", np.array(-1, np.int32))
    node("CumSum", ["probs", "ax_last"], ["tail"], exclusive=1, reverse=1)
    node("CumSum", ["probs", "ax_last"], ["cdf_rev"], reverse=1)
    node("Sub", ["cdf_rev", "tail"], ["tail_check"])
    g = helper.make_graph(nodes, "tf2onnx_crop_and_resize", [
        helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 64, 64, 3]),
        helper.make_tensor_value_info("boxes", TensorProto.FLOAT, ["K", 4]),
        helper.make_tensor_value_info("box_ind", TensorProto.INT32, ["K"])], [
        helper.make_tensor_value_info("feat", TensorProto.FLOAT, ["N", 48, 48, c]),
        helper.make_tensor_value_info("crop_logits", TensorProto.FLOAT, ["K", 6]),
        helper.make_tensor_value_info("tail", TensorProto.FLOAT, ["K", 6]),
        helper.make_tensor_value_info("tail_check", TensorProto.FLOAT, ["K", 6])], inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], producer_name="tf2onnx",
                             producer_version="1.9.3")


# ------------------------------------------------------------------ OCR and preprocessing

def paddle_ocr_rec_dynw_op11():
    """A PP-OCR CRNN recogniser as paddle2onnx writes it (opset 11)."""
    from onnx import helper, TensorProto
    inits, nodes, const, node, rng = graph_builder(133)
    cnt = [0]

    def nm(kind):
        cnt[0] += 1
        return f"p2o.{kind}.{cnt[0]}"

    def conv_bn(x, cin, cout, k, stride, group=1, act=True):
        wname = nm("conv2d_w")
        const(wname, (rng.standard_normal((cout, cin // group, k, k)) * np.sqrt(2.0 / (cin // group * k * k)))
              .astype(np.float32))
        y = node("Conv", [x, wname], [nm("Conv")], kernel_shape=[k, k], strides=list(stride),
                 pads=[k // 2] * 4, group=group, dilations=[1, 1])
        s, b, m, v = (nm("bn_scale"), nm("bn_bias"), nm("bn_mean"), nm("bn_var"))
        const(s, rng.uniform(0.5, 1.5, cout).astype(np.float32))
        const(b, rng.uniform(-0.2, 0.2, cout).astype(np.float32))
        const(m, rng.uniform(-0.2, 0.2, cout).astype(np.float32))
        const(v, rng.uniform(0.5, 2.0, cout).astype(np.float32))
        y = node("BatchNormalization", [y, s, b, m, v], [nm("BatchNormalization")], epsilon=1e-5, momentum=0.9)
        if not act:
            return y
        a = node("Add", [y, "p2o.three"], [nm("Add")])
        c = node("Clip", [a, "p2o.zero", "p2o.six"], [nm("Clip")])
        mm = node("Mul", [y, c], [nm("Mul")])
        return node("Div", [mm, "p2o.six"], [nm("Div")])

    const("p2o.three", np.array(3.0, np.float32))
    const("p2o.zero", np.array(0.0, np.float32))
    const("p2o.six", np.array(6.0, np.float32))
    x = conv_bn("x", 3, 16, 3, (2, 2))
    for cin, cout, s in ((16, 24, (1, 1)), (24, 32, (2, 1)), (32, 48, (2, 1)), (48, 64, (2, 1))):
        x = conv_bn(x, cin, cin, 3, s, group=cin)
        x = conv_bn(x, cin, cout, 1, (1, 1))
    x = node("MaxPool", [x], [nm("MaxPool")], kernel_shape=[2, 2], strides=[2, 2], pads=[0, 0, 0, 0])
    # [N, 64, 1, W/4] -> im2seq [N, W/4, 64]
    x = node("Squeeze", [x], [nm("Squeeze")], axes=[2])
    seq = node("Transpose", [x], [nm("Transpose")], perm=[0, 2, 1])
    # a bidirectional LSTM, time-major
    hid = 24
    tm = node("Transpose", [seq], [nm("Transpose")], perm=[1, 0, 2])
    shp = node("Shape", [tm], [nm("Shape")])
    const("p2o.s1", np.array([1], np.int64))
    const("p2o.s2", np.array([2], np.int64))
    const("p2o.s0", np.array([0], np.int64))
    nb = node("Slice", [shp, "p2o.s1", "p2o.s2", "p2o.s0"], [nm("Slice")])
    const("p2o.ndir", np.array([2], np.int64))
    const("p2o.hid", np.array([hid], np.int64))
    st_shape = node("Concat", ["p2o.ndir", nb, "p2o.hid"], [nm("Concat")], axis=0)
    h0 = node("ConstantOfShape", [st_shape], [nm("ConstantOfShape")],
              value=helper.make_tensor("v", TensorProto.FLOAT, [1], [0.0]))
    c0 = node("ConstantOfShape", [st_shape], [nm("ConstantOfShape")],
              value=helper.make_tensor("v", TensorProto.FLOAT, [1], [0.0]))
    wn, rn, bnm = nm("lstm_w"), nm("lstm_r"), nm("lstm_b")
    const(wn, (rng.standard_normal((2, 4 * hid, 64)) * 0.15).astype(np.float32))
    const(rn, (rng.standard_normal((2, 4 * hid, hid)) * 0.15).astype(np.float32))
    const(bnm, (rng.standard_normal((2, 8 * hid)) * 0.1).astype(np.float32))
    y = nm("LSTM")
    node("LSTM", [tm, wn, rn, bnm, "", h0, c0], [y, nm("LSTM_h"), nm("LSTM_c")], direction="bidirectional",
         hidden_size=hid)
    y = node("Transpose", [y], [nm("Transpose")], perm=[0, 2, 1, 3])  # [T, N, 2, H]
    yshp = node("Shape", [y], [nm("Shape")])
    tn = node("Slice", [yshp, "p2o.s0", "p2o.s2", "p2o.s0"], [nm("Slice")])
    const("p2o.m1", np.array([-1], np.int64))
    tgt = node("Concat", [tn, "p2o.m1"], [nm("Concat")], axis=0)
    y = node("Reshape", [y, tgt], [nm("Reshape")])
    y = node("Transpose", [y], [nm("Transpose")], perm=[1, 0, 2])  # [N, T, 2H]
    ncls = 37
    const("p2o.fc_w", (rng.standard_normal((2 * hid, ncls)) * 0.3).astype(np.float32))
    const("p2o.fc_b", (rng.standard_normal(ncls) * 0.1).astype(np.float32))
    y = node("MatMul", [y, "p2o.fc_w"], [nm("MatMul")])
    y = node("Add", [y, "p2o.fc_b"], [nm("Add")])
    node("Softmax", [y], ["softmax_out"], axis=2)
    # CTC greedy decoding: argmax, drop repeats (compare with the previous step) and blanks
    node("ArgMax", ["softmax_out"], ["idx"], axis=2, keepdims=0)
    node("ReduceMax", ["softmax_out"], ["conf"], axes=[2], keepdims=0)
    node("Slice", ["idx", "p2o.s0", "p2o.m1", "p2o.s1"], ["idx_prev0"])
    node("Slice", ["idx", "p2o.s0", "p2o.s1", "p2o.s1"], ["idx_first"])
    const("p2o.neg1", np.array(-1, np.int64))
    node("Mul", ["idx_first", "p2o.zero_i"], ["idx_first0"])
    const("p2o.zero_i", np.array(0, np.int64))
    node("Add", ["idx_first0", "p2o.neg1"], ["pad_col"])
    node("Concat", ["pad_col", "idx_prev0"], ["idx_prev"], axis=1)
    node("Equal", ["idx", "idx_prev"], ["same"])
    node("Not", ["same"], ["changed"])
    node("Equal", ["idx", "p2o.zero_i"], ["blank"])
    node("Not", ["blank"], ["nonblank"])
    node("And", ["changed", "nonblank"], ["keep"])
    g = helper.make_graph(nodes, "p2o_ppocr_rec",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 32, "W"])],
                          [helper.make_tensor_value_info("softmax_out", TensorProto.FLOAT, ["N", "T", ncls]),
                           helper.make_tensor_value_info("idx", TensorProto.INT64, ["N", "T"]),
                           helper.make_tensor_value_info("conf", TensorProto.FLOAT, ["N", "T"]),
                           helper.make_tensor_value_info("keep", TensorProto.BOOL, ["N", "T"])], inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 11)], producer_name="PaddlePaddle",
                             producer_version="paddle2onnx 1.0.6")


def preproc_aa_op18():
    """torchvision-like preprocessing at opset 18 (Resize antialias + CenterCropPad)."""
    from onnx import helper, TensorProto
    inits, nodes, const, node, rng = graph_builder(134)
    node("Cast", ["image"], ["img_f"], to=TensorProto.FLOAT)
    const("hw_axes_sizes", np.array([64, 64], np.int64))
    node("Resize", ["img_f", "", "", "hw_axes_sizes"], ["resized"], mode="linear", antialias=1, axes=[0, 1],
         keep_aspect_ratio_policy="not_smaller", coordinate_transformation_mode="half_pixel")
    const("crop", np.array([56, 56], np.int64))
    node("CenterCropPad", ["resized", "crop"], ["cropped"], axes=[0, 1])
    const("inv255", np.array(1 / 255.0, np.float32))
    node("Mul", ["cropped", "inv255"], ["scaled"])
    const("mean", np.array([0.485, 0.456, 0.406], np.float32))
    const("std", np.array([0.229, 0.224, 0.225], np.float32))
    node("Sub", ["scaled", "mean"], ["centred"])
    node("Div", ["centred", "std"], ["normed"])
    node("Transpose", ["normed"], ["chw"], perm=[2, 0, 1])
    const("ax0", np.array([0], np.int64))
    node("Unsqueeze", ["chw", "ax0"], ["nchw"])
    x, cin = "nchw", 3
    for i, (cout, s) in enumerate(((16, 2), (32, 2), (32, 1), (48, 2))):
        const(f"c{i}_W", (rng.standard_normal((cout, cin, 3, 3)) * np.sqrt(2.0 / (cin * 9))).astype(np.float32))
        const(f"c{i}_B", (rng.standard_normal(cout) * 0.1).astype(np.float32))
        node("Conv", [x, f"c{i}_W", f"c{i}_B"], [f"c{i}"], kernel_shape=[3, 3], strides=[s, s], pads=[1, 1, 1, 1])
        x = node("Relu", [f"c{i}"], [f"r{i}"])
        cin = cout
    node("GlobalAveragePool", [x], ["gap"])
    node("Flatten", ["gap"], ["flat"], axis=1)
    const("fc_W", (rng.standard_normal((10, cin)) * 0.3).astype(np.float32))
    const("fc_B", (rng.standard_normal(10) * 0.1).astype(np.float32))
    node("Gemm", ["flat", "fc_W", "fc_B"], ["logits"], transB=1)
    g = helper.make_graph(nodes, "preproc_antialias",
                          [helper.make_tensor_value_info("image", TensorProto.UINT8, ["H", "W", 3])],
                          [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 10]),
                           helper.make_tensor_value_info("nchw", TensorProto.FLOAT, [1, 3, 56, 56])], inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 18)], producer_name="onnx.helper")


# ------------------------------------------------------------------ tabular

def kan():
    torch = _torch()
    nn = torch.nn
    F = nn.functional

    class KANLinear(nn.Module):
        def __init__(self, i, o, g=5, k=3):
            super().__init__()
            self.k = k
            h = 2.0 / g
            grid = (torch.arange(-k, g + k + 1) * h - 1).expand(i, -1).contiguous()
            self.register_buffer("grid", grid.float())
            self.base = nn.Parameter(torch.randn(o, i) / i ** 0.5)
            self.spline = nn.Parameter(torch.randn(o, i, g + k) * 0.3)
            self.scaler = nn.Parameter(torch.rand(o, i) + 0.5)

        def b_splines(self, x):
            grid = self.grid
            x = x.unsqueeze(-1)
            bases = ((x >= grid[:, :-1]) & (x < grid[:, 1:])).to(x.dtype)
            for k in range(1, self.k + 1):
                bases = ((x - grid[:, :-(k + 1)]) / (grid[:, k:-1] - grid[:, :-(k + 1)]) * bases[:, :, :-1]) + \
                    ((grid[:, k + 1:] - x) / (grid[:, k + 1:] - grid[:, 1:(-k)]) * bases[:, :, 1:])
            return bases

        def forward(self, x):
            base = F.linear(F.silu(x), self.base)
            w = (self.spline * self.scaler.unsqueeze(-1)).view(self.spline.shape[0], -1)
            return base + F.linear(self.b_splines(x).view(x.size(0), -1), w)

    class KAN(nn.Module):
        def __init__(self):
            super().__init__()
            self.l1 = KANLinear(8, 16)
            self.ln = nn.LayerNorm(16)
            self.l2 = KANLinear(16, 16)
            self.l3 = KANLinear(16, 3)

        def forward(self, x):
            h = torch.tanh(self.ln(self.l1(x)))
            return self.l3(torch.tanh(self.l2(h)))
    return KAN()


def tabnet():
    torch = _torch()
    nn = torch.nn

    def sparsemax(z):
        d = z.shape[-1]
        zs, _ = torch.sort(z, dim=-1, descending=True)
        cs = zs.cumsum(-1) - 1
        rng_ = torch.arange(1, d + 1, dtype=z.dtype)
        support = rng_ * zs > cs
        kz = support.sum(-1, keepdim=True)
        tau = cs.gather(-1, kz - 1) / kz.to(z.dtype)
        return torch.clamp(z - tau, min=0)

    class GLU(nn.Module):
        def __init__(self, i, o):
            super().__init__()
            self.fc = nn.Linear(i, 2 * o, bias=False)
            self.bn = nn.BatchNorm1d(2 * o)

        def forward(self, x):
            a, b = self.bn(self.fc(x)).chunk(2, -1)
            return a * torch.sigmoid(b)

    class FeatT(nn.Module):
        def __init__(self, i, o):
            super().__init__()
            self.g1, self.g2, self.g3 = GLU(i, o), GLU(o, o), GLU(o, o)

        def forward(self, x):
            x = self.g1(x)
            x = (x + self.g2(x)) * 0.7071
            return (x + self.g3(x)) * 0.7071

    class TabNet(nn.Module):
        def __init__(self, nnum=10, ncat=2, card=(7, 5), emb=3, nd=8, na=8, steps=3, gamma=1.3):
            super().__init__()
            self.embs = nn.ModuleList([nn.Embedding(c, emb) for c in card])
            self.d = nnum + ncat * emb
            self.nd, self.steps, self.gamma = nd, steps, gamma
            self.bn0 = nn.BatchNorm1d(self.d)
            self.initial = FeatT(self.d, nd + na)
            self.feats = nn.ModuleList([FeatT(self.d, nd + na) for _ in range(steps)])
            self.atts = nn.ModuleList([nn.Sequential(nn.Linear(na, self.d, bias=False), nn.BatchNorm1d(self.d))
                                       for _ in range(steps)])
            self.head = nn.Linear(nd, 3)

        def forward(self, num, cat):
            x = torch.cat([num] + [e(cat[:, i]) for i, e in enumerate(self.embs)], 1)
            x = self.bn0(x)
            prior = torch.ones_like(x)
            att = self.initial(x)[:, self.nd:]
            out = torch.zeros_like(att[:, :self.nd])
            explain = torch.zeros_like(x)
            for s in range(self.steps):
                m = sparsemax(self.atts[s](att) * prior)
                prior = prior * (self.gamma - m)
                h = self.feats[s](x * m)
                d = torch.relu(h[:, :self.nd])
                out = out + d
                explain = explain + m * d.sum(1, keepdim=True)
                att = h[:, self.nd:]
            return self.head(out), explain
    return TabNet()


def skl2onnx_cdist_scan_op9():
    """A nearest-prototype classifier as skl2onnx writes it at opset 9 (cdist by Scan)."""
    from onnx import helper, TensorProto
    inits, nodes, const, node, rng = graph_builder(135)
    nf, nc, npro, k = 6, 4, 20, 3
    const("Sc_offset", rng.standard_normal(nf).astype(np.float32) * 0.2)
    const("Sc_scale", rng.uniform(0.7, 1.4, nf).astype(np.float32))
    node("Sub", ["X", "Sc_offset"], ["Sc_sub"])
    node("Mul", ["Sc_sub", "Sc_scale"], ["scaled"])
    const("Pc_mean", rng.standard_normal(nf).astype(np.float32) * 0.1)
    const("Pc_comp", np.linalg.qr(rng.standard_normal((nf, nc)))[0].astype(np.float32))
    node("Sub", ["scaled", "Pc_mean"], ["Pc_sub"])
    node("MatMul", ["Pc_sub", "Pc_comp"], ["variable"])
    const("protos", rng.standard_normal((npro, nc)).astype(np.float32))
    # skl2onnx's onnx_cdist: a Scan whose state is the whole X and whose scan input is one prototype
    bn = [helper.make_node("Identity", ["next_in"], ["next_out"], name="cdistd_Identity"),
          helper.make_node("Sub", ["next_in", "next"], ["diff"], name="cdistdf_Sub"),
          helper.make_node("ReduceSumSquare", ["diff"], ["scan_out"], axes=[1], keepdims=0,
                           name="cdistdf_ReduceSumSquare")]
    body = helper.make_graph(bn, "OnnxIdentity",
                             [helper.make_tensor_value_info("next_in", TensorProto.FLOAT, [None, nc]),
                              helper.make_tensor_value_info("next", TensorProto.FLOAT, [None])],
                             [helper.make_tensor_value_info("next_out", TensorProto.FLOAT, [None, nc]),
                              helper.make_tensor_value_info("scan_out", TensorProto.FLOAT, [None])])
    node("Scan", ["variable", "protos"], ["scan0_next_out", "scan0_scan_out"], body=body, num_scan_inputs=1,
         name="cdistd_Scan")
    node("Transpose", ["scan0_scan_out"], ["sqdist"], perm=[1, 0])
    node("Sqrt", ["sqdist"], ["dist"])
    node("Neg", ["dist"], ["negdist"])
    node("TopK", ["negdist"], ["knn_vals", "knn_idx"], k=k, axis=1)
    labels = rng.integers(0, 3, npro)
    const("proto_onehot", np.eye(3, dtype=np.float32)[labels])
    node("Gather", ["proto_onehot", "knn_idx"], ["votes3"], axis=0)
    node("ReduceSum", ["votes3"], ["votes"], axes=[1], keepdims=0)
    const("inv_k", np.array(1.0 / k, np.float32))
    node("Mul", ["votes", "inv_k"], ["probabilities"])
    node("ArgMax", ["probabilities"], ["label"], axis=1, keepdims=0)
    node("Neg", ["knn_vals"], ["knn_dist"])
    g = helper.make_graph(nodes, "KNN_protos",
                          [helper.make_tensor_value_info("X", TensorProto.FLOAT, ["N", nf])],
                          [helper.make_tensor_value_info("label", TensorProto.INT64, ["N"]),
                           helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", 3]),
                           helper.make_tensor_value_info("knn_dist", TensorProto.FLOAT, ["N", k])], inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 9)], producer_name="skl2onnx",
                             producer_version="1.11")


# ------------------------------------------------------------------ the set

def _img(name, shape, alt_shape=None, uniform=True, dtype=np.float32, scale=1.0):
    def gen(rng, alt):
        s = alt_shape if alt else shape
        a = rng.random(s) if uniform else rng.standard_normal(s)
        return {name: (a * scale).astype(dtype)}
    return gen


def _mamba_in(rng, alt):
    n, length = (3, 9) if alt else (2, 24)
    return {"x": rng.standard_normal((n, length, 16)).astype(np.float32)}


def _tokens(rng, alt):
    n, t = (3, 5) if alt else (2, 16)
    return {"tokens": rng.integers(0, 50, (n, t)).astype(np.int64)}


def _frames(rng, alt):
    n, t = (1, 3) if alt else (2, 5)
    return {"frames": rng.random((n, t, 1, 32, 32)).astype(np.float32)}


def _flow(rng, alt):
    s = (1, 3, 48, 80) if alt else (1, 3, 64, 64)
    a = rng.random(s).astype(np.float32)
    b = np.roll(a, (1, 2), (2, 3)) + rng.standard_normal(s).astype(np.float32) * 0.02
    return {"im1": a, "im2": b.astype(np.float32)}


def _rtdetr(rng, alt):
    return {"images": rng.random((1, 3, 64, 64)).astype(np.float32),
            "orig_target_sizes": np.array([[640, 480]], np.int64)}


def _crops(rng, alt):
    n, k = (1, 2) if alt else (2, 5)
    y1 = rng.uniform(0, 0.5, k)
    x1 = rng.uniform(0, 0.5, k)
    boxes = np.stack([y1, x1, y1 + rng.uniform(0.2, 0.6, k), x1 + rng.uniform(0.2, 0.6, k)], 1)
    return {"image": rng.random((n, 64, 64, 3)).astype(np.float32), "boxes": boxes.astype(np.float32),
            "box_ind": rng.integers(0, n, k).astype(np.int32)}


def _tab(rng, alt):
    n = 5 if alt else 8
    return {"num": rng.standard_normal((n, 10)).astype(np.float32),
            "cat": np.stack([rng.integers(0, 7, n), rng.integers(0, 5, n)], 1).astype(np.int64)}


def _kan(rng, alt):
    n = 5 if alt else 16
    return {"x": rng.uniform(-0.95, 0.95, (n, 8)).astype(np.float32)}


def _skl(rng, alt):
    n = 3 if alt else 12
    return {"X": rng.standard_normal((n, 6)).astype(np.float32)}


# name -> (builder, opset, input generator gen(rng, alt) -> {name: array}, outputs,
#          dynamic axes, has an .alt.npz)
SPECS = {
    "mamba_scan_op13": ("helper", 13, _mamba_in, None, None, True),
    "rwkv_loop_script_op13": (rwkv, 13, _tokens, ["logits"], {"tokens": {0: "N", 1: "T"}, "logits": {0: "N", 1: "T"}},
                              True),
    "convlstm_script_op13": (convlstm, 13, _frames, ["next_frame"], {"frames": {0: "N", 1: "T"},
                                                                      "next_frame": {0: "N"}}, True),
    "pwcnet_corr_dynhw_op16": (pwcnet, 16, _flow, ["flow"],
                               {"im1": {0: "N", 2: "H", 3: "W"}, "im2": {0: "N", 2: "H", 3: "W"},
                                "flow": {0: "N", 2: "H", 3: "W"}}, True),
    "msdeform_attn_op16": (msdeform, 16, _img("x", (1, 3, 64, 64)), ["memory", "logits"], None, False),
    "rtdetr_post_op16": (rtdetr, 16, _rtdetr, ["boxes", "scores", "labels"], None, False),
    "tf2onnx_cropresize_op13": ("helper", 13, _crops, None, None, True),
    "paddle_ocr_rec_dynw_op11": ("helper", 11, _img("x", (1, 3, 32, 100), (2, 3, 32, 64), uniform=False), None, None,
                                 True),
    "preproc_aa_op18": ("helper", 18, _img("image", (90, 120, 3), (75, 50, 3), dtype=np.uint8, scale=255.0), None,
                        None, True),
    "kan_spline_op13": (kan, 13, _kan, ["y"], {"x": {0: "N"}, "y": {0: "N"}}, True),
    "tabnet_sparsemax_op13": (tabnet, 13, _tab, ["logits", "explain"],
                              {"num": {0: "N"}, "cat": {0: "N"}, "logits": {0: "N"}, "explain": {0: "N"}}, True),
    "skl2onnx_cdist_scan_op9": ("helper", 9, _skl, None, None, True),
}

HELPER = {"mamba_scan_op13": mamba_scan_op13, "tf2onnx_cropresize_op13": tf2onnx_cropresize_op13,
          "paddle_ocr_rec_dynw_op11": paddle_ocr_rec_dynw_op11, "preproc_aa_op18": preproc_aa_op18,
          "skl2onnx_cdist_scan_op9": skl2onnx_cdist_scan_op9}
# Inputs whose leading axis is not one sample's, saved with a leading axis of 1 (warboy's
# data layout reads it as one whole input; ortcheck drops it again): an image without a
# batch axis, a set of boxes with their int32 image indices.
WHOLE = {"preproc_aa_op18": {"image"}, "tf2onnx_cropresize_op13": {"image", "boxes", "box_ind"}}
# The onnx package here (1.12) knows opsets up to 17: opset-18 graphs are not checked by it.
UNCHECKED = {"preproc_aa_op18"}


def _save(path, name, feeds):
    whole = WHOLE.get(name, set())
    np.savez(path, **{k: (v[None] if k in whole else v) for k, v in feeds.items()})


def export(name, out):
    """Export NAME to OUT/NAME.onnx with its samples; returns the path."""
    builder, opset, gen, outs, axes, has_alt = SPECS[name]
    rng = np.random.default_rng(43)

    def draw(alt):
        return gen(rng, alt)
    first = draw(False)
    samples = [first]
    for _ in range(3):
        fresh = draw(False)
        varied = {k: vary(v, rng) for k, v in first.items()}
        samples.append({k: (fresh[k] if v is None else v) for k, v in varied.items()})
    path = os.path.join(out, name + ".onnx")
    if builder == "helper":
        import onnx
        m = HELPER[name]()
        if name not in UNCHECKED:
            onnx.checker.check_model(m)
        onnx.save(m, path + ".tmp")
        os.replace(path + ".tmp", path)
    else:
        torch = _torch()
        torch.manual_seed(0)
        model = builder()
        if not isinstance(model, torch.jit.ScriptModule):
            model = randomise_norms(model)
        model.eval()
        xs = [torch.from_numpy(v) for v in first.values()]
        exportlib.torch_export(model, xs, path, opset, list(first), outs, axes)
    d = os.path.join(out, "data", name)
    os.makedirs(d, exist_ok=True)
    for i, s in enumerate(samples):
        _save(os.path.join(d, f"s{i}.npz"), name, s)
    _save(os.path.join(out, "data", name + ".in.npz"), name, samples[0])
    if has_alt:
        _save(os.path.join(out, "data", name + ".alt.npz"), name, draw(True))
    print(f"{path}: {os.path.getsize(path) / 1e6:.2f} MB, opset {opset}", flush=True)
    return path


def export_main(args):
    """Export args.models (default MODELS) to args.out (default
    out/bench-models-unseen13); returns the process exit code."""
    return exportlib.export_all(exportlib.model_names(args.models, MODELS), export,
                                args.out or "out/bench-models-unseen13")


def main(argv):
    import argparse
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default=None)
    ap.add_argument("--out", default=None)
    return export_main(ap.parse_args(argv))


if __name__ == "__main__":
    a = sys.argv[1:]
    if len(a) >= 4 and a[0] == "ortcheck":
        sys.exit(exportlib.ortcheck_main(a[1:]))
    if a and a[0] == "export":
        sys.exit(main(a[1:]))
    print(__doc__)
    sys.exit(2)
