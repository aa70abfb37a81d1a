#!/usr/bin/python3
"""The --unseen18 export set (twenty-third session): model families and exporter
spellings none of the earlier sets (--unseen .. --unseen17, --detection, --audio,
--darknet, --extra) has, for triage of the whole workflow (scripts/triage_unseen18.sh:
inspect, run against ONNX Runtime, quantize, int8 against ONNX Runtime, sim,
bench cpu --ort).

    /usr/bin/python3 scripts/export_benchmodels.py --unseen18 [--models a,b] [--out DIR]
    /usr/bin/python3 scripts/unseen18_models.py export [--models a,b] [--out DIR]      (the same)
    /usr/bin/python3 scripts/unseen18_models.py ortcheck MODEL.onnx INPUT.npz OURS.npz [MIN_SQNR] [--threads T]

Random weights (normalisation statistics and affines randomised), nothing
downloaded. Every model NAME is written as DIR/NAME.onnx (default DIR
out/bench-models-unseen18) with four samples DIR/data/NAME/s{0..3}.npz (one
array per input name), DIR/data/NAME.in.npz (sample 0) and DIR/data/NAME.alt.npz (an
input at other sizes).

The models (MODELS below; a suffix _opN is the export opset):
- sam_decoder_op16: Segment Anything's prompt encoder and mask decoder as its
  scripts/export_onnx_model.py writes them (SamOnnxModel): points embedded by
  random Fourier features with the label tests (label == -1, == 0, == 1 as
  float masks), the mask prompt gated by a has_mask_input input, a two-way
  transformer (token-to-image and image-to-token attention at half width),
  ConvTranspose upscaling with a channel LayerNorm, hypernetwork MLPs whose
  outputs multiply the upscaled embedding, the IoU head, the best mask chosen by
  argmax of a score that depends on the number of points (a symbolic size), and
  the post-processing Resize to the longest side, a crop to the pre-padded size
  and a **Resize to orig_im_size, a float input** (output sizes from data);
  symbolic N points.
- tf2onnx_ssd_nms_op13: an onnx.helper graph in tf2onnx's spelling of a TF Object
  Detection API SSD: an NHWC input with Transposes around each Conv, Relu6 as Clip,
  the Faster R-CNN box coder (Split, Exp, anchors), and **per-class NMS in a Loop**
  (tf.map_fn): NonMaxSuppression on captured outer values, int32 indices cast back
  to int64, results padded to a fixed count by Pad with sizes from Shape, scan
  outputs; then TopK over all classes, tf.where as NonZero + Transpose for the
  detection count; float num_detections.
- ecapa_tdnn_dynT_op13: SpeechBrain's ECAPA-TDNN speaker embedding on filterbank
  features [N, T, 40] with relative lengths: SE-Res2Net blocks (a chunk chain
  y_i = conv(x_i + y_{i-1}) with dilations 2-4), squeeze-excitation, the
  multi-layer aggregation, **attentive statistics pooling** with a length mask
  from the lengths input (arange < lengths·T), masked mean and std with the global
  context repeated over T, softmax over time, weighted mean and sqrt(clamp(var));
  symbolic N, T.
- mamba2_ssd_op14: two Mamba-2 blocks with the **chunked state-space duality**
  (ssd_minimal_discrete): padding the length to a multiple of the chunk from the
  runtime length, segsum by a repeated cumulative sum with Trilu masks and -inf
  fills, exp, **four-operand Einsums**, the inter-chunk state recurrence by a
  segsum over chunk ends, a causal depthwise Conv1d, softplus dt, the gated RMSNorm;
  symbolic T.
- switch_moe_op13: a Switch Transformer layer: top-1 routing with a **capacity
  from the runtime token count** (ceil(S·1.25/E) by Shape arithmetic), positions in
  each expert by a cumulative sum of the one-hot route, tokens over capacity
  dropped, the dispatch tensor by comparison with a Range, expert FFNs as batched
  Einsums over [E, capacity, d], the combine Einsum and the load-balancing loss;
  symbolic T.
- efficientvit_mla_dynhw_op13: EfficientViT's lite multi-scale linear attention:
  qkv by a 1x1 conv, multi-scale aggregation (5x5 depthwise, grouped 1x1), **ReLU
  linear attention** with v padded by a column of ones (Pad value 1) and the
  division by the last column, hard-swish MBConvs; symbolic H, W.
- loftr_coarse_op13: LoFTR's coarse matching on two grey images: a stride-8 CNN,
  a sine position encoding sliced to the feature size, self/cross **linear
  attention** (elu + 1 feature maps, Einsums with a 1/Z normaliser), the
  **dual-softmax** confidence matrix, mutual nearest neighbours (conf equal to its
  row and column maxima, above a threshold), the matches by NonZero (data-dependent
  count), keypoints by modulo and integer division; symbolic H, W.
- glow_flow_op13: a Glow normalising flow (one level): squeeze by Reshape/Transpose,
  ActNorm, the LU-decomposed invertible 1x1 convolution (the weight computed in the
  graph from P, L, U, sign(s), log|s|), affine coupling with a sigmoid scale and
  strided channel slices, the split prior, and the **log-determinant and log-prior
  per sample** (Log, sums over C, H, W); symbolic N.
- tflite_qdq_uint8_op13: an onnx.helper graph as tf2onnx writes a TFLite
  **uint8-quantized** MobileNet block: uint8 NHWC input, asymmetric uint8 weights
  with non-zero zero points (legacy TFLite), int8 per-channel depthwise weights,
  int32 biases, Relu6 folded into the uint8 output range (no activation node), a
  residual Add between two quantized ranges, an average pool, a Transpose to NHWC
  before the flatten, a FullyConnected MatMul and a quantized Softmax (scale 1/256).
- train_bn_op9: torch.onnx.export with training=TrainingMode.TRAINING at opset 9:
  **BatchNormalization with its five outputs** (the running and saved statistics as
  extra outputs no one reads), Dropout with its mask output, Pad-2 attributes
  (reflect), Upsample-9 with scales; ONNX inference semantics (running statistics,
  identity Dropout).
- slot_attention_op13: Slot Attention (object-centric learning): a CNN encoder with a
  soft position embedding, slots from mu + sigma·noise (the noise an input), three
  iterations of **softmax over the slot axis**, weighted mean normalised by the
  attention sum, GRUCell update and a residual MLP, and the spatial broadcast
  decoder with a softmax over slots to combine the reconstructions; symbolic N.
- xlstm_mlstm_op14: xLSTM's mLSTM block in its parallel form: log-sigmoid forget
  gates, their cumulative sum differenced into a decay matrix, Trilu mask and -inf,
  the row maximum stabiliser, exp, the normaliser max(|sum|, exp(-max)), a causal
  Conv1d, headwise GroupNorm, a learnable skip and output gate; symbolic T.
"""
import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import exportlib  # noqa: E402  (beside this script)
from unseen11_models import graph_builder, vary  # noqa: E402  (the same helpers)
from unseen12_models import randomise_norms  # noqa: E402

MODELS = ["sam_decoder_op16", "tf2onnx_ssd_nms_op13", "ecapa_tdnn_dynT_op13", "mamba2_ssd_op14",
          "switch_moe_op13", "efficientvit_mla_dynhw_op13", "loftr_coarse_op13", "glow_flow_op13",
          "tflite_qdq_uint8_op13", "train_bn_op9", "slot_attention_op13", "xlstm_mlstm_op14"]

DEFAULT_OUT = "out/bench-models-unseen18"


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


# ------------------------------------------------------------------ Segment Anything decoder

def sam_decoder():
    torch = _torch()
    nn = torch.nn
    F = torch.nn.functional

    class LayerNorm2d(nn.Module):
        def __init__(self, c, eps=1e-6):
            super().__init__()
            self.weight = nn.Parameter(1 + 0.2 * torch.randn(c))
            self.bias = nn.Parameter(0.1 * torch.randn(c))
            self.eps = eps

        def forward(self, x):
            u = x.mean(1, keepdim=True)
            s = (x - u).pow(2).mean(1, keepdim=True)
            x = (x - u) / torch.sqrt(s + self.eps)
            return self.weight[:, None, None] * x + self.bias[:, None, None]

    class Attention(nn.Module):
        def __init__(self, d, heads, down=1):
            super().__init__()
            self.inner, self.heads = d // down, heads
            self.q_proj = nn.Linear(d, self.inner)
            self.k_proj = nn.Linear(d, self.inner)
            self.v_proj = nn.Linear(d, self.inner)
            self.out_proj = nn.Linear(self.inner, d)

        def sep(self, x):
            b, n, c = x.shape
            return x.reshape(b, n, self.heads, c // self.heads).transpose(1, 2)

        def forward(self, q, k, v):
            q, k, v = self.sep(self.q_proj(q)), self.sep(self.k_proj(k)), self.sep(self.v_proj(v))
            attn = torch.softmax(q @ k.permute(0, 1, 3, 2) / math.sqrt(q.shape[-1]), -1)
            out = (attn @ v).transpose(1, 2)
            b, n, h, c = out.shape
            return self.out_proj(out.reshape(b, n, h * c))

    class MLP(nn.Module):
        def __init__(self, i, h, o, n):
            super().__init__()
            dims = [i] + [h] * (n - 1)
            self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims, dims[1:] + [o]))

        def forward(self, x):
            for j, layer in enumerate(self.layers):
                x = F.relu(layer(x)) if j < len(self.layers) - 1 else layer(x)
            return x

    class TwoWayBlock(nn.Module):
        def __init__(self, d, heads, skip_pe):
            super().__init__()
            self.self_attn = Attention(d, heads)
            self.norm1 = nn.LayerNorm(d)
            self.t2i = Attention(d, heads, 2)
            self.norm2 = nn.LayerNorm(d)
            self.mlp = nn.Sequential(nn.Linear(d, 2 * d), nn.ReLU(), nn.Linear(2 * d, d))
            self.norm3 = nn.LayerNorm(d)
            self.norm4 = nn.LayerNorm(d)
            self.i2t = Attention(d, heads, 2)
            self.skip_pe = skip_pe

        def forward(self, q, k, qpe, kpe):
            if self.skip_pe:
                q = self.self_attn(q, q, q)
            else:
                qq = q + qpe
                q = q + self.self_attn(qq, qq, q)
            q = self.norm1(q)
            qq, kk = q + qpe, k + kpe
            q = self.norm2(q + self.t2i(qq, kk, k))
            q = self.norm3(q + self.mlp(q))
            qq = q + qpe
            k = self.norm4(k + self.i2t(kk, qq, q))
            return q, k

    class SamOnnx(nn.Module):
        def __init__(self, d=32, emb=16, img=256, masks=4):
            super().__init__()
            self.img, self.emb, self.nmask = img, emb, masks
            self.register_buffer("gauss", torch.randn(2, d // 2))
            self.point_embeddings = nn.ModuleList(nn.Embedding(1, d) for _ in range(4))
            self.not_a_point = nn.Embedding(1, d)
            self.no_mask = nn.Embedding(1, d)
            self.mask_down = nn.Sequential(nn.Conv2d(1, 4, 2, 2), LayerNorm2d(4), nn.GELU(),
                                           nn.Conv2d(4, 16, 2, 2), LayerNorm2d(16), nn.GELU(), nn.Conv2d(16, d, 1))
            self.iou_token = nn.Embedding(1, d)
            self.mask_tokens = nn.Embedding(masks, d)
            self.blocks = nn.ModuleList([TwoWayBlock(d, 4, True), TwoWayBlock(d, 4, False)])
            self.final = Attention(d, 4, 2)
            self.norm_final = nn.LayerNorm(d)
            self.up = nn.Sequential(nn.ConvTranspose2d(d, d // 4, 2, 2), LayerNorm2d(d // 4), nn.GELU(),
                                    nn.ConvTranspose2d(d // 4, d // 8, 2, 2), nn.GELU())
            self.hyper = nn.ModuleList(MLP(d, d, d // 8, 3) for _ in range(masks))
            self.iou_head = MLP(d, 64, masks, 3)
            # the dense positional encoding of the embedding grid (get_dense_pe), a constant
            g = (torch.arange(emb, dtype=torch.float32) + 0.5) / emb
            yy, xx = torch.meshgrid(g, g, indexing="ij")
            self.register_buffer("image_pe", self.pe(torch.stack([xx, yy], -1)).permute(2, 0, 1)[None])

        def pe(self, coords):
            coords = 2 * coords - 1
            coords = 2 * math.pi * (coords @ self.gauss)
            return torch.cat([torch.sin(coords), torch.cos(coords)], -1)

        def embed_points(self, coords, labels):
            coords = (coords + 0.5) / self.img
            e = self.pe(coords)
            labels = labels.unsqueeze(-1).expand_as(e)
            e = e * (labels != -1)
            e = e + self.not_a_point.weight * (labels == -1)
            for i in range(4):
                e = e + self.point_embeddings[i].weight * (labels == i)
            return e

        def forward(self, image_embeddings, point_coords, point_labels, mask_input, has_mask_input, orig_im_size):
            sparse = self.embed_points(point_coords, point_labels)
            dense = has_mask_input * self.mask_down(mask_input)
            dense = dense + (1 - has_mask_input) * self.no_mask.weight.reshape(1, -1, 1, 1)
            tokens = torch.cat([self.iou_token.weight, self.mask_tokens.weight], 0)
            tokens = torch.cat([tokens.unsqueeze(0).expand(sparse.shape[0], -1, -1), sparse], 1)
            src = image_embeddings + dense
            b, c, h, w = src.shape
            k = src.flatten(2).permute(0, 2, 1)
            kpe = self.image_pe.flatten(2).permute(0, 2, 1)
            q = tokens
            for blk in self.blocks:
                q, k = blk(q, k, tokens, kpe)
            q = self.norm_final(q + self.final(q + tokens, k + kpe, k))
            iou_out, mask_out = q[:, 0, :], q[:, 1:1 + self.nmask, :]
            up = self.up(k.transpose(1, 2).reshape(b, c, h, w))
            hyper = torch.stack([self.hyper[i](mask_out[:, i, :]) for i in range(self.nmask)], 1)
            b, c, h, w = up.shape
            masks = (hyper @ up.reshape(b, c, h * w)).reshape(b, -1, h, w)
            iou = self.iou_head(iou_out)
            # select the best mask: the single-mask token unless there are more than two points
            reweight = torch.tensor([[1000.0] + [0.0] * (self.nmask - 1)])
            score = iou + (point_coords.shape[1] - 2.5) * reweight
            best = torch.argmax(score, 1)
            rows = torch.arange(masks.shape[0])
            masks = masks[rows, best, :, :].unsqueeze(1)
            iou = iou[rows, best].unsqueeze(1)
            # mask_postprocessing
            up_m = F.interpolate(masks, size=(self.img, self.img), mode="bilinear", align_corners=False)
            size = orig_im_size.to(torch.float32)
            pre = torch.floor(self.img / torch.max(size) * size + 0.5).to(torch.int64)
            up_m = up_m[..., :pre[0], :pre[1]]
            hw = orig_im_size.to(torch.int64)
            out = F.interpolate(up_m, size=(hw[0], hw[1]), mode="bilinear", align_corners=False)
            return out, iou, masks

    return SamOnnx()


# ------------------------------------------------------------------ tf2onnx SSD with a Loop NMS

def tf2onnx_ssd_nms_op13():
    from onnx import TensorProto, helper
    inits, nodes, const, node, rng = graph_builder(181)
    classes, anchors_per_cell, keep, total = 3, 4, 10, 10

    def w(*s):
        return (rng.standard_normal(s) * math.sqrt(2.0 / np.prod(s[1:]))).astype(np.float32)
    const("perm_nchw", np.array([0, 3, 1, 2], np.int64))
    const("clip_lo", np.array(0.0, np.float32))
    const("clip_hi", np.array(6.0, np.float32))

    def conv_nhwc(x, name, cin, cout, k, s, relu6=True, bias_scale=0.1):
        # tf2onnx: Transpose NHWC -> NCHW, Conv, Transpose back (before its optimiser merges them)
        node("Transpose", [x], [f"{name}/nchw"], perm=[0, 3, 1, 2])
        node("Conv", [f"{name}/nchw", const(f"{name}/kernel", w(cout, cin, k, k)),
                      const(f"{name}/bias", (rng.standard_normal(cout) * bias_scale).astype(np.float32))],
             [f"{name}/conv"], kernel_shape=[k, k], strides=[s, s], pads=[k // 2] * 4)
        y = f"{name}/conv"
        if relu6:
            node("Clip", [y, "clip_lo", "clip_hi"], [f"{name}/relu6"])
            y = f"{name}/relu6"
        node("Transpose", [y], [f"{name}/nhwc"], perm=[0, 2, 3, 1])
        return f"{name}/nhwc"
    h = conv_nhwc("image", "FeatureExtractor/conv0", 3, 16, 3, 2)
    h = conv_nhwc(h, "FeatureExtractor/conv1", 16, 32, 3, 2)
    h = conv_nhwc(h, "FeatureExtractor/conv2", 32, 32, 3, 1)
    box = conv_nhwc(h, "BoxPredictor/BoxEncodingPredictor", 32, anchors_per_cell * 4, 3, 1, relu6=False,
                    bias_scale=0.3)
    cls = conv_nhwc(h, "BoxPredictor/ClassPredictor", 32, anchors_per_cell * (classes + 1), 3, 1, relu6=False,
                    bias_scale=1.0)
    cells = 8 * 8
    n = cells * anchors_per_cell
    node("Reshape", [box, const("box_shape", np.array([1, -1, 4], np.int64))], ["box_encodings"])
    node("Reshape", [cls, const("cls_shape", np.array([1, -1, classes + 1], np.int64))], ["class_logits"])
    node("Sigmoid", ["class_logits"], ["class_scores"])
    # anchors (ycenter, xcenter, h, w) of an 8x8 grid, 4 aspect ratios
    g = (np.arange(8) + 0.5) / 8
    yc, xc = np.meshgrid(g, g, indexing="ij")
    sizes = np.array([[0.2, 0.2], [0.28, 0.14], [0.14, 0.28], [0.35, 0.35]])
    anc = np.stack([np.repeat(yc.reshape(-1), 4), np.repeat(xc.reshape(-1), 4),
                    np.tile(sizes[:, 0], cells), np.tile(sizes[:, 1], cells)], 1).astype(np.float32)
    for j, nm in enumerate(("ya", "xa", "ha", "wa")):
        const(nm, anc[:, j].reshape(1, n, 1))
    node("Split", ["box_encodings", const("split4", np.array([1, 1, 1, 1], np.int64))],
         ["ty", "tx", "th", "tw"], axis=2)
    for t, scale, a, sz, o in (("ty", 10.0, "ya", "ha", "yc"), ("tx", 10.0, "xa", "wa", "xc")):
        node("Div", [t, const(f"{t}_scale", np.array(scale, np.float32))], [f"{t}/s"])
        node("Mul", [f"{t}/s", sz], [f"{t}/m"])
        node("Add", [f"{t}/m", a], [o])
    for t, sz, o in (("th", "ha", "hh"), ("tw", "wa", "ww")):
        node("Div", [t, const(f"{t}_scale", np.array(5.0, np.float32))], [f"{t}/s"])
        node("Exp", [f"{t}/s"], [f"{t}/e"])
        node("Mul", [f"{t}/e", sz], [f"{t}/m"])
        node("Mul", [f"{t}/m", const(f"{t}_half", np.array(0.5, np.float32))], [o])
    node("Sub", ["yc", "hh"], ["ymin"])
    node("Sub", ["xc", "ww"], ["xmin"])
    node("Add", ["yc", "hh"], ["ymax"])
    node("Add", ["xc", "ww"], ["xmax"])
    node("Concat", ["ymin", "xmin", "ymax", "xmax"], ["boxes"], axis=2)  # [1, n, 4]
    node("Squeeze", ["class_scores", const("ax0", np.array([0], np.int64))], ["scores2d"])  # [n, C+1]
    node("Squeeze", ["boxes", "ax0"], ["boxes2d"])
    # tf.map_fn over the classes -> a Loop with scan outputs (body reads outer values)
    b_inits, b_nodes = [], []

    def bconst(name, a):
        from onnx import numpy_helper
        b_inits.append(numpy_helper.from_array(np.asarray(a), name))
        return name

    def bnode(op, ins, outs, **kw):
        b_nodes.append(helper.make_node(op, ins, outs, name="map/while/" + outs[0], **kw))
        return outs[0]
    bnode("Add", ["i", bconst("one_i64", np.array(1, np.int64))], ["cls_col"])
    bnode("Gather", ["scores2d", "cls_col"], ["cls_scores"], axis=1)  # [n]
    bnode("Unsqueeze", ["cls_scores", bconst("ax01", np.array([0, 1], np.int64))], ["nms_scores"])  # [1,1,n]
    bnode("NonMaxSuppression", ["boxes", "nms_scores", bconst("max_out", np.array([keep], np.int64)),
                                bconst("iou_thr", np.array([0.5], np.float32)),
                                bconst("score_thr", np.array([0.25], np.float32))], ["selected"])
    bnode("Gather", ["selected", bconst("col2", np.array(2, np.int64))], ["sel64"], axis=1)
    bnode("Cast", ["sel64"], ["sel32"], to=TensorProto.INT32)  # TF's int32 indices
    bnode("Cast", ["sel32"], ["sel"], to=TensorProto.INT64)
    bnode("Gather", ["boxes2d", "sel"], ["sel_boxes"], axis=0)
    bnode("Gather", ["cls_scores", "sel"], ["sel_scores"], axis=0)
    bnode("Shape", ["sel"], ["k"])
    bnode("Sub", [bconst("keep_c", np.array([keep], np.int64)), "k"], ["pad_n"])
    bnode("Concat", [bconst("zero1", np.array([0], np.int64)), bconst("zero1b", np.array([0], np.int64)), "pad_n",
                     bconst("zero1c", np.array([0], np.int64))], ["pads_b"], axis=0)
    bnode("Pad", ["sel_boxes", "pads_b", bconst("pad_v", np.array(0.0, np.float32))], ["pad_boxes"])
    bnode("Concat", [bconst("zero1d", np.array([0], np.int64)), "pad_n"], ["pads_s"], axis=0)
    bnode("Pad", ["sel_scores", "pads_s", "pad_v"], ["pad_scores"])
    bnode("Cast", ["cls_col"], ["cls_f"], to=TensorProto.FLOAT)
    bnode("Expand", ["cls_f", bconst("keep_shape", np.array([keep], np.int64))], ["pad_classes"])
    bnode("Cast", ["k"], ["k32"], to=TensorProto.INT32)
    bnode("Identity", ["cond"], ["cond_out"])
    body = helper.make_graph(
        b_nodes, "map_while_body",
        [helper.make_tensor_value_info("i", TensorProto.INT64, []),
         helper.make_tensor_value_info("cond", TensorProto.BOOL, [])],
        [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
         helper.make_tensor_value_info("pad_boxes", TensorProto.FLOAT, [keep, 4]),
         helper.make_tensor_value_info("pad_scores", TensorProto.FLOAT, [keep]),
         helper.make_tensor_value_info("pad_classes", TensorProto.FLOAT, [keep]),
         helper.make_tensor_value_info("k32", TensorProto.INT32, [1])], b_inits)
    node("Loop", [const("trip", np.array(classes, np.int64)), const("cond_true", np.array(True))],
         ["map_boxes", "map_scores", "map_classes", "map_counts"], body=body, name="map/while/Loop")
    node("Reshape", ["map_boxes", const("flat_b", np.array([-1, 4], np.int64))], ["all_boxes"])
    node("Reshape", ["map_scores", const("flat1", np.array([-1], np.int64))], ["all_scores"])
    node("Reshape", ["map_classes", "flat1"], ["all_classes"])
    node("TopK", ["all_scores", const("total", np.array([total], np.int64))], ["top_scores", "top_idx"], axis=0)
    node("Gather", ["all_boxes", "top_idx"], ["top_boxes"], axis=0)
    node("Gather", ["all_classes", "top_idx"], ["top_classes"], axis=0)
    node("Unsqueeze", ["top_boxes", "ax0"], ["detection_boxes"])
    node("Unsqueeze", ["top_scores", "ax0"], ["detection_scores"])
    node("Unsqueeze", ["top_classes", "ax0"], ["detection_classes"])
    # num_detections: tf.where(scores > 0) -> NonZero + Transpose, its row count as float
    node("Greater", ["top_scores", const("zero_f", np.array(0.0, np.float32))], ["valid"])
    node("NonZero", ["valid"], ["nz"])
    node("Transpose", ["nz"], ["where"], perm=[1, 0])
    node("Shape", ["where"], ["where_shape"])
    node("Slice", ["where_shape", const("s0", np.array([0], np.int64)), const("s1", np.array([1], np.int64))],
         ["count"])
    node("Cast", ["count"], ["num_detections"], to=TensorProto.FLOAT)
    node("ReduceSum", ["map_counts"], ["nms_kept32"], keepdims=0)
    ins = [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 32, 32, 3])]
    outs = [helper.make_tensor_value_info("detection_boxes", TensorProto.FLOAT, [1, total, 4]),
            helper.make_tensor_value_info("detection_scores", TensorProto.FLOAT, [1, total]),
            helper.make_tensor_value_info("detection_classes", TensorProto.FLOAT, [1, total]),
            helper.make_tensor_value_info("num_detections", TensorProto.FLOAT, [1]),
            helper.make_tensor_value_info("nms_kept32", TensorProto.INT32, [])]
    return _model(nodes, inits, "tf2onnx", ins, outs, [("", 13)], producer="tf2onnx")


# ------------------------------------------------------------------ speech: ECAPA-TDNN

def ecapa():
    torch = _torch()
    nn = torch.nn

    class TDNN(nn.Module):
        def __init__(self, cin, cout, k=1, d=1):
            super().__init__()
            self.conv = nn.Conv1d(cin, cout, k, dilation=d, padding=d * (k - 1) // 2, padding_mode="reflect")
            self.norm = nn.BatchNorm1d(cout)

        def forward(self, x):
            return self.norm(torch.relu(self.conv(x)))

    class Res2Net(nn.Module):
        def __init__(self, c, scale, d):
            super().__init__()
            self.scale = scale
            self.blocks = nn.ModuleList(TDNN(c // scale, c // scale, 3, d) for _ in range(scale - 1))

        def forward(self, x):
            ys, y = [], None
            for i, xi in enumerate(torch.chunk(x, self.scale, 1)):
                if i == 0:
                    y = xi
                elif i == 1:
                    y = self.blocks[i - 1](xi)
                else:
                    y = self.blocks[i - 1](xi + y)
                ys.append(y)
            return torch.cat(ys, 1)

    class SE(nn.Module):
        def __init__(self, c, se=16):
            super().__init__()
            self.c1 = nn.Conv1d(c, se, 1)
            self.c2 = nn.Conv1d(se, c, 1)

        def forward(self, x, mask):
            s = (x * mask).sum(2, keepdim=True) / mask.sum(2, keepdim=True)
            return x * torch.sigmoid(self.c2(torch.relu(self.c1(s))))

    class Block(nn.Module):
        def __init__(self, c, d):
            super().__init__()
            self.t1 = TDNN(c, c)
            self.r2 = Res2Net(c, 4, d)
            self.t2 = TDNN(c, c)
            self.se = SE(c)

        def forward(self, x, mask):
            return x + self.se(self.t2(self.r2(self.t1(x))), mask)

    class ASP(nn.Module):
        def __init__(self, c, att=32):
            super().__init__()
            self.tdnn = TDNN(3 * c, att)
            self.conv = nn.Conv1d(att, c, 1)

        @staticmethod
        def stats(x, m, eps=1e-12):
            mean = (m * x).sum(2)
            std = torch.sqrt((m * (x - mean.unsqueeze(2)).pow(2)).sum(2).clamp(eps))
            return mean, std

        def forward(self, x, mask):
            t = x.shape[-1]
            total = mask.sum(2, keepdim=True)
            mean, std = self.stats(x, mask / total)
            ctx = torch.cat([x, mean.unsqueeze(2).repeat(1, 1, t), std.unsqueeze(2).repeat(1, 1, t)], 1)
            a = self.conv(torch.tanh(self.tdnn(ctx)))
            a = a.masked_fill(mask == 0, float("-inf"))
            a = torch.softmax(a, 2)
            mean, std = self.stats(x, a)
            return torch.cat([mean, std], 1).unsqueeze(2)

    class Net(nn.Module):
        def __init__(self, feats=40, c=64, emb=48):
            super().__init__()
            self.l0 = TDNN(feats, c, 5)
            self.blocks = nn.ModuleList(Block(c, d) for d in (2, 3, 4))
            self.mfa = TDNN(3 * c, 3 * c)
            self.asp = ASP(3 * c)
            self.asp_bn = nn.BatchNorm1d(6 * c)
            self.fc = nn.Conv1d(6 * c, emb, 1)

        def forward(self, feats, lengths):
            x = feats.transpose(1, 2)
            t = x.shape[-1]
            # speechbrain length_to_mask: relative lengths times the padded length
            mask = (torch.arange(t)[None, :] < (lengths * t)[:, None]).to(x.dtype).unsqueeze(1)
            x = self.l0(x)
            outs = []
            for b in self.blocks:
                x = b(x, mask)
                outs.append(x)
            x = self.mfa(torch.cat(outs, 1))
            x = self.asp_bn(self.asp(x, mask))
            return self.fc(x).transpose(1, 2)

    return Net()


# ------------------------------------------------------------------ Mamba-2 SSD

def mamba2():
    torch = _torch()
    nn = torch.nn
    F = torch.nn.functional

    def segsum(x):  # x [..., T] -> [..., T, T]
        t = x.shape[-1]
        x = x.unsqueeze(-1).expand(*x.shape, t)
        ones = torch.ones(t, t, dtype=torch.bool)
        x = x.masked_fill(~torch.tril(ones, -1), 0)
        x = torch.cumsum(x, -2)
        return x.masked_fill(~torch.tril(ones, 0), float("-inf"))

    def ssd(X, A, B, C, L):
        b, t, h, p = X.shape
        n = B.shape[-1]
        c = t // L
        X = X.reshape(b, c, L, h, p)
        A = A.reshape(b, c, L, h).permute(0, 3, 1, 2)
        B = B.reshape(b, c, L, h, n)
        C = C.reshape(b, c, L, h, n)
        A_cumsum = torch.cumsum(A, -1)
        Lm = torch.exp(segsum(A))
        Y_diag = torch.einsum("bclhn,bcshn,bhcls,bcshp->bclhp", C, B, Lm, X)
        decay_states = torch.exp(A_cumsum[:, :, :, -1:] - A_cumsum)
        states = torch.einsum("bclhn,bhcl,bclhp->bchpn", B, decay_states, X)
        states = torch.cat([torch.zeros_like(states[:, :1]), states], 1)
        decay_chunk = torch.exp(segsum(F.pad(A_cumsum[:, :, :, -1], (1, 0))))
        new_states = torch.einsum("bhzc,bchpn->bzhpn", decay_chunk, states)
        states, final = new_states[:, :-1], new_states[:, -1]
        Y_off = torch.einsum("bclhn,bchpn,bhcl->bclhp", C, states, torch.exp(A_cumsum))
        return (Y_diag + Y_off).reshape(b, t, h, p), final

    class RMSNormGated(nn.Module):
        def __init__(self, d, eps=1e-5):
            super().__init__()
            self.weight = nn.Parameter(1 + 0.2 * torch.randn(d))
            self.eps = eps

        def forward(self, x, z):
            x = x * F.silu(z)
            return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight

    class Block(nn.Module):
        def __init__(self, d=32, expand=2, heads=4, n=16, conv=4, chunk=8):
            super().__init__()
            self.di, self.h, self.n, self.chunk = expand * d, heads, n, chunk
            self.p = self.di // heads
            self.in_proj = nn.Linear(d, 2 * self.di + 2 * n + heads, bias=False)
            cd = self.di + 2 * n
            self.conv = nn.Conv1d(cd, cd, conv, groups=cd, padding=conv - 1)
            self.dt_bias = nn.Parameter(torch.rand(heads) - 2.0)
            self.A_log = nn.Parameter(torch.log(torch.linspace(1, 8, heads)))
            self.D = nn.Parameter(torch.ones(heads))
            self.norm = RMSNormGated(self.di)
            self.out_proj = nn.Linear(self.di, d, bias=False)

        def forward(self, u):
            b, t, _ = u.shape
            zxbcdt = self.in_proj(u)
            z, xBC, dt = torch.split(zxbcdt, [self.di, self.di + 2 * self.n, self.h], -1)
            xBC = F.silu(self.conv(xBC.transpose(1, 2))[..., :t].transpose(1, 2))
            x, B, C = torch.split(xBC, [self.di, self.n, self.n], -1)
            dt = F.softplus(dt + self.dt_bias)
            A = -torch.exp(self.A_log)
            pad = (self.chunk - t % self.chunk) % self.chunk
            xh = x.reshape(b, t, self.h, self.p)
            X = F.pad(xh * dt.unsqueeze(-1), (0, 0, 0, 0, 0, pad))
            Ad = F.pad(A * dt, (0, 0, 0, pad))
            Bh = F.pad(B.unsqueeze(2).expand(b, t, self.h, self.n), (0, 0, 0, 0, 0, pad))
            Ch = F.pad(C.unsqueeze(2).expand(b, t, self.h, self.n), (0, 0, 0, 0, 0, pad))
            y, final = ssd(X, Ad, Bh, Ch, self.chunk)
            y = y[:, :t] + xh * self.D[:, None]
            return self.out_proj(self.norm(y.reshape(b, t, self.di), z)), final

    class Net(nn.Module):
        def __init__(self, vocab=64, d=32):
            super().__init__()
            self.emb = nn.Linear(vocab // 4, d)
            self.blocks = nn.ModuleList([Block(d), Block(d)])
            self.norms = nn.ModuleList([nn.LayerNorm(d), nn.LayerNorm(d)])
            self.head = nn.Linear(d, vocab)

        def forward(self, x):
            h = self.emb(x)
            finals = []
            for blk, nm in zip(self.blocks, self.norms):
                y, f = blk(nm(h))
                h = h + y
                finals.append(f)
            return self.head(h), torch.stack(finals, 1)

    return Net()


# ------------------------------------------------------------------ Switch Transformer MoE

def switch_moe():
    torch = _torch()
    nn = torch.nn
    F = torch.nn.functional

    class SwitchFFN(nn.Module):
        def __init__(self, d, hidden, experts, factor=1.25):
            super().__init__()
            self.e, self.factor = experts, factor
            self.router = nn.Linear(d, experts, bias=False)
            with torch.no_grad():
                self.router.weight.mul_(4.0)
            self.w1 = nn.Parameter(torch.randn(experts, d, hidden) / math.sqrt(d))
            self.w2 = nn.Parameter(torch.randn(experts, hidden, d) / math.sqrt(hidden))

        def forward(self, x):  # x [S, d]
            probs = torch.softmax(self.router(x), -1)
            gate, idx = probs.max(-1)
            route = (idx[:, None] == torch.arange(self.e)[None, :]).to(x.dtype)  # one-hot [S, E]
            s = torch._shape_as_tensor(x)[0].to(torch.float32)
            cap = torch.ceil(s * self.factor / self.e).to(torch.int64)
            pos = torch.cumsum(route, 0) * route - 1  # position within its expert, -1 elsewhere
            route = route * (pos < cap.to(x.dtype)).to(x.dtype)  # over capacity: dropped
            slots = torch.arange(cap)
            dispatch = route.unsqueeze(-1) * (pos.unsqueeze(-1) == slots.to(x.dtype)).to(x.dtype)  # [S, E, cap]
            expert_in = torch.einsum("sec,sd->ecd", dispatch, x)
            h = F.gelu(torch.einsum("ecd,edh->ech", expert_in, self.w1))
            expert_out = torch.einsum("ech,ehd->ecd", h, self.w2)
            combine = dispatch * gate[:, None, None]
            y = torch.einsum("sec,ecd->sd", combine, expert_out)
            aux = self.e * (probs.mean(0) * route.mean(0)).sum()
            return y, aux

    class Layer(nn.Module):
        def __init__(self, d, heads, experts):
            super().__init__()
            self.n1 = nn.LayerNorm(d)
            self.attn = nn.MultiheadAttention(d, heads, batch_first=True)
            self.n2 = nn.LayerNorm(d)
            self.moe = SwitchFFN(d, 2 * d, experts)

        def forward(self, x):
            h = self.n1(x)
            x = x + self.attn(h, h, h, need_weights=False)[0]
            b, t, d = x.shape
            y, aux = self.moe(self.n2(x).reshape(b * t, d))
            return x + y.reshape(b, t, d), aux

    class Net(nn.Module):
        def __init__(self, vocab=100, d=32, experts=4):
            super().__init__()
            self.tok = nn.Embedding(vocab, d)
            self.layers = nn.ModuleList([Layer(d, 4, experts), Layer(d, 4, experts)])
            self.norm = nn.LayerNorm(d)
            self.head = nn.Linear(d, vocab)

        def forward(self, input_ids):
            x = self.tok(input_ids)
            aux = torch.zeros(())
            for layer in self.layers:
                x, a = layer(x)
                aux = aux + a
            return self.head(self.norm(x)), aux

    return Net()


# ------------------------------------------------------------------ EfficientViT linear attention

def efficientvit():
    torch = _torch()
    nn = torch.nn
    F = torch.nn.functional

    def cbn(cin, cout, k=3, s=1, g=1, act=True):
        layers = [nn.Conv2d(cin, cout, k, s, k // 2, groups=g, bias=False), nn.BatchNorm2d(cout)]
        if act:
            layers.append(nn.Hardswish())
        return nn.Sequential(*layers)

    class MBConv(nn.Module):
        def __init__(self, cin, cout, s=1, e=4):
            super().__init__()
            self.f = nn.Sequential(cbn(cin, cin * e, 1), cbn(cin * e, cin * e, 3, s, cin * e),
                                   cbn(cin * e, cout, 1, act=False))
            self.res = s == 1 and cin == cout

        def forward(self, x):
            return x + self.f(x) if self.res else self.f(x)

    class LiteMLA(nn.Module):
        def __init__(self, c, dim=8, scales=(5,), eps=1e-15):
            super().__init__()
            heads = c // dim
            total = heads * dim
            self.dim, self.eps = dim, eps
            self.qkv = nn.Conv2d(c, 3 * total, 1, bias=False)
            self.aggreg = nn.ModuleList(nn.Sequential(
                nn.Conv2d(3 * total, 3 * total, s, padding=s // 2, groups=3 * total, bias=False),
                nn.Conv2d(3 * total, 3 * total, 1, groups=3 * heads, bias=False)) for s in scales)
            self.proj = cbn(total * (1 + len(scales)), c, 1, act=False)

        def forward(self, x):
            b, _, h, w = x.shape
            qkv = self.qkv(x)
            qkv = torch.cat([qkv] + [op(qkv) for op in self.aggreg], 1)
            qkv = qkv.reshape(b, -1, 3 * self.dim, h * w).transpose(-1, -2)
            q, k, v = qkv[..., :self.dim], qkv[..., self.dim:2 * self.dim], qkv[..., 2 * self.dim:]
            q, k = F.relu(q), F.relu(k)
            v = F.pad(v, (0, 1), mode="constant", value=1.0)
            out = q @ (k.transpose(-1, -2) @ v)
            out = out[..., :-1] / (out[..., -1:] + self.eps)
            out = out.transpose(-1, -2).reshape(b, -1, h, w)
            return x + self.proj(out)

    class Net(nn.Module):
        def __init__(self, classes=10):
            super().__init__()
            self.stem = nn.Sequential(cbn(3, 16, 3, 2), MBConv(16, 16, e=1))
            self.s1 = nn.Sequential(MBConv(16, 32, 2), MBConv(32, 32))
            self.s2 = nn.Sequential(MBConv(32, 64, 2), LiteMLA(64), MBConv(64, 64))
            self.s3 = nn.Sequential(MBConv(64, 64, 2), LiteMLA(64), MBConv(64, 64))
            self.head = nn.Sequential(cbn(64, 128, 1), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(128, classes))

        def forward(self, x):
            return self.head(self.s3(self.s2(self.s1(self.stem(x)))))

    return Net()


# ------------------------------------------------------------------ LoFTR coarse matching

def loftr():
    torch = _torch()
    nn = torch.nn
    F = torch.nn.functional

    class LinearAttention(nn.Module):
        def forward(self, q, k, v, eps=1e-6):
            Q = F.elu(q) + 1
            K = F.elu(k) + 1
            vlen = v.shape[1]
            v = v / vlen
            KV = torch.einsum("nshd,nshv->nhdv", K, v)
            Z = 1 / (torch.einsum("nlhd,nhd->nlh", Q, K.sum(1)) + eps)
            return torch.einsum("nlhd,nhdv,nlh->nlhv", Q, KV, Z) * vlen

    class Layer(nn.Module):
        def __init__(self, d, heads):
            super().__init__()
            self.h, self.dd = heads, d // heads
            self.q = nn.Linear(d, d, bias=False)
            self.k = nn.Linear(d, d, bias=False)
            self.v = nn.Linear(d, d, bias=False)
            self.attn = LinearAttention()
            self.merge = nn.Linear(d, d, bias=False)
            self.mlp = nn.Sequential(nn.Linear(2 * d, 2 * d, bias=False), nn.ReLU(), nn.Linear(2 * d, d, bias=False))
            self.n1 = nn.LayerNorm(d)
            self.n2 = nn.LayerNorm(d)

        def forward(self, x, src):
            b = x.shape[0]
            q = self.q(x).reshape(b, -1, self.h, self.dd)
            k = self.k(src).reshape(b, -1, self.h, self.dd)
            v = self.v(src).reshape(b, -1, self.h, self.dd)
            m = self.n1(self.merge(self.attn(q, k, v).reshape(b, -1, self.h * self.dd)))
            return x + self.n2(self.mlp(torch.cat([x, m], 2)))

    class Net(nn.Module):
        def __init__(self, d=64, thr=0.02, temp=0.1):
            super().__init__()
            self.backbone = nn.Sequential(
                nn.Conv2d(1, 16, 3, 2, 1), nn.BatchNorm2d(16), nn.ReLU(), nn.Conv2d(16, 32, 3, 2, 1),
                nn.BatchNorm2d(32), nn.ReLU(), nn.Conv2d(32, d, 3, 2, 1), nn.BatchNorm2d(d), nn.ReLU(),
                nn.Conv2d(d, d, 1))
            pe = torch.zeros(d, 32, 32)
            y = torch.ones(32, 32).cumsum(0).unsqueeze(0)
            x = torch.ones(32, 32).cumsum(1).unsqueeze(0)
            div = torch.exp(torch.arange(0, d // 2, 2).float() * (-math.log(10000.0) / (d // 2)))[:, None, None]
            pe[0::4] = torch.sin(x * div)
            pe[1::4] = torch.cos(x * div)
            pe[2::4] = torch.sin(y * div)
            pe[3::4] = torch.cos(y * div)
            self.register_buffer("pe", pe.unsqueeze(0))
            self.layers = nn.ModuleList(Layer(d, 4) for _ in range(4))  # self, cross, self, cross
            self.d, self.thr, self.temp = d, thr, temp

        def forward(self, image0, image1):
            f0, f1 = self.backbone(image0), self.backbone(image1)
            h0, w0 = f0.shape[2], f0.shape[3]
            f0 = (f0 + self.pe[:, :, :f0.shape[2], :f0.shape[3]]).flatten(2).transpose(1, 2)
            f1 = (f1 + self.pe[:, :, :f1.shape[2], :f1.shape[3]]).flatten(2).transpose(1, 2)
            for i, layer in enumerate(self.layers):
                if i % 2 == 0:
                    f0, f1 = layer(f0, f0), layer(f1, f1)
                else:
                    f0, f1 = layer(f0, f1), layer(f1, f0)
            f0, f1 = f0 / self.d ** 0.5, f1 / self.d ** 0.5
            sim = torch.einsum("nlc,nsc->nls", f0, f1) / self.temp
            conf = F.softmax(sim, 1) * F.softmax(sim, 2)
            mask = (conf > self.thr) & (conf == conf.max(2, keepdim=True)[0]) & (conf == conf.max(1, keepdim=True)[0])
            mask_v, all_j = mask.float().max(2)  # torch writes ArgMax of a bool (invalid ONNX) for mask.max(2)
            b_ids, i_ids = torch.where(mask_v > 0)
            j_ids = all_j[b_ids, i_ids]
            mconf = conf[b_ids, i_ids, j_ids]
            w1 = image1.shape[3] // 8
            mk0 = torch.stack([i_ids % w0, torch.div(i_ids, w0, rounding_mode="floor")], 1).float() * 8
            mk1 = torch.stack([j_ids % w1, torch.div(j_ids, w1, rounding_mode="floor")], 1).float() * 8
            return conf, mk0, mk1, mconf

    return Net()


# ------------------------------------------------------------------ Glow

def _lu(a):
    """a = p @ low @ up with partial pivoting (scipy.linalg.lu's convention; no scipy here)."""
    n = a.shape[0]
    up, low, perm = a.astype(np.float64).copy(), np.eye(n), np.arange(n)
    for j in range(n):
        i = j + int(np.argmax(np.abs(up[j:, j])))
        up[[j, i]], perm[[j, i]] = up[[i, j]], perm[[i, j]]
        low[[j, i], :j] = low[[i, j], :j]
        for r in range(j + 1, n):
            low[r, j] = up[r, j] / up[j, j]
            up[r] -= low[r, j] * up[j]
    p = np.eye(n)[:, perm]
    assert np.allclose(p @ low @ up, a)
    return p, low, up


def glow():
    torch = _torch()
    nn = torch.nn

    class ActNorm(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.b = nn.Parameter(0.1 * torch.randn(1, c, 1, 1))
            self.logs = nn.Parameter(0.1 * torch.randn(1, c, 1, 1))

        def forward(self, x, logdet):
            hw = x.shape[2] * x.shape[3]
            return (x + self.b) * torch.exp(self.logs), logdet + hw * self.logs.sum()

    class InvConvLU(nn.Module):
        def __init__(self, c):
            super().__init__()
            q = np.linalg.qr(np.random.default_rng(c).standard_normal((c, c)))[0]
            p, low, up = _lu(q)
            s = np.diag(up)
            self.register_buffer("p", torch.tensor(p, dtype=torch.float32))
            self.register_buffer("sign_s", torch.tensor(np.sign(s), dtype=torch.float32))
            self.register_buffer("lmask", torch.tril(torch.ones(c, c), -1))
            self.register_buffer("eye", torch.eye(c))
            self.low = nn.Parameter(torch.tensor(low, dtype=torch.float32))
            self.up = nn.Parameter(torch.tensor(np.triu(up, 1), dtype=torch.float32))
            self.log_s = nn.Parameter(torch.tensor(np.log(np.abs(s)), dtype=torch.float32))

        def forward(self, x, logdet):
            c = x.shape[1]
            w = self.p @ (self.low * self.lmask + self.eye) @ (
                self.up * self.lmask.T + self.eye * (self.sign_s * torch.exp(self.log_s)))
            hw = x.shape[2] * x.shape[3]
            return torch.nn.functional.conv2d(x, w.view(c, c, 1, 1)), logdet + hw * self.log_s.sum()

    class Coupling(nn.Module):
        def __init__(self, c, hidden=32):
            super().__init__()
            self.nn = nn.Sequential(nn.Conv2d(c // 2, hidden, 3, padding=1), nn.ReLU(),
                                    nn.Conv2d(hidden, hidden, 1), nn.ReLU())
            self.zero = nn.Conv2d(hidden, c, 3, padding=1)
            self.logscale = nn.Parameter(0.05 * torch.randn(1, c, 1, 1))
            with torch.no_grad():
                self.zero.weight.mul_(0.1)

        def forward(self, x, logdet):
            xa, xb = x.chunk(2, 1)
            h = self.zero(self.nn(xa)) * torch.exp(self.logscale * 3)
            shift, raw = h[:, 0::2], h[:, 1::2]
            scale = torch.sigmoid(raw + 2.0)
            yb = (xb + shift) * scale
            return torch.cat([xa, yb], 1), logdet + torch.log(scale).flatten(1).sum(1)

    class Net(nn.Module):
        def __init__(self, c=3, steps=3):
            super().__init__()
            c4 = 4 * c
            self.flows = nn.ModuleList()
            for _ in range(steps):
                self.flows.extend([ActNorm(c4), InvConvLU(c4), Coupling(c4)])
            self.prior = nn.Conv2d(c4 // 2, c4, 3, padding=1)

        def forward(self, x):
            b, c, h, w = x.shape
            x = x.view(b, c, h // 2, 2, w // 2, 2).permute(0, 1, 3, 5, 2, 4).reshape(b, 4 * c, h // 2, w // 2)
            logdet = torch.zeros_like(x[:, 0, 0, 0])
            for f in self.flows:
                x, logdet = f(x, logdet)
            z1, z2 = x.chunk(2, 1)
            mean, logs = self.prior(z1).chunk(2, 1)
            log_p = -0.5 * (math.log(2 * math.pi) + 2 * logs + (z2 - mean) ** 2 * torch.exp(-2 * logs))
            log_p = log_p.flatten(1).sum(1)
            pixels = c * h * w
            bpd = -(log_p + logdet - pixels * math.log(256.0)) / (pixels * math.log(2.0))
            return z1, z2, logdet, log_p, bpd

    return Net()


# ------------------------------------------------------------------ TFLite uint8 QDQ (tf2onnx)

def tflite_qdq_uint8_op13():
    from onnx import TensorProto, helper
    inits, nodes, const, node, rng = graph_builder(187)

    def qw_u8(name, shape, fan_in):
        # legacy TFLite: asymmetric uint8 weights, per tensor, a non-zero zero point
        wf = rng.standard_normal(shape) * math.sqrt(2.0 / fan_in)
        lo, hi = min(wf.min(), 0.0), max(wf.max(), 0.0)
        s = (hi - lo) / 255.0
        zp = int(round(-lo / s))
        q = np.clip(np.round(wf / s) + zp, 0, 255).astype(np.uint8)
        node("DequantizeLinear", [const(name + "_q", q), const(name + "_s", np.array(s, np.float32)),
                                  const(name + "_zp", np.array(zp, np.uint8))], [name])
        return name, s

    def qw_i8_axis(name, shape, fan_in):
        # newer TFLite: symmetric int8 per-channel (axis 0 after tf2onnx's transpose)
        wf = rng.standard_normal(shape) * math.sqrt(2.0 / fan_in)
        s = np.abs(wf).reshape(shape[0], -1).max(1) / 127.0
        q = np.clip(np.round(wf / s.reshape(-1, *[1] * (len(shape) - 1))), -127, 127).astype(np.int8)
        node("DequantizeLinear", [const(name + "_q", q), const(name + "_s", s.astype(np.float32)),
                                  const(name + "_zp", np.zeros(shape[0], np.int8))], [name], axis=0)
        return name, s

    def bias(name, n, scale):
        q = np.round(rng.standard_normal(n) * 0.1 / scale).astype(np.int32)
        node("DequantizeLinear", [const(name + "_q", q), const(name + "_s", np.asarray(scale, np.float32)),
                                  const(name + "_zp", np.zeros(np.shape(scale), np.int32))], [name],
             **({"axis": 0} if np.ndim(scale) else {}))
        return name

    def qdq(x, name, s, zp):
        node("QuantizeLinear", [x, const(name + "_s", np.array(s, np.float32)),
                                const(name + "_zp", np.array(zp, np.uint8))], [name + "_u8"])
        node("DequantizeLinear", [name + "_u8", name + "_s", name + "_zp"], [name])
        return name
    s_in = 1.0 / 128
    node("DequantizeLinear", ["input", const("input_s", np.array(s_in, np.float32)),
                              const("input_zp", np.array(128, np.uint8))], ["input_f"])
    node("Transpose", ["input_f"], ["x_nchw"], perm=[0, 3, 1, 2])
    s6 = 6.0 / 255
    w1, sw1 = qw_u8("conv1_w", (16, 3, 3, 3), 27)
    node("Conv", ["x_nchw", w1, bias("conv1_b", 16, np.float32(s_in * sw1))], ["conv1"], kernel_shape=[3, 3],
         strides=[2, 2], pads=[0, 0, 1, 1])  # TF SAME with stride 2: pad only at the end
    h1 = qdq("conv1", "conv1_relu6", s6, 0)  # Relu6 fused into the output range [0, 6]
    w2, sw2 = qw_i8_axis("dw_w", (16, 1, 3, 3), 9)
    node("Conv", [h1, w2, bias("dw_b", 16, (s6 * sw2).astype(np.float32))], ["dw"], kernel_shape=[3, 3],
         pads=[1, 1, 1, 1], group=16)
    h2 = qdq("dw", "dw_relu6", s6, 0)
    w3, sw3 = qw_u8("pw_w", (16, 16, 1, 1), 16)
    node("Conv", [h2, w3, bias("pw_b", 16, np.float32(s6 * sw3))], ["pw"], kernel_shape=[1, 1])
    h3 = qdq("pw", "pw_q", 0.05, 131)  # linear bottleneck: an asymmetric range
    node("Add", [h3, h1], ["res"])
    h4 = qdq("res", "res_q", 0.06, 100)
    w4, sw4 = qw_u8("conv2_w", (32, 16, 3, 3), 144)
    node("Conv", [h4, w4, bias("conv2_b", 32, np.float32(0.06 * sw4))], ["conv2"], kernel_shape=[3, 3],
         strides=[2, 2], pads=[0, 0, 1, 1])
    h5 = qdq("conv2", "conv2_relu6", s6, 0)
    node("AveragePool", [h5], ["pool"], kernel_shape=[2, 2], strides=[2, 2])
    h6 = qdq("pool", "pool_q", s6, 0)
    node("Transpose", [h6], ["pool_nhwc"], perm=[0, 2, 3, 1])  # TF flattens NHWC
    node("Reshape", ["pool_nhwc", const("flat", np.array([1, -1], np.int64))], ["flat_x"])
    w5, sw5 = qw_u8("fc_w", (512, 10), 512)
    node("MatMul", ["flat_x", w5], ["fc_mm"])
    node("Add", ["fc_mm", bias("fc_b", 10, np.float32(s6 * sw5))], ["fc"])
    h7 = qdq("fc", "logits_q", 0.1, 128)
    node("Softmax", [h7], ["softmax"], axis=-1)
    qdq("softmax", "probs", 1.0 / 256, 0)
    node("Identity", ["logits_q"], ["logits"])
    ins = [helper.make_tensor_value_info("input", TensorProto.UINT8, [1, 32, 32, 3])]
    outs = [helper.make_tensor_value_info("probs", TensorProto.FLOAT, [1, 10]),
            helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 10])]
    return _model(nodes, inits, "tflite", ins, outs, [("", 13)], producer="tf2onnx")


# ------------------------------------------------------------------ opset 9, training mode

def train_bn():
    torch = _torch()
    nn = torch.nn
    F = torch.nn.functional

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.c1 = nn.Conv2d(3, 16, 3)
            self.b1 = nn.BatchNorm2d(16)
            self.c2 = nn.Conv2d(16, 32, 3, 2, 1)
            self.b2 = nn.BatchNorm2d(32)
            self.drop = nn.Dropout(0.25)
            self.c3 = nn.Conv2d(32, 8, 1)

        def forward(self, x):
            x = F.pad(x, (1, 1, 1, 1), mode="reflect")
            x = F.relu(self.b1(self.c1(x)))
            x = F.relu(self.b2(self.c2(x)))
            x = self.drop(x)
            x = F.interpolate(x, scale_factor=2.0, mode="nearest")
            return self.c3(x)

    return Net()


# ------------------------------------------------------------------ Slot Attention

def slot_attention():
    torch = _torch()
    nn = torch.nn
    F = torch.nn.functional

    def grid(h, w):
        ys, xs = torch.meshgrid(torch.linspace(0, 1, h), torch.linspace(0, 1, w), indexing="ij")
        g = torch.stack([ys, xs], -1)
        return torch.cat([g, 1 - g], -1)[None]  # [1, h, w, 4]

    class SoftPos(nn.Module):
        def __init__(self, c, h, w):
            super().__init__()
            self.lin = nn.Linear(4, c)
            self.register_buffer("grid", grid(h, w))

        def forward(self, x):  # x [N, H, W, C]
            return x + self.lin(self.grid)

    class Net(nn.Module):
        def __init__(self, slots=4, d=32, iters=3, res=16):
            super().__init__()
            self.k_slots, self.d, self.iters, self.res = slots, d, iters, res
            self.enc = nn.Sequential(nn.Conv2d(3, d, 5, padding=2), nn.ReLU(), nn.Conv2d(d, d, 5, 2, 2), nn.ReLU(),
                                     nn.Conv2d(d, d, 5, padding=2), nn.ReLU())
            self.enc_pos = SoftPos(d, res, res)
            self.ln_in = nn.LayerNorm(d)
            self.mlp_in = nn.Sequential(nn.Linear(d, d), nn.ReLU(), nn.Linear(d, d))
            self.mu = nn.Parameter(torch.randn(1, 1, d))
            self.log_sigma = nn.Parameter(torch.randn(1, 1, d) * 0.1 - 1)
            self.q = nn.Linear(d, d, bias=False)
            self.k = nn.Linear(d, d, bias=False)
            self.v = nn.Linear(d, d, bias=False)
            self.gru = nn.GRUCell(d, d)
            self.ln_slots = nn.LayerNorm(d)
            self.ln_mlp = nn.LayerNorm(d)
            self.mlp = nn.Sequential(nn.Linear(d, 2 * d), nn.ReLU(), nn.Linear(2 * d, d))
            self.dec_pos = SoftPos(d, 8, 8)
            self.dec = nn.Sequential(nn.ConvTranspose2d(d, d, 5, 2, 2, 1), nn.ReLU(),
                                     nn.ConvTranspose2d(d, d, 5, 2, 2, 1), nn.ReLU(), nn.Conv2d(d, 4, 3, padding=1))

        def forward(self, image, slot_noise):
            n = image.shape[0]
            x = self.enc(image).permute(0, 2, 3, 1)
            x = self.mlp_in(self.ln_in(self.enc_pos(x).flatten(1, 2)))  # [N, L, d]
            k, v = self.k(x), self.v(x)
            slots = self.mu + torch.exp(self.log_sigma) * slot_noise
            for _ in range(self.iters):
                prev = slots
                q = self.q(self.ln_slots(slots)) * self.d ** -0.5
                attn = torch.softmax(torch.einsum("bld,bkd->blk", k, q), -1) + 1e-8  # over the slots
                attn = attn / attn.sum(1, keepdim=True)
                updates = torch.einsum("bld,blk->bkd", v, attn)
                slots = self.gru(updates.reshape(-1, self.d), prev.reshape(-1, self.d)).reshape(n, -1, self.d)
                slots = slots + self.mlp(self.ln_mlp(slots))
            z = slots.reshape(-1, 1, 1, self.d).expand(-1, 8, 8, -1)
            z = self.dec_pos(z).permute(0, 3, 1, 2)
            out = self.dec(z).reshape(n, self.k_slots, 4, 32, 32)
            rgb, alpha = out[:, :, :3], torch.softmax(out[:, :, 3:], 1)
            recon = (rgb * alpha).sum(1)
            return recon, alpha, slots

    return Net()


# ------------------------------------------------------------------ xLSTM mLSTM

def xlstm():
    torch = _torch()
    nn = torch.nn
    F = torch.nn.functional

    def parallel_mlstm(q, k, v, ig, fg, eps=1e-6):
        b, nh, s, dh = q.shape
        log_f = F.logsigmoid(fg)  # [B, NH, S, 1]
        ltr = torch.tril(torch.ones(s, s, dtype=torch.bool))
        cum = torch.cat([torch.zeros(b, nh, 1, 1), torch.cumsum(log_f, -2)], -2)
        rep = cum.repeat(1, 1, 1, s + 1)
        log_fg = torch.where(ltr, (rep - rep.transpose(-2, -1))[:, :, 1:, 1:], torch.tensor(float("-inf")))
        log_d = log_fg + ig.transpose(-2, -1)
        max_d = log_d.max(-1, keepdim=True)[0]
        dmat = torch.exp(log_d - max_d)
        c = (q @ (k / math.sqrt(dh)).transpose(-2, -1)) * dmat
        norm = torch.maximum(c.sum(-1, keepdim=True).abs(), torch.exp(-max_d))
        return (c / (norm + eps)) @ v

    class Block(nn.Module):
        def __init__(self, d=32, heads=4, conv=4):
            super().__init__()
            inner = 2 * d
            self.h, self.inner = heads, inner
            self.norm = nn.LayerNorm(d)
            self.up = nn.Linear(d, 2 * inner)
            self.conv = nn.Conv1d(inner, inner, conv, groups=inner, padding=conv - 1)
            self.q = nn.Linear(inner, inner, bias=False)
            self.k = nn.Linear(inner, inner, bias=False)
            self.v = nn.Linear(inner, inner, bias=False)
            self.igate = nn.Linear(3 * inner, heads)
            self.fgate = nn.Linear(3 * inner, heads)
            with torch.no_grad():
                self.fgate.bias.copy_(torch.linspace(3.0, 6.0, heads))
            self.outnorm = nn.GroupNorm(heads, inner)
            self.skip = nn.Parameter(torch.ones(inner))
            self.down = nn.Linear(inner, d)

        def forward(self, x):
            b, s, _ = x.shape
            xm, z = self.up(self.norm(x)).chunk(2, -1)
            xc = F.silu(self.conv(xm.transpose(1, 2))[..., :s].transpose(1, 2))
            q, k, v = self.q(xc), self.k(xc), self.v(xm)
            gin = torch.cat([q, k, v], -1)
            ig = self.igate(gin).transpose(1, 2).unsqueeze(-1)
            fg = self.fgate(gin).transpose(1, 2).unsqueeze(-1)

            def heads(t):
                return t.reshape(b, s, self.h, -1).transpose(1, 2)
            hs = parallel_mlstm(heads(q), heads(k), heads(v), ig, fg)  # [B, NH, S, DH]
            hs = hs.transpose(1, 2).reshape(b, s, self.inner)
            hs = self.outnorm(hs.transpose(1, 2)).transpose(1, 2)
            hs = (hs + self.skip * xc) * F.silu(z)
            return x + self.down(hs)

    class Net(nn.Module):
        def __init__(self, vocab=80, d=32):
            super().__init__()
            self.emb = nn.Embedding(vocab, d)
            self.blocks = nn.ModuleList([Block(d), Block(d)])
            self.norm = nn.LayerNorm(d)
            self.head = nn.Linear(d, vocab)

        def forward(self, input_ids):
            x = self.emb(input_ids)
            for blk in self.blocks:
                x = blk(x)
            return self.head(self.norm(x))

    return Net()


# ------------------------------------------------------------------ samples

def _sam(rng, alt):
    n = 3 if alt else 2
    coords = rng.uniform(0, 255, (1, n, 2)).astype(np.float32)
    labels = np.array([[1, 0, 1][:n]], np.float32)
    if alt:
        labels[0, -1] = -1  # padding point, as the SAM examples append
    return {"image_embeddings": rng.standard_normal((1, 32, 16, 16)).astype(np.float32),
            "point_coords": coords, "point_labels": labels,
            "mask_input": np.zeros((1, 1, 64, 64), np.float32),
            "has_mask_input": np.zeros(1, np.float32),
            "orig_im_size": np.array([120, 100] if alt else [180, 240], np.float32)}


def _nhwc(rng, alt):
    return {"image": rng.uniform(-1, 1, (1, 32, 32, 3)).astype(np.float32)}


def _fbank(rng, alt):
    n, t = (1, 57) if alt else (2, 120)
    lengths = np.array([1.0] if alt else [1.0, 0.75], np.float32)
    return {"feats": rng.standard_normal((n, t, 40)).astype(np.float32), "lengths": lengths}


def _seq_feats(rng, alt):
    return {"x": rng.standard_normal((1, 21 if alt else 40, 16)).astype(np.float32)}


def _ids(vocab):
    def gen(rng, alt):
        return {"input_ids": rng.integers(0, vocab, (1, 13 if alt else 24)).astype(np.int64)}
    return gen


def _img(c, h, w, ha=None, wa=None, n=1):
    def gen(rng, alt):
        return {"input": rng.standard_normal((n, c, ha if alt else h, wa if alt else w)).astype(np.float32)}
    return gen


def _pair(rng, alt):
    h, w = (48, 64) if alt else (64, 64)
    base = rng.random((1, 1, h + 8, w + 8)).astype(np.float32)
    return {"image0": base[:, :, :h, :w].copy(), "image1": base[:, :, 8:, 8:].copy()}


def _glow(rng, alt):
    return {"x": (rng.random((3 if alt else 2, 3, 16, 16)) - 0.5).astype(np.float32)}


def _u8(rng, alt):
    return {"input": rng.integers(0, 256, (1, 32, 32, 3)).astype(np.uint8)}


def _slots(rng, alt):
    n = 1 if alt else 2
    return {"image": rng.standard_normal((n, 3, 32, 32)).astype(np.float32),
            "slot_noise": rng.standard_normal((n, 4, 32)).astype(np.float32)}


# name -> (builder, opset, input generator gen(rng, alt) -> {name: array}, outputs,
#          dynamic axes, inputs kept as drawn in every sample, extra torch.onnx.export arguments)
SPECS = {
    "sam_decoder_op16": (sam_decoder, 16, _sam, ["masks", "iou_predictions", "low_res_masks"],
                         {"point_coords": {1: "num_points"}, "point_labels": {1: "num_points"}},
                         {"point_labels", "mask_input", "has_mask_input", "orig_im_size"}, {}),
    "tf2onnx_ssd_nms_op13": ("helper", 13, _nhwc, None, None, set(), {}),
    "ecapa_tdnn_dynT_op13": (ecapa, 13, _fbank, ["embedding"],
                             {"feats": {0: "N", 1: "T"}, "lengths": {0: "N"}, "embedding": {0: "N"}},
                             {"lengths"}, {}),
    "mamba2_ssd_op14": (mamba2, 14, _seq_feats, ["logits", "final_states"],
                        {"x": {1: "T"}, "logits": {1: "T"}}, set(), {}),
    "switch_moe_op13": (switch_moe, 13, _ids(100), ["logits", "aux_loss"],
                        {"input_ids": {1: "T"}, "logits": {1: "T"}}, set(), {}),
    "efficientvit_mla_dynhw_op13": (efficientvit, 13, _img(3, 64, 64, 96, 80), ["logits"],
                                    {"input": {2: "H", 3: "W"}}, set(), {}),
    "loftr_coarse_op13": (loftr, 13, _pair, ["conf_matrix", "mkpts0", "mkpts1", "mconf"],
                          {"image0": {2: "H", 3: "W"}, "image1": {2: "H", 3: "W"}, "mkpts0": {0: "K"},
                           "mkpts1": {0: "K"}, "mconf": {0: "K"}}, set(), {}),
    "glow_flow_op13": (glow, 13, _glow, ["z1", "z2", "logdet", "log_p", "bpd"],
                       {"x": {0: "N"}, "z1": {0: "N"}, "z2": {0: "N"}, "logdet": {0: "N"}, "log_p": {0: "N"},
                        "bpd": {0: "N"}}, set(), {}),
    "tflite_qdq_uint8_op13": ("helper", 13, _u8, None, None, set(), {}),
    "train_bn_op9": (train_bn, 9, _img(3, 32, 32, n=2), ["output"], None, set(), {"training": "TRAINING"}),
    "slot_attention_op13": (slot_attention, 13, _slots, ["recon", "masks", "slots"],
                            {"image": {0: "N"}, "slot_noise": {0: "N"}, "recon": {0: "N"}, "masks": {0: "N"},
                             "slots": {0: "N"}}, set(), {}),
    "xlstm_mlstm_op14": (xlstm, 14, _ids(80), ["logits"], {"input_ids": {1: "T"}, "logits": {1: "T"}}, set(), {}),
}

HELPER = {"tf2onnx_ssd_nms_op13": tf2onnx_ssd_nms_op13, "tflite_qdq_uint8_op13": tflite_qdq_uint8_op13}


def export(name, out):
    """Export NAME to OUT/NAME.onnx with its samples; returns the path."""
    builder, opset, gen, outs, axes, keep, kw = SPECS[name]
    rng = np.random.default_rng(59)

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
        onnx.checker.check_model(m)
        onnx.save(m, path + ".tmp")
        os.replace(path + ".tmp", path)
    else:
        torch = _torch()
        torch.manual_seed(0)
        model = randomise_norms(builder())
        kw = dict(kw)
        if kw.get("training") == "TRAINING":
            kw["training"] = torch.onnx.TrainingMode.TRAINING
            model.train()
        else:
            model.eval()
        xs = [torch.from_numpy(v) for v in first.values()]
        exportlib.torch_export(model, xs, path, opset, list(first), outs, axes, **kw)
    d = os.path.join(out, "data", name)
    os.makedirs(d, exist_ok=True)
    for i, s in enumerate(samples):
        np.savez(os.path.join(d, f"s{i}.npz"), **s)
    np.savez(os.path.join(out, "data", name + ".in.npz"), **samples[0])
    if axes:  # an input at other sizes for the symbolic ones
        np.savez(os.path.join(out, "data", name + ".alt.npz"), **draw(True))
    print(f"{path}: {os.path.getsize(path) / 1e6:.2f} MB, opset {opset}", flush=True)
    return path


def export_main(args):
    """Export args.models (default MODELS) to args.out (default
    out/bench-models-unseen18); returns the process exit code."""
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
