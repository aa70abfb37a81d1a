#!/usr/bin/python3
"""The --unseen17 export set (twenty-second session): model families and exporter
spellings none of the earlier sets (--unseen .. --unseen16, --detection, --audio,
--darknet, --extra) has, for triage of the whole workflow (scripts/triage_unseen17.sh:
inspect, run against ONNX Runtime, quantize, int8 against ONNX Runtime, sim,
bench cpu --ort).

    /usr/bin/python3 scripts/export_benchmodels.py --unseen17 [--models a,b] [--out DIR]
    /usr/bin/python3 scripts/unseen17_models.py export [--models a,b] [--out DIR]      (the same)
    /usr/bin/python3 scripts/unseen17_models.py ortcheck MODEL.onnx INPUT.npz OURS.npz [MIN_SQNR] [--threads T]

Random weights (normalisation statistics and affines randomised), nothing
downloaded. Every model NAME is written as DIR/NAME.onnx (default DIR
out/bench-models-unseen17) with four samples DIR/data/NAME/s{0..3}.npz (one
array per input name), DIR/data/NAME.in.npz (sample 0) and DIR/data/NAME.alt.npz (an
input at other sizes).

The models (MODELS below; a suffix _opN is the export opset):
- pointnet2_ssg_op13: PointNet++ (single-scale grouping) as the common PyTorch
  implementation (yanx27) writes it: **farthest point sampling** unrolled
  (index_put of the chosen index into the centroid list, the running distance
  by torch.min as the ONNX-friendly ports write it: yanx27's boolean-mask
  update traces to the sample's count of points, argmax), **ball query**
  (square distances by matmul, indices past the radius set to N by a boolean
  mask (index_put), sort, the first index put into empty slots by Where),
  grouping by advanced indexing with batch indices, Conv2d MLPs, max
  over the neighbourhood, a group-all layer and an FC head; symbolic P points.
- dgcnn_edgeconv_op13: DGCNN EdgeConv: k nearest neighbours by TopK on the
  negative pairwise distance (k 8), neighbour features by a flat index with
  per-batch offsets, edge features cat(x_j - x_i, x_i), Conv2d, LeakyRelu,
  max over k, two EdgeConvs and a global max/avg head; symbolic P.
- gat_scatter_op18: an onnx.helper graph as the torch >= 2.0 exporter writes a
  PyTorch Geometric GATConv (two layers): node features [N, F] and an int64
  edge_index [2, E]; attention logits per edge by Gather, the per-target
  softmax by **ScatterElements reduction="max"** (opset 18, scatter_reduce amax)
  and reduction="add", messages summed by ScatterND reduction="add"
  (index_add); symbolic N, E.
- ddim_cfg_step_op14: one denoising step of a latent diffusion sampler as it is
  exported for on-device pipelines: a small UNet with a sinusoidal embedding of
  an int64 timestep and cross-attention to a text context, **classifier-free
  guidance** (batch doubled with a learned unconditional context, chunk,
  uncond + g·(cond - uncond)) and the **DDIM scheduler step** in the graph
  (alphas_cumprod Gather at t and at t_prev, Where for the final alpha at
  t_prev < 0, x0 prediction, clamp); symbolic H, W.
- canine_bytes_op13: a tokenizer-free byte-level encoder (CANINE / ByT5 style) on
  raw **uint8 bytes**: Cast, multi-hash character embeddings (codepoint·prime
  mod buckets, several tables, concat), padding to a multiple of the
  downsampling rate from the runtime length, strided Conv1d downsampling, a
  transformer layer, upsampling by repeat_interleave and a crop, per-byte
  logits and a pooled class; symbolic N, L.
- ocr_ctc_greedy_op13: a text-line recogniser with the **greedy CTC decoder in
  the graph**: conv stack, log_softmax, argmax, collapse of repeats against the
  shifted path, blank removal by masked_select (a data-dependent output
  length), the sequence confidence; symbolic W.
- mdn_quantile_op13: probabilistic forecasting heads (DeepAR / MDN / TFT
  style) by torch.distributions: a **Gaussian mixture** (MixtureSameFamily:
  log_softmax weights, Normal log_prob, logsumexp), its CDF (Erf) at the target
  (probability integral transform), the mixture mean, **non-crossing quantiles**
  by a cumulative sum of softplus increments and the pinball loss; symbolic N.
- instantngp_hashgrid_op18: an onnx.helper graph as torch >= 2.0 writes a
  pure-PyTorch **Instant-NGP multiresolution hash encoding** (NeRF field): Floor,
  the 8 cell corners, a dense index on the coarse level and the spatial hash
  x·1 XOR y·2654435761 XOR z·805459861 (**BitwiseXor**, BitwiseAnd with
  T - 1 on int64), Gather from per-level tables, trilinear weights by
  ReduceProd, a small MLP to colour and density; symbolic N.
- ft_transformer_op14: an FT-Transformer for tabular data: numeric feature
  tokens x·W + b per feature (broadcast), categorical Embedding with per-column
  offsets, a CLS token expanded to the batch, pre-norm attention blocks
  (nn.MultiheadAttention batch_first) with a ReGLU FFN, the head on CLS;
  symbolic N.
- sampling_decode_op15: one step of a decoder with the Hugging Face sampling
  logits processors in the graph: a causal attention layer, repetition
  penalty (gather the logits of the seen ids, Where, ScatterElements back),
  temperature, top-k (TopK, the k-th value threshold), top-p (full sort by TopK,
  softmax, CumSum, the shifted removal mask scattered back to vocabulary order)
  and **torch.multinomial (Multinomial)**; top_p and temperature are inputs;
  the samples use top_p 0 (one token kept: a deterministic draw, as VITS's
  noise_scale 0); symbolic S.
- kalman_script_op13: a torch.jit.script **Kalman filter** (constant-velocity
  2-D tracker with a learned residual motion MLP) over a measurement sequence:
  a Loop carrying the state and covariance, the 2x2 innovation inverse by its
  adjugate and determinant, the gain, the Joseph-free update, the per-step
  negative log-likelihood; states appended to a list and stacked; symbolic T.
- dlrm_interact_op13: a DLRM recommendation model: bottom MLP on dense features,
  nn.EmbeddingBag(mode="sum") tables on multi-hot int64 bags, the **pairwise
  dot interaction** (bmm of the stacked features, the strictly lower triangle
  taken by two index tensors), top MLP and a sigmoid CTR; symbolic N.
"""
import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import exportlib  # noqa: E402  (beside this script)
from unseen11_models import graph_builder, vary  # noqa: E402  (the same helpers)
from unseen12_models import randomise_norms  # noqa: E402

MODELS = ["pointnet2_ssg_op13", "dgcnn_edgeconv_op13", "gat_scatter_op18", "ddim_cfg_step_op14",
          "canine_bytes_op13", "ocr_ctc_greedy_op13", "mdn_quantile_op13", "instantngp_hashgrid_op18",
          "ft_transformer_op14", "sampling_decode_op15", "kalman_script_op13", "dlrm_interact_op13"]

DEFAULT_OUT = "out/bench-models-unseen17"


def _torch():
    import torch
    return torch


def _model(nodes, inits, name, ins, outs, opsets, producer="pytorch", ir=8):
    from onnx import helper
    g = helper.make_graph(nodes, name, ins, outs, inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid(d, v) for d, v in opsets],
                          producer_name=producer)
    if ir:
        m.ir_version = ir
    return m


# ------------------------------------------------------------------ point clouds

def pointnet2():
    torch = _torch()
    nn = torch.nn
    F = torch.nn.functional

    def square_distance(src, dst):
        B, N, _ = src.shape
        _, M, _ = dst.shape
        dist = -2 * torch.matmul(src, dst.permute(0, 2, 1))
        dist += torch.sum(src ** 2, -1).view(B, N, 1)
        dist += torch.sum(dst ** 2, -1).view(B, 1, M)
        return dist

    def index_points(points, idx):
        B = points.shape[0]
        view_shape = list(idx.shape)
        view_shape[1:] = [1] * (len(view_shape) - 1)
        repeat_shape = list(idx.shape)
        repeat_shape[0] = 1
        batch_indices = torch.arange(B, dtype=torch.long).view(view_shape).repeat(repeat_shape)
        return points[batch_indices, idx, :]

    def farthest_point_sample(xyz, npoint):
        B, N, C = xyz.shape
        centroids = torch.zeros(B, npoint, dtype=torch.long)
        distance = torch.ones(B, N) * 1e10
        farthest = torch.zeros(B, dtype=torch.long)
        batch_indices = torch.arange(B, dtype=torch.long)
        for i in range(npoint):
            centroids[:, i] = farthest
            centroid = xyz[batch_indices, farthest, :].view(B, 1, 3)
            dist = torch.sum((xyz - centroid) ** 2, -1)
            distance = torch.min(distance, dist)  # the ONNX-friendly ports' spelling of distance[mask] = dist[mask]
            farthest = torch.max(distance, -1)[1]
        return centroids

    def query_ball_point(radius, nsample, xyz, new_xyz):
        B, N, C = xyz.shape
        _, S, _ = new_xyz.shape
        group_idx = torch.arange(N, dtype=torch.long).view(1, 1, N).repeat([B, S, 1])
        sqrdists = square_distance(new_xyz, xyz)
        group_idx[sqrdists > radius ** 2] = N
        group_idx = group_idx.sort(dim=-1)[0][:, :, :nsample]
        group_first = group_idx[:, :, 0].view(B, S, 1).repeat([1, 1, nsample])
        group_idx = torch.where(group_idx == N, group_first, group_idx)
        return group_idx

    class SA(nn.Module):
        def __init__(self, npoint, radius, nsample, cin, mlp):
            super().__init__()
            self.npoint, self.radius, self.nsample = npoint, radius, nsample
            layers, c = [], cin + 3
            for o in mlp:
                layers += [nn.Conv2d(c, o, 1), nn.BatchNorm2d(o), nn.ReLU()]
                c = o
            self.mlp = nn.Sequential(*layers)

        def forward(self, xyz, points):  # xyz [B, N, 3], points [B, N, D] or None
            B, N, C = xyz.shape
            if self.npoint is None:  # group all
                new_xyz = torch.zeros_like(xyz[:, :1, :])
                grouped = torch.cat([xyz.view(B, 1, N, C), points.view(B, 1, N, -1)], -1)
            else:
                fps_idx = farthest_point_sample(xyz, self.npoint)
                new_xyz = index_points(xyz, fps_idx)
                idx = query_ball_point(self.radius, self.nsample, xyz, new_xyz)
                grouped_xyz = index_points(xyz, idx) - new_xyz.view(B, self.npoint, 1, C)
                if points is not None:
                    grouped = torch.cat([grouped_xyz, index_points(points, idx)], -1)
                else:
                    grouped = grouped_xyz
            new = self.mlp(grouped.permute(0, 3, 2, 1))
            return new_xyz, torch.max(new, 2)[0].permute(0, 2, 1)

    class Net(nn.Module):
        def __init__(self, k=10):
            super().__init__()
            self.sa1 = SA(16, 0.4, 8, 0, [16, 16, 32])
            self.sa2 = SA(8, 0.8, 8, 32, [32, 32, 64])
            self.sa3 = SA(None, None, None, 64, [64, 128])
            self.fc = nn.Sequential(nn.Linear(128, 64), nn.BatchNorm1d(64), nn.ReLU(), nn.Linear(64, k))

        def forward(self, xyz):
            l1_xyz, l1 = self.sa1(xyz, None)
            l2_xyz, l2 = self.sa2(l1_xyz, l1)
            _, l3 = self.sa3(l2_xyz, l2)
            return F.log_softmax(self.fc(l3.view(xyz.shape[0], 128)), -1)

    return Net()


def dgcnn():
    torch = _torch()
    nn = torch.nn

    def knn(x, k):
        inner = -2 * torch.matmul(x.transpose(2, 1), x)
        xx = torch.sum(x ** 2, dim=1, keepdim=True)
        pairwise = -xx - inner - xx.transpose(2, 1)
        return pairwise.topk(k=k, dim=-1)[1]

    def graph_feature(x, k):
        B, C, N = x.size()
        idx = knn(x, k)
        idx_base = torch.arange(0, B).view(-1, 1, 1) * N
        idx = (idx + idx_base).view(-1)
        x = x.transpose(2, 1).contiguous()
        feature = x.view(B * N, -1)[idx, :].view(B, N, k, C)
        x = x.view(B, N, 1, C).repeat(1, 1, k, 1)
        return torch.cat((feature - x, x), dim=3).permute(0, 3, 1, 2).contiguous()

    class Net(nn.Module):
        def __init__(self, k=8, classes=8):
            super().__init__()
            self.k = k
            self.c1 = nn.Sequential(nn.Conv2d(6, 32, 1, bias=False), nn.BatchNorm2d(32), nn.LeakyReLU(0.2))
            self.c2 = nn.Sequential(nn.Conv2d(64, 32, 1, bias=False), nn.BatchNorm2d(32), nn.LeakyReLU(0.2))
            self.c3 = nn.Sequential(nn.Conv1d(64, 64, 1, bias=False), nn.BatchNorm1d(64), nn.LeakyReLU(0.2))
            self.head = nn.Sequential(nn.Linear(128, 64), nn.LeakyReLU(0.2), nn.Linear(64, classes))

        def forward(self, x):  # x [B, 3, N]
            x1 = self.c1(graph_feature(x, self.k)).max(dim=-1, keepdim=False)[0]
            x2 = self.c2(graph_feature(x1, self.k)).max(dim=-1, keepdim=False)[0]
            x = self.c3(torch.cat((x1, x2), dim=1))
            b = x.size(0)
            x = torch.cat((x.max(-1)[0].view(b, -1), x.mean(-1).view(b, -1)), 1)
            return self.head(x)

    return Net()


# ------------------------------------------------------------------ graph nets (onnx.helper)

def gat_scatter_op18():
    from onnx import TensorProto, helper
    inits, nodes, const, node, rng = graph_builder(171)
    fin, heads, hid, classes = 8, 2, 8, 4

    def w(*s):
        return (rng.standard_normal(s) / math.sqrt(s[0])).astype(np.float32)
    const("zero_i", np.array(0, np.int64))
    const("one_i", np.array(1, np.int64))
    const("ax_last", np.array([-1], np.int64))
    node("Gather", ["edge_index", "zero_i"], ["src"], axis=0)
    node("Gather", ["edge_index", "one_i"], ["dst"], axis=0)
    node("Unsqueeze", ["dst", "ax_last"], ["dst_col"])
    node("Shape", ["x"], ["x_shape"])
    node("Slice", ["x_shape", const("s0", np.array([0], np.int64)), const("s1", np.array([1], np.int64))],
         ["n_nodes"])
    h_in = "x"
    for li, (cin, nh, cout, last) in enumerate(((fin, heads, hid, False), (heads * hid, 1, classes, True))):
        p = f"conv{li + 1}"
        node("MatMul", [h_in, const(f"{p}.lin.weight", w(cin, nh * cout))], [f"{p}/h"])
        node("Reshape", [f"{p}/h", const(f"{p}/hshape", np.array([-1, nh, cout], np.int64))], [f"{p}/h3"])
        for side in ("src", "dst"):
            node("Mul", [f"{p}/h3", const(f"{p}.att_{side}", w(1, nh, cout) * 2)], [f"{p}/a_{side}_m"])
            node("ReduceSum", [f"{p}/a_{side}_m", "ax_last"], [f"{p}/alpha_{side}"], keepdims=0)  # [N, nh]
        node("Gather", [f"{p}/alpha_src", "src"], [f"{p}/a_j"], axis=0)  # [E, nh]
        node("Gather", [f"{p}/alpha_dst", "dst"], [f"{p}/a_i"], axis=0)
        node("Add", [f"{p}/a_j", f"{p}/a_i"], [f"{p}/a_sum"])
        node("LeakyRelu", [f"{p}/a_sum"], [f"{p}/e"], alpha=0.2)
        # softmax over the edges of each target node (torch_geometric.utils.softmax)
        node("Shape", [f"{p}/e"], [f"{p}/e_shape"])
        node("Expand", ["dst_col", f"{p}/e_shape"], [f"{p}/dst_e"])
        node("Concat", ["n_nodes", const(f"{p}/nh", np.array([nh], np.int64))], [f"{p}/agg_shape"], axis=0)
        node("ConstantOfShape", [f"{p}/agg_shape"], [f"{p}/zeros"],
             value=helper.make_tensor("v", TensorProto.FLOAT, [1], [0.0]))
        node("ScatterElements", [f"{p}/zeros", f"{p}/dst_e", f"{p}/e"], [f"{p}/e_max"], axis=0, reduction="max")
        node("Gather", [f"{p}/e_max", "dst"], [f"{p}/e_max_i"], axis=0)
        node("Sub", [f"{p}/e", f"{p}/e_max_i"], [f"{p}/e_c"])
        node("Exp", [f"{p}/e_c"], [f"{p}/e_exp"])
        node("ScatterElements", [f"{p}/zeros", f"{p}/dst_e", f"{p}/e_exp"], [f"{p}/e_sum"], axis=0,
             reduction="add")
        node("Gather", [f"{p}/e_sum", "dst"], [f"{p}/e_sum_i"], axis=0)
        node("Add", [f"{p}/e_sum_i", const(f"{p}/eps", np.array(1e-16, np.float32))], [f"{p}/den"])
        node("Div", [f"{p}/e_exp", f"{p}/den"], [f"{p}/alpha"])
        # messages x_j · alpha, summed into the targets (index_add -> ScatterND add)
        node("Gather", [f"{p}/h3", "src"], [f"{p}/x_j"], axis=0)  # [E, nh, cout]
        node("Unsqueeze", [f"{p}/alpha", "ax_last"], [f"{p}/alpha3"])
        node("Mul", [f"{p}/x_j", f"{p}/alpha3"], [f"{p}/msg"])
        node("Concat", ["n_nodes", const(f"{p}/nhc", np.array([nh, cout], np.int64))], [f"{p}/out_shape"], axis=0)
        node("ConstantOfShape", [f"{p}/out_shape"], [f"{p}/out0"],
             value=helper.make_tensor("v", TensorProto.FLOAT, [1], [0.0]))
        node("ScatterND", [f"{p}/out0", "dst_col", f"{p}/msg"], [f"{p}/agg"], reduction="add")
        if last:
            node("ReduceMean", [f"{p}/agg", const(f"{p}/ax1", np.array([1], np.int64))], [f"{p}/mean"],
                 keepdims=0)
            node("Add", [f"{p}/mean", const(f"{p}.bias", w(1, cout)[0] * 0.1)], [f"{p}/out"])
            node("LogSoftmax", [f"{p}/out"], ["log_probs"], axis=-1)
        else:
            node("Reshape", [f"{p}/agg", const(f"{p}/flat", np.array([-1, nh * cout], np.int64))], [f"{p}/cat"])
            node("Add", [f"{p}/cat", const(f"{p}.bias", w(1, nh * cout)[0] * 0.1)], [f"{p}/out"])
            node("Elu", [f"{p}/out"], [f"{p}/act"], alpha=1.0)
            h_in = f"{p}/act"
    ins = [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["num_nodes", fin]),
           helper.make_tensor_value_info("edge_index", TensorProto.INT64, [2, "num_edges"])]
    outs = [helper.make_tensor_value_info("log_probs", TensorProto.FLOAT, ["num_nodes", classes])]
    return _model(nodes, inits, "main_graph", ins, outs, [("", 18)])


# ------------------------------------------------------------------ diffusion

def ddim_cfg():
    torch = _torch()
    nn = torch.nn
    F = torch.nn.functional

    class Block(nn.Module):
        def __init__(self, cin, cout, temb):
            super().__init__()
            self.n1 = nn.GroupNorm(8, cin)
            self.c1 = nn.Conv2d(cin, cout, 3, padding=1)
            self.t = nn.Linear(temb, cout)
            self.n2 = nn.GroupNorm(8, cout)
            self.c2 = nn.Conv2d(cout, cout, 3, padding=1)
            self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

        def forward(self, x, t):
            h = self.c1(F.silu(self.n1(x))) + self.t(F.silu(t))[:, :, None, None]
            return self.skip(x) + self.c2(F.silu(self.n2(h)))

    class Cross(nn.Module):
        def __init__(self, c, ctx):
            super().__init__()
            self.n = nn.GroupNorm(8, c)
            self.attn = nn.MultiheadAttention(c, 2, kdim=ctx, vdim=ctx, batch_first=True)

        def forward(self, x, ctx):
            b, c, h, w = x.shape
            q = self.n(x).flatten(2).transpose(1, 2)
            o = self.attn(q, ctx, ctx, need_weights=False)[0]
            return x + o.transpose(1, 2).reshape(b, c, h, w)

    class UNet(nn.Module):
        def __init__(self, c=32, ctx=24):
            super().__init__()
            self.temb = nn.Sequential(nn.Linear(c, 4 * c), nn.SiLU(), nn.Linear(4 * c, 4 * c))
            self.inc = nn.Conv2d(4, c, 3, padding=1)
            self.d1 = Block(c, c, 4 * c)
            self.down = nn.Conv2d(c, 2 * c, 3, 2, 1)
            self.mid = Block(2 * c, 2 * c, 4 * c)
            self.x = Cross(2 * c, ctx)
            self.up = nn.ConvTranspose2d(2 * c, c, 4, 2, 1)
            self.u1 = Block(2 * c, c, 4 * c)
            self.out = nn.Sequential(nn.GroupNorm(8, c), nn.SiLU(), nn.Conv2d(c, 4, 3, padding=1))
            self.c = c

        def forward(self, x, t, ctx):
            half = self.c // 2
            freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32) / half)
            a = t.to(torch.float32)[:, None] * freqs[None]
            temb = self.temb(torch.cat([torch.cos(a), torch.sin(a)], -1))
            h1 = self.d1(self.inc(x), temb)
            h = self.x(self.mid(self.down(h1), temb), ctx)
            h = self.u1(torch.cat([self.up(h), h1], 1), temb)
            return self.out(h)

    class Step(nn.Module):
        def __init__(self, steps=1000):
            super().__init__()
            self.unet = UNet()
            betas = torch.linspace(0.00085 ** 0.5, 0.012 ** 0.5, steps) ** 2  # scaled_linear
            self.register_buffer("alphas_cumprod", torch.cumprod(1 - betas, 0))
            self.uncond = nn.Parameter(torch.randn(1, 6, 24) * 0.5)
            self.final_alpha = 1.0

        def forward(self, latents, timestep, prev_timestep, context, guidance_scale):
            x = torch.cat([latents, latents])
            ctx = torch.cat([self.uncond.expand(context.shape[0], -1, -1), context])
            t = timestep.expand(x.shape[0])
            eps_u, eps_c = self.unet(x, t, ctx).chunk(2)
            eps = eps_u + guidance_scale * (eps_c - eps_u)
            a_t = self.alphas_cumprod[timestep]
            a_prev = torch.where(prev_timestep >= 0, self.alphas_cumprod[prev_timestep.clamp(min=0)],
                                 torch.full_like(a_t, self.final_alpha))
            a_t = a_t.view(-1, 1, 1, 1)
            a_prev = a_prev.view(-1, 1, 1, 1)
            x0 = ((latents - (1 - a_t).sqrt() * eps) / a_t.sqrt()).clamp(-4, 4)
            prev = a_prev.sqrt() * x0 + (1 - a_prev).sqrt() * eps
            return prev, x0

    return Step()


# ------------------------------------------------------------------ text without a tokenizer

def canine():
    torch = _torch()
    nn = torch.nn
    F = torch.nn.functional

    class Net(nn.Module):
        PRIMES = (31, 43, 59, 61, 73, 97, 103, 113)

        def __init__(self, d=64, buckets=509, rate=4, tags=5, classes=3):
            super().__init__()
            self.tables = nn.ModuleList([nn.Embedding(buckets, d // len(self.PRIMES)) for _ in self.PRIMES])
            self.buckets, self.rate = buckets, rate
            self.local = nn.Conv1d(d, d, 3, padding=1)
            self.down = nn.Conv1d(d, d, rate, stride=rate)
            self.enc = nn.TransformerEncoderLayer(d, 4, 2 * d, dropout=0.0, batch_first=True)
            self.up = nn.Conv1d(2 * d, d, 3, padding=1)
            self.ln = nn.LayerNorm(d)
            self.tag = nn.Linear(d, tags)
            self.cls = nn.Linear(d, classes)

        def forward(self, bytes_):
            ids = bytes_.to(torch.int64) + 1
            emb = torch.cat([t((ids * p) % self.buckets) for t, p in zip(self.tables, self.PRIMES)], -1)
            chars = F.gelu(self.local(emb.transpose(1, 2)))  # [N, d, L]
            length = chars.shape[2]
            pad = (self.rate - length % self.rate) % self.rate
            mol = self.down(F.pad(chars, [0, pad]))
            mol = self.enc(mol.transpose(1, 2))  # [N, L/rate, d]
            up = torch.repeat_interleave(mol, self.rate, dim=1)[:, :length].transpose(1, 2)
            h = self.ln(self.up(torch.cat([chars, up], 1)).transpose(1, 2))
            return self.tag(h), self.cls(mol[:, 0])

    return Net()


# ------------------------------------------------------------------ OCR with the decoder

def ocr_ctc():
    torch = _torch()
    nn = torch.nn
    F = torch.nn.functional

    def cbr(cin, cout, pool):
        return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(),
                             nn.MaxPool2d(pool, pool))

    class Net(nn.Module):
        def __init__(self, classes=37):
            super().__init__()
            self.body = nn.Sequential(cbr(1, 16, (2, 2)), cbr(16, 32, (2, 2)), cbr(32, 48, (2, 1)),
                                      cbr(48, 64, (2, 1)))
            self.seq = nn.Conv1d(64 * 2, 64, 3, padding=1)
            self.fc = nn.Linear(64, classes)

        def forward(self, image):  # [1, 1, 32, W]
            f = self.body(image)  # [1, 64, 2, W/4]
            b, c, h, w = f.shape
            f = F.relu(self.seq(f.reshape(b, c * h, w)))
            logp = F.log_softmax(self.fc(f.transpose(1, 2)), -1)[0]  # [T, classes]
            best, idx = logp.max(-1)
            prev = torch.cat([torch.full_like(idx[:1], -1), idx[:-1]])
            keep = (idx != 0) & (idx != prev)
            tokens = torch.masked_select(idx, keep)
            confidence = torch.exp(best.sum())
            return logp, tokens, confidence

    return Net()


# ------------------------------------------------------------------ distribution heads

def mdn_quantile():
    torch = _torch()
    nn = torch.nn
    F = torch.nn.functional
    D = torch.distributions

    class Net(nn.Module):
        QUANTILES = (0.1, 0.5, 0.9)

        def __init__(self, f=16, k=3):
            super().__init__()
            self.body = nn.Sequential(nn.Linear(f, 64), nn.LayerNorm(64), nn.ELU(), nn.Linear(64, 64), nn.ELU())
            self.mix = nn.Linear(64, 3 * k)
            self.q = nn.Linear(64, len(self.QUANTILES))
            self.k = k
            self.register_buffer("levels", torch.tensor(self.QUANTILES))

        def forward(self, x, y):
            h = self.body(x)
            logits, mu, s = self.mix(h).split(self.k, -1)
            sigma = F.softplus(s) + 1e-3
            mix = D.MixtureSameFamily(D.Categorical(logits=logits, validate_args=False),
                                      D.Normal(mu, sigma, validate_args=False), validate_args=False)
            nll = -mix.log_prob(y)
            pit = mix.cdf(y)
            mean = mix.mean
            raw = self.q(h)
            qs = torch.cat([raw[:, :1], raw[:, :1] + torch.cumsum(F.softplus(raw[:, 1:]), -1)], -1)
            err = y[:, None] - qs
            pinball = torch.max(self.levels * err, (self.levels - 1) * err).mean(-1)
            return nll, pit, mean, qs, pinball

    return Net()


# ------------------------------------------------------------------ NeRF hash grid (onnx.helper)

def instantngp_hashgrid_op18():
    from onnx import TensorProto, helper
    inits, nodes, const, node, rng = graph_builder(172)
    T, feat = 256, 2
    res = (4, 8, 16, 32)
    corners = np.array([[(c >> 2) & 1, (c >> 1) & 1, c & 1] for c in range(8)], np.int64)  # [8, 3]
    const("corners", corners[None])
    const("corners_f", corners[None].astype(np.float32))
    const("one_f", np.array(1.0, np.float32))
    const("ax_last", np.array([-1], np.int64))
    const("ax1", np.array([1], np.int64))
    for a in range(3):
        const(f"sl{a}", np.array([a], np.int64))
        const(f"sl{a}e", np.array([a + 1], np.int64))
    primes = (1, 2654435761, 805459861)
    feats = []
    for li, r in enumerate(res):
        p = f"encoder/level{li}"
        node("Mul", ["xyz", const(f"{p}/res", np.array(r, np.float32))], [f"{p}/s"])
        node("Floor", [f"{p}/s"], [f"{p}/fl"])
        node("Sub", [f"{p}/s", f"{p}/fl"], [f"{p}/frac"])
        node("Cast", [f"{p}/fl"], [f"{p}/base"], to=TensorProto.INT64)
        node("Unsqueeze", [f"{p}/base", "ax1"], [f"{p}/base1"])
        node("Add", [f"{p}/base1", "corners"], [f"{p}/cells"])  # [N, 8, 3]
        coords = []
        for a in range(3):
            node("Slice", [f"{p}/cells", f"sl{a}", f"sl{a}e", "ax_last"], [f"{p}/c{a}"])
            coords.append(f"{p}/c{a}")
        if (r + 1) ** 3 <= T:  # dense grid on the coarse level
            node("Mul", [coords[1], const(f"{p}/st1", np.array(r + 1, np.int64))], [f"{p}/d1"])
            node("Mul", [coords[2], const(f"{p}/st2", np.array((r + 1) ** 2, np.int64))], [f"{p}/d2"])
            node("Add", [coords[0], f"{p}/d1"], [f"{p}/d01"])
            node("Add", [f"{p}/d01", f"{p}/d2"], [f"{p}/idx3"])
        else:
            prods = []
            for a in range(3):
                node("Mul", [coords[a], const(f"{p}/prime{a}", np.array(primes[a], np.int64))], [f"{p}/h{a}"])
                prods.append(f"{p}/h{a}")
            node("BitwiseXor", [prods[0], prods[1]], [f"{p}/x01"])
            node("BitwiseXor", [f"{p}/x01", prods[2]], [f"{p}/x012"])
            node("BitwiseAnd", [f"{p}/x012", const(f"{p}/mask", np.array(T - 1, np.int64))], [f"{p}/idx3"])
        node("Squeeze", [f"{p}/idx3", "ax_last"], [f"{p}/idx"])  # [N, 8]
        table = (rng.uniform(-1, 1, (T, feat))).astype(np.float32)
        node("Gather", [const(f"encoder.embeddings.{li}", table), f"{p}/idx"], [f"{p}/g"], axis=0)  # [N, 8, F]
        node("Unsqueeze", [f"{p}/frac", "ax1"], [f"{p}/f1"])  # [N, 1, 3]
        node("Mul", ["corners_f", f"{p}/f1"], [f"{p}/wa"])
        node("Sub", ["one_f", "corners_f"], [f"{p}/nc"])
        node("Sub", ["one_f", f"{p}/f1"], [f"{p}/nf"])
        node("Mul", [f"{p}/nc", f"{p}/nf"], [f"{p}/wb"])
        node("Add", [f"{p}/wa", f"{p}/wb"], [f"{p}/w3"])
        node("ReduceProd", [f"{p}/w3", "ax_last"], [f"{p}/w"], keepdims=1)  # [N, 8, 1]
        node("Mul", [f"{p}/g", f"{p}/w"], [f"{p}/gw"])
        node("ReduceSum", [f"{p}/gw", "ax1"], [f"{p}/feat"], keepdims=0)  # [N, F]
        feats.append(f"{p}/feat")
    node("Concat", feats, ["encoder/out"], axis=-1)
    h, c = "encoder/out", len(res) * feat
    for i, o in enumerate((32, 32, 4)):
        wt = (rng.standard_normal((c, o)) * math.sqrt(2.0 / c)).astype(np.float32)
        node("MatMul", [h, const(f"mlp.{i}.weight", wt)], [f"mlp/{i}/mm"])
        node("Add", [f"mlp/{i}/mm", const(f"mlp.{i}.bias", (rng.standard_normal(o) * 0.1).astype(np.float32))],
             [f"mlp/{i}/out"])
        if i < 2:
            node("Relu", [f"mlp/{i}/out"], [f"mlp/{i}/act"])
            h = f"mlp/{i}/act"
        c = o
    node("Split", ["mlp/2/out", const("split_sizes", np.array([3, 1], np.int64))], ["rgb_raw", "sigma_raw"], axis=-1)
    node("Sigmoid", ["rgb_raw"], ["rgb"])
    node("Softplus", ["sigma_raw"], ["density"])
    ins = [helper.make_tensor_value_info("xyz", TensorProto.FLOAT, ["N", 3])]
    outs = [helper.make_tensor_value_info("rgb", TensorProto.FLOAT, ["N", 3]),
            helper.make_tensor_value_info("density", TensorProto.FLOAT, ["N", 1])]
    return _model(nodes, inits, "main_graph", ins, outs, [("", 18)])


# ------------------------------------------------------------------ tabular

def ft_transformer():
    torch = _torch()
    nn = torch.nn
    F = torch.nn.functional

    class Block(nn.Module):
        def __init__(self, d, first):
            super().__init__()
            self.n1 = nn.Identity() if first else nn.LayerNorm(d)
            self.attn = nn.MultiheadAttention(d, 4, batch_first=True)
            self.n2 = nn.LayerNorm(d)
            self.ff1 = nn.Linear(d, 2 * 2 * d)
            self.ff2 = nn.Linear(2 * d, d)

        def forward(self, x):
            h = self.n1(x)
            x = x + self.attn(h, h, h, need_weights=False)[0]
            a, b = self.ff1(self.n2(x)).chunk(2, -1)
            return x + self.ff2(a * F.relu(b))  # ReGLU

    class Net(nn.Module):
        def __init__(self, n_num=6, cards=(5, 7, 4), d=32, classes=3):
            super().__init__()
            self.num_w = nn.Parameter(torch.randn(n_num, d) / math.sqrt(d))
            self.num_b = nn.Parameter(torch.randn(n_num, d) / math.sqrt(d))
            self.register_buffer("offsets", torch.tensor([0] + list(np.cumsum(cards)[:-1]), dtype=torch.long))
            self.cat = nn.Embedding(sum(cards), d)
            self.cat_b = nn.Parameter(torch.randn(len(cards), d) / math.sqrt(d))
            self.cls = nn.Parameter(torch.randn(1, 1, d) / math.sqrt(d))
            self.blocks = nn.ModuleList([Block(d, i == 0) for i in range(2)])
            self.head = nn.Sequential(nn.LayerNorm(d), nn.ReLU(), nn.Linear(d, classes))

        def forward(self, x_num, x_cat):
            num = self.num_w[None] * x_num[..., None] + self.num_b[None]
            cat = self.cat(x_cat + self.offsets[None]) + self.cat_b[None]
            x = torch.cat([self.cls.expand(x_num.shape[0], -1, -1), num, cat], 1)
            for b in self.blocks:
                x = b(x)
            return self.head(x[:, 0])

    return Net()


# ------------------------------------------------------------------ sampling decoder step

def sampling_decode():
    torch = _torch()
    nn = torch.nn
    F = torch.nn.functional

    class Net(nn.Module):
        def __init__(self, vocab=96, d=48, top_k=12, penalty=1.3):
            super().__init__()
            self.tok = nn.Embedding(vocab, d)
            self.pos = nn.Embedding(64, d)
            self.ln1 = nn.LayerNorm(d)
            self.attn = nn.MultiheadAttention(d, 4, batch_first=True)
            self.ln2 = nn.LayerNorm(d)
            self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))
            self.lnf = nn.LayerNorm(d)
            self.lm = nn.Linear(d, vocab, bias=False)
            self.top_k, self.penalty = top_k, penalty

        def forward(self, input_ids, temperature, top_p):
            s = input_ids.shape[1]
            x = self.tok(input_ids) + self.pos(torch.arange(s).unsqueeze(0))
            mask = torch.triu(torch.full((s, s), float("-inf")), 1)
            h = self.ln1(x)
            x = x + self.attn(h, h, h, attn_mask=mask, need_weights=False)[0]
            x = x + self.mlp(self.ln2(x))
            scores = self.lm(self.lnf(x))[:, -1, :]  # [1, V]
            # RepetitionPenaltyLogitsProcessor
            seen = torch.gather(scores, 1, input_ids)
            seen = torch.where(seen < 0, seen * self.penalty, seen / self.penalty)
            scores = scores.scatter(1, input_ids, seen)
            # TemperatureLogitsWarper
            scores = scores / temperature
            # TopKLogitsWarper
            kth = torch.topk(scores, self.top_k)[0][..., -1, None]
            scores = scores.masked_fill(scores < kth, float("-inf"))
            # TopPLogitsWarper (descending)
            sorted_logits, sorted_idx = torch.sort(scores, descending=True)
            cum = sorted_logits.softmax(-1).cumsum(-1)
            remove = cum > top_p
            remove = torch.cat([torch.zeros_like(remove[..., :1]), remove[..., :-1]], -1)
            remove = remove.scatter(1, sorted_idx, remove)
            scores = scores.masked_fill(remove, float("-inf"))
            probs = F.softmax(scores, -1)
            next_token = torch.multinomial(probs, 1)
            return next_token, probs

    return Net()


# ------------------------------------------------------------------ Kalman filter (scripted)

def kalman():
    torch = _torch()
    nn = torch.nn

    class Motion(nn.Module):
        def __init__(self):
            super().__init__()
            self.f = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 4))
            with torch.no_grad():
                self.f[2].weight.mul_(0.05)
                self.f[2].bias.zero_()

        def forward(self, x):
            return self.f(x)

    class Filter(nn.Module):
        def __init__(self, dt: float = 0.1):
            super().__init__()
            self.motion = Motion()
            self.register_buffer("F", torch.tensor([[1, 0, dt, 0], [0, 1, 0, dt], [0, 0, 1, 0], [0, 0, 0, 1.0]]))
            self.register_buffer("H", torch.tensor([[1, 0, 0, 0], [0, 1, 0, 0.0]]))
            self.log_q = nn.Parameter(torch.tensor([-4.0, -4.0, -2.0, -2.0]))
            self.log_r = nn.Parameter(torch.tensor([-2.0, -2.5]))

        def forward(self, z, x0):
            # z [T, 2] measurements, x0 [4] initial state
            x = x0
            I4 = torch.eye(4)
            P = I4 * 1.0
            Q = I4 * torch.exp(self.log_q)[None, :]
            R = torch.eye(2) * torch.exp(self.log_r)[None, :]
            states = []
            nll = torch.zeros(1)
            for t in range(z.shape[0]):
                x = torch.matmul(self.F, x) + self.motion(x)
                P = torch.matmul(torch.matmul(self.F, P), self.F.t()) + Q
                y = z[t] - torch.matmul(self.H, x)
                S = torch.matmul(torch.matmul(self.H, P), self.H.t()) + R
                det = S[0, 0] * S[1, 1] - S[0, 1] * S[1, 0]
                adj = torch.stack([torch.stack([S[1, 1], -S[0, 1]]), torch.stack([-S[1, 0], S[0, 0]])])
                S_inv = adj / det
                K = torch.matmul(torch.matmul(P, self.H.t()), S_inv)
                x = x + torch.matmul(K, y)
                P = torch.matmul(I4 - torch.matmul(K, self.H), P)
                nll = nll + 0.5 * (torch.log(det) + torch.dot(y, torch.matmul(S_inv, y)))
                states.append(x)
            return torch.stack(states), nll

    return torch.jit.script(Filter())


# ------------------------------------------------------------------ recommendation

def dlrm():
    torch = _torch()
    nn = torch.nn

    class Net(nn.Module):
        def __init__(self, dense=13, rows=(40, 25, 60), d=16):
            super().__init__()
            self.bot = nn.Sequential(nn.Linear(dense, 32), nn.ReLU(), nn.Linear(32, d), nn.ReLU())
            self.embs = nn.ModuleList([nn.EmbeddingBag(r, d, mode="sum") for r in rows])
            n = len(rows) + 1
            li, lj = np.tril_indices(n, -1)
            self.register_buffer("li", torch.tensor(li, dtype=torch.long))
            self.register_buffer("lj", torch.tensor(lj, dtype=torch.long))
            self.top = nn.Sequential(nn.Linear(d + n * (n - 1) // 2, 32), nn.ReLU(), nn.Linear(32, 1))

        def forward(self, dense, sparse0, sparse1, sparse2):
            x = self.bot(dense)
            ly = [e(s) for e, s in zip(self.embs, (sparse0, sparse1, sparse2))]
            T = torch.stack([x] + ly, 1)  # [N, 4, d]
            Z = torch.bmm(T, T.transpose(1, 2))
            Zflat = Z[:, self.li, self.lj]
            return torch.sigmoid(self.top(torch.cat([x, Zflat], 1)))

    return Net()


# ------------------------------------------------------------------ samples

def _cloud(name, layout, p, p_alt, n=1, n_alt=2):
    def gen(rng, alt):
        pts = rng.uniform(-1, 1, (n_alt if alt else n, p_alt if alt else p, 3)).astype(np.float32)
        return {name: pts.transpose(0, 2, 1).copy() if layout == "BCN" else pts}
    return gen


def _graph(rng, alt):
    n, e = (9, 20) if alt else (14, 40)
    src = rng.integers(0, n, e)
    dst = rng.integers(0, n, e)
    loops = np.arange(n)  # self loops, as GATConv adds them
    ei = np.stack([np.concatenate([src, loops]), np.concatenate([dst, loops])]).astype(np.int64)
    # one whole graph per file: a leading axis of 1 (warboy's data layout for a whole input)
    return {"x": rng.standard_normal((1, n, 8)).astype(np.float32), "edge_index": ei[None]}


def _ddim(rng, alt):
    h, w = (8, 12) if alt else (16, 16)
    t = 981 if alt else 501
    return {"latents": rng.standard_normal((1, 4, h, w)).astype(np.float32),
            "timestep": np.array([t], np.int64), "prev_timestep": np.array([t - 20 if alt else -1], np.int64),
            "context": rng.standard_normal((1, 6, 24)).astype(np.float32),
            "guidance_scale": np.array([7.5], np.float32)}


def _bytes(rng, alt):
    n, ln = (1, 13) if alt else (2, 24)
    return {"bytes": rng.integers(32, 127, (n, ln)).astype(np.uint8)}


def _line(rng, alt):
    return {"image": rng.random((1, 1, 32, 72 if alt else 96)).astype(np.float32)}


def _mdn(rng, alt):
    n = 5 if alt else 16
    return {"x": rng.standard_normal((n, 16)).astype(np.float32),
            "y": (rng.standard_normal(n) * 0.8).astype(np.float32)}


def _xyz(rng, alt):
    return {"xyz": rng.random((37 if alt else 64, 3)).astype(np.float32)}


def _tab(rng, alt):
    n = 5 if alt else 16
    return {"x_num": rng.standard_normal((n, 6)).astype(np.float32),
            "x_cat": np.stack([rng.integers(0, c, n) for c in (5, 7, 4)], 1).astype(np.int64)}


def _ids(rng, alt):
    s = 7 if alt else 12
    return {"input_ids": rng.integers(0, 96, (1, s)).astype(np.int64),
            "temperature": np.array([0.7], np.float32),
            "top_p": np.array([0.0], np.float32)}  # one token kept: a deterministic draw


def _track(rng, alt):
    t = 9 if alt else 20
    v = np.array([0.5, -0.3])
    path = np.arange(t)[:, None] * 0.1 * v + rng.standard_normal((t, 2)) * 0.05
    # one whole track per file: a leading axis of 1 (warboy's data layout for a whole input)
    return {"z": path.astype(np.float32)[None], "x0": np.array([[0, 0, 0.4, -0.2]], np.float32)}


def _ctr(rng, alt):
    n = 3 if alt else 8
    out = {"dense": np.log1p(rng.exponential(3.0, (n, 13))).astype(np.float32)}
    for i, r in enumerate((40, 25, 60)):
        out[f"sparse{i}"] = rng.integers(0, r, (n, 3)).astype(np.int64)
    return out


# name -> (builder, opset, input generator gen(rng, alt) -> {name: array}, outputs,
#          dynamic axes, inputs kept as drawn in every sample)
SPECS = {
    "pointnet2_ssg_op13": (pointnet2, 13, _cloud("xyz", "BNC", 128, 96, n_alt=1), ["log_probs"], {"xyz": {1: "P"}}, set()),
    "dgcnn_edgeconv_op13": (dgcnn, 13, _cloud("points", "BCN", 96, 64), ["logits"],
                            {"points": {0: "B", 2: "P"}, "logits": {0: "B"}}, set()),
    "gat_scatter_op18": ("helper", 18, _graph, None, None, set()),
    "ddim_cfg_step_op14": (ddim_cfg, 14, _ddim, ["prev_latents", "pred_x0"],
                           {"latents": {2: "H", 3: "W"}, "prev_latents": {2: "H", 3: "W"},
                            "pred_x0": {2: "H", 3: "W"}}, {"timestep", "prev_timestep", "guidance_scale"}),
    "canine_bytes_op13": (canine, 13, _bytes, ["tag_logits", "class_logits"],
                          {"bytes": {0: "N", 1: "L"}, "tag_logits": {0: "N", 1: "L"}, "class_logits": {0: "N"}},
                          set()),
    "ocr_ctc_greedy_op13": (ocr_ctc, 13, _line, ["log_probs", "tokens", "confidence"],
                            {"image": {3: "W"}, "log_probs": {0: "T"}, "tokens": {0: "K"}}, set()),
    "mdn_quantile_op13": (mdn_quantile, 13, _mdn, ["nll", "pit", "mean", "quantiles", "pinball"],
                          {"x": {0: "N"}, "y": {0: "N"}, "nll": {0: "N"}, "pit": {0: "N"}, "mean": {0: "N"},
                           "quantiles": {0: "N"}, "pinball": {0: "N"}}, set()),
    "instantngp_hashgrid_op18": ("helper", 18, _xyz, None, None, set()),
    "ft_transformer_op14": (ft_transformer, 14, _tab, ["logits"],
                            {"x_num": {0: "N"}, "x_cat": {0: "N"}, "logits": {0: "N"}}, set()),
    "sampling_decode_op15": (sampling_decode, 15, _ids, ["next_token", "probs"], {"input_ids": {1: "S"}},
                             {"temperature", "top_p"}),
    "kalman_script_op13": (kalman, 13, _track, ["states", "nll"], {"z": {0: "T"}, "states": {0: "T"}}, {"x0"}),
    "dlrm_interact_op13": (dlrm, 13, _ctr, ["ctr"],
                           {"dense": {0: "N"}, "sparse0": {0: "N"}, "sparse1": {0: "N"}, "sparse2": {0: "N"},
                            "ctr": {0: "N"}}, set()),
}

WHOLE = {"gat_scatter_op18", "kalman_script_op13"}  # samples saved with a leading axis of 1
HELPER = {"gat_scatter_op18": gat_scatter_op18, "instantngp_hashgrid_op18": instantngp_hashgrid_op18}
# The onnx package here (1.12) checks graphs up to opset 17: the opset-18 helper graphs are not checked.


def export(name, out):
    """Export NAME to OUT/NAME.onnx with its samples; returns the path."""
    builder, opset, gen, outs, axes, keep = SPECS[name]
    rng = np.random.default_rng(53)

    def draw(alt):
        return gen(rng, alt)
    first = draw(False)
    samples = [first]
    for _ in range(3):
        fresh = draw(False)
        varied = {k: (None if k in keep else vary(v, rng)) for k, v in first.items()}
        samples.append({k: (fresh[k] if v is None else v) for k, v in varied.items()})
    path = os.path.join(out, name + ".onnx")
    if builder == "helper":
        import onnx
        m = HELPER[name]()
        onnx.save(m, path + ".tmp")
        os.replace(path + ".tmp", path)
    else:
        torch = _torch()
        torch.manual_seed(0)
        model = builder()
        if not isinstance(model, torch.jit.ScriptModule):
            model = randomise_norms(model)
        model.eval()
        xs = [torch.from_numpy(v[0] if name in WHOLE else v) for v in first.values()]
        exportlib.torch_export(model, xs, path, opset, list(first), outs, axes)
    d = os.path.join(out, "data", name)
    os.makedirs(d, exist_ok=True)
    for i, s in enumerate(samples):
        np.savez(os.path.join(d, f"s{i}.npz"), **s)
    np.savez(os.path.join(out, "data", name + ".in.npz"), **samples[0])
    np.savez(os.path.join(out, "data", name + ".alt.npz"), **draw(True))
    print(f"{path}: {os.path.getsize(path) / 1e6:.2f} MB, opset {opset}", flush=True)
    return path


def export_main(args):
    """Export args.models (default MODELS) to args.out (default
    out/bench-models-unseen17); returns the process exit code."""
    return exportlib.export_all(exportlib.model_names(args.models, MODELS), export, args.out or DEFAULT_OUT)


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
