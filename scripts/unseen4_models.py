"""The --unseen4 export set of scripts/export_benchmodels.py (tenth session).

Architectures and exporter spellings none of the earlier sets has, with random
weights, written to out/bench-models-unseen4/ unless --out is given:

- yolov5s_640: a YOLOv5s-like detector at 640x640 (Conv-BN-SiLU as Sigmoid*Mul,
  C3 blocks, SPPF's chained MaxPools, nearest Upsample, PAN Concats, three
  Detect heads that decode boxes with Sigmoid, a grid built from the feature
  map's shape and the anchors), opset 13, static; and
  yolov5s_640_op11_dynhw: the same at opset 11 with symbolic height and width
  (the grid then comes from Shape -> Gather -> Range at run time).
- style_transfer_op10_dynhw: a fast-neural-style (Johnson et al.) transformer
  net: reflection padding, InstanceNormalization, residual blocks, nearest
  Upsample, opset 10, symbolic height and width.
- groupnorm_net_op12: a CNN with GroupNorm (Reshape -> InstanceNormalization ->
  Reshape -> Mul -> Add as torch.onnx writes it) and SiLU, opset 12.
- textcnn_op11: a Kim-style text CNN: int64 token ids, Embedding (Gather),
  three Conv1d widths, max over time, opset 11.
- causal_decoder_op14: a GPT-style decoder (token and position Embeddings,
  causal self-attention, GELU MLP, LayerNorm), opset 14, static length 32;
  causal_decoder_op14_dynseq: the same with a symbolic sequence length, where
  the mask is built at run time as torch.onnx writes it (ConstantOfShape ->
  Trilu -> Equal -> Where with -inf).
- efficientnet_b3: torchvision, 300x300, opset 13.
- regnet_x_3_2gf_op9: torchvision, 224x224, opset 9.

Each model gets DIR/NAME.onnx (symbolic ones in DIR/dynamic/) and four .npz
samples in DIR/data/NAME/ (one array per input name; token ids in range of the
embedding table), as --detection writes them.
"""
import math
import os
import sys

import torch
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import exportlib  # noqa: E402  (beside this script)

nn = torch.nn
F = torch.nn.functional

# name -> exporter opset; names ending in _dynhw / _dynseq have symbolic sizes.
UNSEEN4_MODELS = ["yolov5s_640", "yolov5s_640_op11_dynhw", "style_transfer_op10_dynhw",
                  "groupnorm_net_op12", "textcnn_op11", "causal_decoder_op14",
                  "causal_decoder_op14_dynseq", "efficientnet_b3", "regnet_x_3_2gf_op9"]

VOCAB = 2000        # embedding rows of the text models (token ids are drawn below this)
DEC_VOCAB = 512     # the decoder's vocabulary
DEC_MAXLEN = 128    # the decoder's position table


# ---------------------------------------------------------------- YOLOv5s-like

class ConvBnSiLU(nn.Module):
    def __init__(self, i, o, k=1, s=1, p=None):
        super().__init__()
        self.conv = nn.Conv2d(i, o, k, s, k // 2 if p is None else p, bias=False)
        self.bn = nn.BatchNorm2d(o)
        self.act = nn.SiLU()

    def forward(self, x):
        return self.act(self.bn(self.conv(x)))


class Bottleneck(nn.Module):
    def __init__(self, c, shortcut=True):
        super().__init__()
        self.cv1, self.cv2 = ConvBnSiLU(c, c, 1), ConvBnSiLU(c, c, 3)
        self.add = shortcut

    def forward(self, x):
        y = self.cv2(self.cv1(x))
        return x + y if self.add else y


class C3(nn.Module):
    def __init__(self, i, o, n=1, shortcut=True):
        super().__init__()
        h = o // 2
        self.cv1, self.cv2, self.cv3 = ConvBnSiLU(i, h), ConvBnSiLU(i, h), ConvBnSiLU(2 * h, o)
        self.m = nn.Sequential(*(Bottleneck(h, shortcut) for _ in range(n)))

    def forward(self, x):
        return self.cv3(torch.cat([self.m(self.cv1(x)), self.cv2(x)], 1))


class SPPF(nn.Module):
    def __init__(self, i, o):
        super().__init__()
        h = i // 2
        self.cv1, self.cv2 = ConvBnSiLU(i, h), ConvBnSiLU(4 * h, o)
        self.m = nn.MaxPool2d(5, 1, 2)

    def forward(self, x):
        x = self.cv1(x)
        y1 = self.m(x)
        y2 = self.m(y1)
        return self.cv2(torch.cat([x, y1, y2, self.m(y2)], 1))


class Detect(nn.Module):
    """YOLOv5's Detect in export mode: per level, a 1x1 conv to na*(5+nc)
    channels, [bs, na, ny, nx, no] layout, Sigmoid and grid/anchor decoding,
    flattened to [bs, na*ny*nx, no] and concatenated over the levels."""

    def __init__(self, nc, chans, strides):
        super().__init__()
        self.nc, self.no, self.na = nc, nc + 5, 3
        self.strides = strides
        anchors = torch.tensor([[10, 13, 16, 30, 33, 23], [30, 61, 62, 45, 59, 119],
                                [116, 90, 156, 198, 373, 326]], dtype=torch.float32)
        self.register_buffer("anchor_grid", anchors.view(3, 1, 3, 1, 1, 2))
        self.m = nn.ModuleList(nn.Conv2d(c, self.no * self.na, 1) for c in chans)

    def forward(self, xs):
        z = []
        for i, x in enumerate(xs):
            x = self.m[i](x)
            bs, _, ny, nx = x.shape
            x = x.view(bs, self.na, self.no, ny, nx).permute(0, 1, 3, 4, 2)
            yv, xv = torch.meshgrid(torch.arange(ny, dtype=torch.float32),
                                    torch.arange(nx, dtype=torch.float32), indexing="ij")
            grid = torch.stack((xv, yv), 2).view(1, 1, ny, nx, 2) - 0.5
            y = x.sigmoid()
            xy = (y[..., 0:2] * 2 + grid) * self.strides[i]
            wh = (y[..., 2:4] * 2) ** 2 * self.anchor_grid[i]
            y = torch.cat((xy, wh, y[..., 4:]), -1)
            z.append(y.view(bs, -1, self.no))
        return torch.cat(z, 1)


class YOLOv5s(nn.Module):
    """YOLOv5s v6 layout (width 0.5, depth 0.33), 80 classes."""

    def __init__(self, nc=80):
        super().__init__()
        self.b0 = ConvBnSiLU(3, 32, 6, 2, 2)  # YOLOv5 v6's 6x6/2 stem
        self.b1 = ConvBnSiLU(32, 64, 3, 2)
        self.b2 = C3(64, 64, 1)
        self.b3 = ConvBnSiLU(64, 128, 3, 2)
        self.b4 = C3(128, 128, 2)
        self.b5 = ConvBnSiLU(128, 256, 3, 2)
        self.b6 = C3(256, 256, 3)
        self.b7 = ConvBnSiLU(256, 512, 3, 2)
        self.b8 = C3(512, 512, 1)
        self.b9 = SPPF(512, 512)
        self.h10 = ConvBnSiLU(512, 256, 1)
        self.h13 = C3(512, 256, 1, False)
        self.h14 = ConvBnSiLU(256, 128, 1)
        self.h17 = C3(256, 128, 1, False)
        self.h18 = ConvBnSiLU(128, 128, 3, 2)
        self.h20 = C3(256, 256, 1, False)
        self.h21 = ConvBnSiLU(256, 256, 3, 2)
        self.h23 = C3(512, 512, 1, False)
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.detect = Detect(nc, (128, 256, 512), (8, 16, 32))

    def forward(self, x):
        x = self.b2(self.b1(self.b0(x)))
        p3 = self.b4(self.b3(x))
        p4 = self.b6(self.b5(p3))
        p5 = self.b9(self.b8(self.b7(p4)))
        h10 = self.h10(p5)
        h14 = self.h14(self.h13(torch.cat([self.up(h10), p4], 1)))
        o3 = self.h17(torch.cat([self.up(h14), p3], 1))
        o4 = self.h20(torch.cat([self.h18(o3), h14], 1))
        o5 = self.h23(torch.cat([self.h21(o4), h10], 1))
        return self.detect([o3, o4, o5])


# ---------------------------------------------------------- fast neural style

class ConvLayer(nn.Module):
    def __init__(self, i, o, k, s):
        super().__init__()
        self.pad = nn.ReflectionPad2d(k // 2)
        self.conv = nn.Conv2d(i, o, k, s)

    def forward(self, x):
        return self.conv(self.pad(x))


class ResidualBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c1, self.n1 = ConvLayer(c, c, 3, 1), nn.InstanceNorm2d(c, affine=True)
        self.c2, self.n2 = ConvLayer(c, c, 3, 1), nn.InstanceNorm2d(c, affine=True)

    def forward(self, x):
        return x + self.n2(self.c2(F.relu(self.n1(self.c1(x)))))


class UpsampleConv(nn.Module):
    def __init__(self, i, o, k):
        super().__init__()
        self.conv = ConvLayer(i, o, k, 1)

    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class TransformerNet(nn.Module):
    """The fast-neural-style transformer net (PyTorch examples), 3 residual
    blocks instead of 5 to keep it affordable on 2 cores."""

    def __init__(self):
        super().__init__()
        self.down = nn.Sequential(
            ConvLayer(3, 32, 9, 1), nn.InstanceNorm2d(32, affine=True), nn.ReLU(),
            ConvLayer(32, 64, 3, 2), nn.InstanceNorm2d(64, affine=True), nn.ReLU(),
            ConvLayer(64, 128, 3, 2), nn.InstanceNorm2d(128, affine=True), nn.ReLU())
        self.res = nn.Sequential(*(ResidualBlock(128) for _ in range(3)))
        self.up = nn.Sequential(
            UpsampleConv(128, 64, 3), nn.InstanceNorm2d(64, affine=True), nn.ReLU(),
            UpsampleConv(64, 32, 3), nn.InstanceNorm2d(32, affine=True), nn.ReLU(),
            ConvLayer(32, 3, 9, 1))

    def forward(self, x):
        return self.up(self.res(self.down(x)))


# ----------------------------------------------------------------- GroupNorm

class GNBlock(nn.Module):
    def __init__(self, i, o, s):
        super().__init__()
        self.c1, self.g1 = nn.Conv2d(i, o, 3, s, 1, bias=False), nn.GroupNorm(8, o)
        self.c2, self.g2 = nn.Conv2d(o, o, 3, 1, 1, bias=False), nn.GroupNorm(8, o)
        self.skip = nn.Conv2d(i, o, 1, s, bias=False) if (i != o or s != 1) else nn.Identity()

    def forward(self, x):
        y = F.silu(self.g1(self.c1(x)))
        return F.silu(self.g2(self.c2(y)) + self.skip(x))


class GroupNormNet(nn.Module):
    """A ResNet-style classifier with GroupNorm instead of BatchNorm (the
    normalisation of detection/diffusion backbones), 160x160."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 32, 3, 2, 1, bias=False), nn.GroupNorm(8, 32), nn.SiLU())
        self.blocks = nn.Sequential(GNBlock(32, 64, 2), GNBlock(64, 64, 1), GNBlock(64, 128, 2),
                                    GNBlock(128, 128, 1), GNBlock(128, 256, 2))
        self.fc = nn.Linear(256, 100)

    def forward(self, x):
        return self.fc(self.blocks(self.stem(x)).mean((2, 3)))


# ------------------------------------------------------------------ text CNN

class TextCNN(nn.Module):
    """Kim (2014): token ids -> Embedding -> Conv1d of widths 3, 4, 5 -> ReLU
    -> max over time -> Concat -> Linear."""

    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(VOCAB, 128)
        self.convs = nn.ModuleList(nn.Conv1d(128, 100, k) for k in (3, 4, 5))
        self.fc = nn.Linear(300, 4)

    def forward(self, tokens):
        x = self.emb(tokens).transpose(1, 2)
        return self.fc(torch.cat([F.relu(c(x)).amax(-1) for c in self.convs], 1))


# ------------------------------------------------------------ causal decoder

class CausalSelfAttention(nn.Module):
    def __init__(self, d, h, additive):
        super().__init__()
        self.h, self.dk, self.additive = h, d // h, additive
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)

    def forward(self, x):
        b, t, d = x.shape
        q, k, v = self.qkv(x).split(d, dim=2)
        q = q.view(b, t, self.h, self.dk).transpose(1, 2)
        k = k.view(b, t, self.h, self.dk).transpose(1, 2)
        v = v.view(b, t, self.h, self.dk).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(self.dk))
        if self.additive:
            # nn.Transformer.generate_square_subsequent_mask's spelling: a
            # float mask of -inf above the diagonal, added to the scores
            # (ConstantOfShape(-inf) -> Trilu(upper, k=1) -> Add).
            att = att + torch.triu(torch.full((t, t), float("-inf"), device=x.device), diagonal=1)
        else:
            # GPT-style code: with a symbolic t, torch.onnx writes
            # ConstantOfShape -> Trilu -> Equal -> Where(-inf).
            mask = torch.tril(torch.ones(t, t, device=x.device))
            att = att.masked_fill(mask == 0, float("-inf"))
        att = torch.softmax(att, dim=-1)
        y = (att @ v).transpose(1, 2).reshape(b, t, d)
        return self.proj(y)


class DecoderBlock(nn.Module):
    def __init__(self, d, h, additive):
        super().__init__()
        self.ln1, self.attn = nn.LayerNorm(d), CausalSelfAttention(d, h, additive)
        self.ln2 = nn.LayerNorm(d)
        self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))

    def forward(self, x):
        x = x + self.attn(self.ln1(x))
        return x + self.mlp(self.ln2(x))


class CausalDecoder(nn.Module):
    """A 2-layer GPT-style decoder, d=128, 4 heads; returns next-token logits
    for every position. The first block masks with masked_fill (Where), the
    second adds a -inf float mask: the two spellings exporters meet."""

    def __init__(self, d=128, h=4, layers=2):
        super().__init__()
        self.tok = nn.Embedding(DEC_VOCAB, d)
        self.pos = nn.Embedding(DEC_MAXLEN, d)
        self.blocks = nn.Sequential(*(DecoderBlock(d, h, i % 2 == 1) for i in range(layers)))
        self.ln = nn.LayerNorm(d)
        self.head = nn.Linear(d, DEC_VOCAB)

    def forward(self, tokens):
        t = tokens.shape[1]
        pos = torch.arange(t, device=tokens.device).unsqueeze(0)
        x = self.tok(tokens) + self.pos(pos)
        return self.head(self.ln(self.blocks(x)))


# --------------------------------------------------------------------- export

def randomize_bn(model):
    """Random BatchNorm statistics and GroupNorm/InstanceNorm affines, so that
    normalisation layers are not identities."""
    with torch.no_grad():
        for mod in model.modules():
            if isinstance(mod, nn.BatchNorm2d):
                mod.running_mean.uniform_(-0.2, 0.2)
                mod.running_var.uniform_(0.5, 2.0)
                mod.weight.uniform_(0.5, 1.5)
                mod.bias.uniform_(-0.2, 0.2)
            elif isinstance(mod, (nn.GroupNorm, nn.InstanceNorm2d)) and mod.affine:
                mod.weight.uniform_(0.5, 1.5)
                mod.bias.uniform_(-0.2, 0.2)
    return model


def smooth_image(side_h, side_w, seed):
    """A smooth random image (coarse noise upsampled) in [0, 1]."""
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(1, 3, max(side_h // 16, 2), max(side_w // 16, 2), generator=g)
    return F.interpolate(x, size=(side_h, side_w), mode="bilinear", align_corners=False)


def build(arch):
    """(model, example inputs, input names, output names, dynamic axes or None
    for the static export, dynamic axes for the symbolic one)."""
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(1)
    img = {"input": {2: "height", 3: "width"}}
    if arch == "yolov5s_640":
        return randomize_bn(YOLOv5s()).eval(), (smooth_image(640, 640, 2),), ["images"], ["output"], \
            {"images": {2: "height", 3: "width"}, "output": {1: "anchors"}}
    if arch == "style_transfer":
        return randomize_bn(TransformerNet()).eval(), (smooth_image(256, 256, 3) * 255,), ["input"], \
            ["output"], dict(img, output={2: "height", 3: "width"})
    if arch == "groupnorm_net":
        return randomize_bn(GroupNormNet()).eval(), (smooth_image(160, 160, 4),), ["input"], ["output"], img
    if arch == "textcnn":
        t = torch.randint(0, VOCAB, (1, 64), generator=g)
        return TextCNN().eval(), (t,), ["tokens"], ["output"], {"tokens": {1: "seq"}}
    if arch == "causal_decoder":
        t = torch.randint(0, DEC_VOCAB, (1, 32), generator=g)
        return CausalDecoder().eval(), (t,), ["tokens"], ["logits"], \
            {"tokens": {1: "seq"}, "logits": {1: "seq"}}
    if arch in ("efficientnet_b3", "regnet_x_3_2gf"):
        side = 300 if arch == "efficientnet_b3" else 224
        model = getattr(torchvision.models, arch)(weights=None).eval()
        return randomize_bn(model), (smooth_image(side, side, 5) * 2 - 1,), ["input"], ["output"], img
    raise ValueError(f"unknown --unseen4 model {arch}")


def parse(name):
    """NAME -> (architecture, opset, symbolic sizes)."""
    dyn = name.endswith("_dynhw") or name.endswith("_dynseq")
    base = name.rsplit("_", 1)[0] if dyn else name
    arch, sep, tail = base.rpartition("_op")
    if sep and tail.isdigit():
        return arch, int(tail), dyn
    return base, 13, dyn


def export_one(name, out):
    arch, opset, dyn = parse(name)
    model, xs, ins, outs, axes = build(arch)
    outdir = os.path.join(out, "dynamic") if dyn else out
    os.makedirs(outdir, exist_ok=True)
    path = exportlib.torch_export(model, xs, os.path.join(outdir, name + ".onnx"), opset, ins, outs,
                                  axes if dyn else None)
    # Samples 1..3: float inputs plus noise of a tenth of their largest magnitude;
    # token ids redrawn below the embedding table's row count.
    bounds = {n: (VOCAB if arch == "textcnn" else DEC_VOCAB) for n in ins}
    exportlib.write_samples(os.path.join(out, "data", name), ins, xs, exportlib.noise_rel64(0.1, bounds))
    print(f"{path}: {os.path.getsize(path) / 1e6:.1f} MB, opset {opset}", flush=True)


def main(args):
    """Export args.models (default UNSEEN4_MODELS) to args.out (default
    out/bench-models-unseen4); returns the process exit code."""
    return exportlib.export_all(exportlib.model_names(args.models, UNSEEN4_MODELS), export_one,
                                args.out or "out/bench-models-unseen4")
