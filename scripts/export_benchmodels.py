#!/usr/bin/python3
"""Export the CPU benchmark set: torchvision models as torch.onnx writes them.

Random weights (no download), opset 13, static batch 1, 224x224 RGB input
named "input". The files are large and not committed; by default they go to
out/bench-models/ (gitignored). Needs Debian's python3-torch and
python3-torchvision (scripts/install-deps.sh); run with /usr/bin/python3.

    /usr/bin/python3 scripts/export_benchmodels.py [--out DIR] [--models a,b,...]
    /usr/bin/python3 scripts/export_benchmodels.py --extra
    /usr/bin/python3 scripts/export_benchmodels.py --unseen
    /usr/bin/python3 scripts/export_benchmodels.py --unseen2
    /usr/bin/python3 scripts/export_benchmodels.py --detection
    /usr/bin/python3 scripts/export_benchmodels.py --unseen3
    /usr/bin/python3 scripts/export_benchmodels.py --unseen4   (see scripts/unseen4_models.py)
    /usr/bin/python3 scripts/export_benchmodels.py --unseen5
    /usr/bin/python3 scripts/export_benchmodels.py --unseen6   (see scripts/unseen6_models.py)
    /usr/bin/python3 scripts/export_benchmodels.py --unseen7   (see scripts/unseen7_models.py)
    /usr/bin/python3 scripts/export_benchmodels.py --unseen8   (see scripts/unseen8_models.py)
    /usr/bin/python3 scripts/export_benchmodels.py --unseen9   (see scripts/unseen9_models.py)
    /usr/bin/python3 scripts/export_benchmodels.py --unseen10  (see scripts/unseen10_models.py)
    /usr/bin/python3 scripts/export_benchmodels.py --unseen11  (see scripts/unseen11_models.py)
    /usr/bin/python3 scripts/export_benchmodels.py --unseen12  (see scripts/unseen12_models.py)
    /usr/bin/python3 scripts/export_benchmodels.py --unseen13  (see scripts/unseen13_models.py)
    /usr/bin/python3 scripts/export_benchmodels.py --unseen15  (see scripts/unseen15_models.py)
    /usr/bin/python3 scripts/export_benchmodels.py --unseen16  (see scripts/unseen16_models.py)
    /usr/bin/python3 scripts/export_benchmodels.py --unseen17  (see scripts/unseen17_models.py)
    /usr/bin/python3 scripts/export_benchmodels.py --unseen18  (see scripts/unseen18_models.py)
    /usr/bin/python3 scripts/export_benchmodels.py --audio     (see scripts/audio_models.py)
    /usr/bin/python3 scripts/export_benchmodels.py --darknet   (see scripts/darknet_models.py)

--extra exports, instead, architectures the executors were not tuned on
(grouped convolutions, channel shuffles, Concat-heavy graphs, hard-swish,
inception branches) to out/bench-models-extra/ unless --out is given: the
check that a speed-up is general and not fitted to the five models above.

--unseen exports a third set, for triage on architectures neither list has
(big Gemm heads, asymmetric 1x7/7x1 convolutions, window attention with roll
and LayerNorm, a segmentation head with Resize, non-224 inputs: inception_v3
at 299x299, lraspp_mobilenet_v3_large at 320x320) to out/bench-models-unseen/
unless --out is given. Segmentation models are exported with their "out" map
only, as the single output "output".

--unseen2 exports a fourth set to out/bench-models-unseen2/ unless --out is
given: architectures none of the lists above has, for new operator mixes
(fused-MBConv, ViT with 32x32 patches, grouped RegNets, dilated segmentation
backbones with a bilinear Resize back to the input size, deep bottleneck
stacks, ConvNeXt-S), and older exporter spellings: mobilenet_v2 at opset 11
(Clip with min/max inputs, file mobilenet_v2_op11.onnx) and resnet18 and
deeplabv3_mobilenet_v3_large at opset 9 (*_op9.onnx: the opset-9 operator
set; DeepLabV3's bilinear upsampling becomes Upsample with scales computed
from Shape -> Slice -> Cast -> Div -> Concat). One model,
deeplabv3_mobilenet_v3_large, is also exported with symbolic height and width
("height", "width") to the dynamic/ subdirectory, which the benchmark tests
(a glob of DIR/*.onnx) leave out: it is run with --input-shape
input=1,3,H,W, and without it must be refused, never guessed. A name in
--models may carry a suffix _opN (export at opset N) or _dynhw (symbolic
H/W, written to DIR/dynamic/).

--detection exports a fifth set to out/bench-models-detection/ unless --out is
given: detection and sequence models with the post-processing torch.onnx writes
(If, Loop, NonMaxSuppression, TopK, RoiAlign, Gather/Scatter on data-dependent
sizes) and symbolic sizes, at opsets 11-13 (see DETECTION_MODELS). Detectors
take one image "input" [1, 3, H, W] and return "boxes", "scores", "labels"
(and "masks" / "keypoints", "keypoints_scores"); the heads are re-initialised
with spread-out weights, so that random-weight class scores are not all tied
(torchvision initialises them to a prior of 0.01 with std 0.01: which of
several tied anchors NMS keeps then depends on the last bit). Names ending in
_dynhw have symbolic "height" and "width"; the sequence models have a symbolic
"seq" (and "batch") and take float features or int64 tokens. Everything goes
to DIR/ (not DIR/dynamic/: the ORT agreement tests of bench/ take one static
input and do not read this set). For each model DIR/data/MODEL/ gets four
.npz samples (one array per input name), for calibration and comparison.

--unseen3 exports a sixth set to out/bench-models-unseen3/ unless --out is
given (see UNSEEN3_MODELS): torchvision architectures none of the lists has
(MaxViT's block/grid attention, ShuffleNetV2 x2.0, SqueezeNet 1.0,
RegNetY-1.6GF; swin_v2_t is left out: torch 1.13 cannot export its aten::zero)
and small modules defined
here with random weights: a UNet (ConvTranspose, Concat skips, bilinear
Resize), a Conv1d keyword spotter (Conv1d, GroupNorm, InstanceNorm, GELU), an
ESPCN-style super-resolution net (PixelShuffle -> DepthToSpace) and a CNN that
normalises its input with mean/std constants (Sub/Div), exported at opset 9
with symbolic height and width (into DIR/dynamic/). Beside the models it
writes, for the sweep (scripts/sweep_exports.sh with EXPORT=0 over a folder
whose models/ points at DIR), DIR/data/NAME/ (four .npy samples),
DIR/data/NAME.in.npy and DIR/manifest.txt.

--unseen5 exports the tenth session's set (video Conv3d nets, VGG-16-BN,
DeepLabV3-ResNet50, GRU/BiLSTM classifiers, a TransformerEncoder with a bool
key padding mask, a two-input two-output net, opset-9 Upsample, a
paddle2onnx-style graph) to out/bench-models-unseen5/ unless --out is given;
the definitions and samples are in scripts/unseen5_models.py.

--unseen6 exports the eleventh session's set (opset 9/10 Slice and Upsample/Resize
spellings, Resize by sizes in every mode, baked-in mean/std and a uint8 NHWC input,
Split/Concat heads, Einsum with Where/Expand, MLP-Mixer with tanh GELU, a KV-cache
decoder step, a CRNN, a Siamese net, ConvTranspose with output_padding, grouped and
dilated convolutions) to out/bench-models-unseen6/; see scripts/unseen6_models.py.

--unseen7 exports the twelfth session's set (InstanceNorm style transfer, opset 8/9
spellings, DepthToSpace DCR, a Conformer, reductions, CenterNet decoding, NonZero,
shared-weight ALBERT, If/Loop from torch.jit.script, external data, a model
quantized by PyTorch) to out/bench-models-unseen7/; see scripts/unseen7_models.py.

--unseen8 exports the thirteenth session's set (GPT-2 with past/present key-values,
T5 relative position buckets, CLIP text, wav2vec 2.0, packed BiLSTM, scripted greedy
decoding, a Llama step on a static cache, DETR, a pose net at opset 9, TF-SAME pads
from Shape, uint8 preprocessing at opset 10, MobileViT, RAFT, paddle2onnx and
keras2onnx graphs at opset 9) to out/bench-models-unseen8/; see scripts/unseen8_models.py.

--unseen9 exports the fourteenth session's set (a HiFi-GAN vocoder, the STFT operator of a
Whisper-style front end, YOLOv8 DFL decoding, PoolFormer, a UNet padded from Shape, MHA with
kdim/vdim, a tf2onnx BERT with int32 inputs and OneHot, opset-18 spellings with per-tensor
external data, Constant-node spellings, Clip at opsets 9 and 12, scatter_add/index_put
accumulate, an LSTMCell decoder, a ViT with interpolated positions) to
out/bench-models-unseen9/; see scripts/unseen9_models.py.

--unseen10 exports the fifteenth session's set (RoI max pooling, paddle2onnx MaxUnpool and
DBNet graphs, Det and metric-learning spellings, Unique for voxelisation, ONNX local
functions, training-mode BatchNorm, an opset-9 export without constant folding,
masked_select/argsort/bucketize post-processing, a 3-D UNet with pooling indices, a run-time
relative position bias, scripted split loops over sequences, grid_sample modes, Real-ESRGAN's
pixel_unshuffle) to out/bench-models-unseen10/; see scripts/unseen10_models.py.

--unseen11 exports the sixteenth session's set (a scripted Optional argument, a classifier
with its loss, PyTorch per-channel and QAT fake-quant exports, a growing scripted loop,
float16 and float64 models, files saved by ONNX Runtime's optimizer and quantizer, caffe2
and tf2onnx norm/pool/ReverseSequence spellings, inputs passed through as outputs) to
out/bench-models-unseen11/; see scripts/unseen11_models.py.

--unseen12 exports the seventeenth session's set (PSPNet pyramid pooling, HRNet fusion,
BiSeNet, PointNet, a GCN by index_add, a sentence encoder with mean pooling in float32 and
float16, a diffusion UNet with a timestep embedding, a scripted symbolic-size restorer,
StyleGAN modulated convolutions, a top-2 mixture of experts, NeRF/SIREN coordinate nets,
the ONNX model zoo's opset-8 spellings) to out/bench-models-unseen12/; see
scripts/unseen12_models.py.

--unseen13 exports the eighteenth session's set (a Mamba block whose recurrence is a Scan,
scripted RWKV and ConvLSTM loops, a PWC-Net cost volume, multi-scale deformable attention by
grid_sample, an RT-DETR post-processor, tf2onnx's CropAndResize Loop and NHWC Resize, a
paddle2onnx OCR recogniser with CTC decoding, opset-18 antialiased Resize and CenterCropPad,
KAN B-splines, TabNet sparsemax, skl2onnx's cdist Scan) to out/bench-models-unseen13/; see
scripts/unseen13_models.py.

--unseen15 exports the twentieth session's set (SegFormer's spatial-reduction attention,
DeBERTa's disentangled attention by GatherElements, a FastSpeech 2 length regulator with a
data-dependent output length, a scripted beam search Loop, Informer's ProbSparse attention
with a TopK k from the symbolic length, RetNet retention, ConvNeXt V2's GRN, SuperPoint's
NMS and keypoint sampling, the opset-19 DeformConv, onnxruntime-genai's 4-bit Llama
spelling with MatMulNBits/RotaryEmbedding/SimplifiedLayerNormalization) to
out/bench-models-unseen15/; see scripts/unseen15_models.py.

--unseen16 exports the twenty-first session's set (Piper's VITS with RandomNormalLike and
the monotonic alignment path, SwinV2's cosine attention and continuous position bias,
SuperGlue's log-space Sinkhorn, NAFNet, Perceiver IO, repeat_interleave by tensor repeats,
ONNX Runtime's transformers-optimizer BERT (EmbedLayerNormalization, Attention), its saved
dynamic-quantized MatMuls (DynamicQuantizeMatMul, MatMulIntegerToFloat), the opset-23
RMSNormalization/RotaryEmbedding/Attention, int4 weights by DequantizeLinear-21 block_size,
skl2onnx's KNN with com.microsoft CDist) to out/bench-models-unseen16/; see
scripts/unseen16_models.py.

--unseen17 exports the twenty-second session's set (PointNet++ farthest point sampling and
ball query, DGCNN EdgeConv kNN, a PyTorch Geometric GAT by opset-18 ScatterElements max/add,
a DDIM step with classifier-free guidance, a byte-level CANINE-style encoder on uint8
bytes, a CTC recogniser with its greedy decoder, mixture-density and quantile heads by
torch.distributions, an Instant-NGP hash grid by BitwiseXor, an FT-Transformer, a decoder
step with top-k/top-p and torch.multinomial, a scripted Kalman filter, DLRM's dot
interaction) to out/bench-models-unseen17/ (--out DIR to change it); see
scripts/unseen17_models.py.

--unseen18 exports the twenty-third session's set (Segment Anything's prompt decoder with a
Resize to an input image size, a tf2onnx SSD with per-class NMS in a Loop, ECAPA-TDNN
attentive statistics pooling, Mamba-2's chunked SSD with four-operand Einsums, a Switch
Transformer with a capacity from the token count, EfficientViT's ReLU linear attention,
LoFTR's linear attention and dual-softmax matching, a Glow flow with its log-determinant,
a TFLite uint8 QDQ graph by tf2onnx, an opset-9 training-mode export with five-output
BatchNormalization, Slot Attention, xLSTM's parallel mLSTM) to out/bench-models-unseen18/
(--out DIR to change it); see scripts/unseen18_models.py.

--darknet exports the thirteenth session's set of nets whose activations carry a
parameter (YOLOv3-tiny and YOLOv4-tiny with LeakyRelu 0.1 at 416x416, a
MobileFaceNet with per-channel PRelu at 112x112, an ENet-style segmenter with
one-slope PRelu) to out/bench-models-darknet/; see scripts/darknet_models.py.

The sample files and the export loop of the opt-in sets are in scripts/exportlib.py.

For each model MODEL.onnx is written, and, where PyTorch has a quantized
version of the architecture (resnet50, mobilenet_v2), nothing else: the int8
PyTorch timing is done by scripts/torch_int8_bench.py.
"""
import argparse
import os
import re
import sys

import torch
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import exportlib  # noqa: E402  (beside this script: samples, export loop, ONNX Runtime check)

MODELS = ["resnet50", "mobilenet_v2", "efficientnet_b0", "convnext_tiny", "vit_b_16"]
# Opt-in (--extra): outside the set the executors were tuned on.
EXTRA_MODELS = ["regnet_y_800mf", "resnext50_32x4d", "densenet121", "shufflenet_v2_x1_0",
                "mnasnet1_0", "mobilenet_v3_large", "squeezenet1_1", "googlenet"]
# Opt-in (--unseen): neither list above; chosen for their operator mixes.
UNSEEN_MODELS = ["resnet18", "alexnet", "vgg11_bn", "inception_v3", "mobilenet_v3_small",
                 "efficientnet_b1", "regnet_x_400mf", "wide_resnet50_2", "swin_t",
                 "lraspp_mobilenet_v3_large"]
# Opt-in (--unseen2): none of the lists above; new operator mixes and older
# exporter spellings (a suffix _opN exports at opset N, _dynhw with symbolic
# height and width into DIR/dynamic/).
UNSEEN2_MODELS = ["efficientnet_v2_s", "vit_b_32", "regnet_y_400mf", "regnet_x_800mf",
                  "mnasnet0_5", "shufflenet_v2_x0_5", "resnet101", "convnext_small",
                  "deeplabv3_mobilenet_v3_large", "fcn_resnet50", "mobilenet_v2_op11",
                  "resnet18_op9", "deeplabv3_mobilenet_v3_large_op9",
                  "deeplabv3_mobilenet_v3_large_dynhw"]
# Opt-in (--unseen3): none of the lists above; torchvision models and the
# modules of SMALL_MODELS (random weights).
UNSEEN3_MODELS = ["maxvit_t", "shufflenet_v2_x2_0", "squeezenet1_0", "regnet_y_1_6gf", "unet_small",
                  "kws_conv1d", "espcn_x3", "meanstd_cnn_op9_dynhw"]
# Opt-in (--detection): detection and sequence models (see the docstring).
DETECTION_MODELS = ["ssdlite320_mobilenet_v3_large_op11", "ssd300_vgg16_op12", "fcos_resnet50_fpn",
                    "fasterrcnn_mobilenet_v3_large_320_fpn_dynhw", "retinanet_resnet50_fpn_op11",
                    "maskrcnn_resnet50_fpn_op11", "keypointrcnn_resnet50_fpn",
                    "transformer_encoder", "mha_cross_op12", "lstm_tagger_op11", "gru_tagger"]
# Image side of the detectors (the two-stage and FPN ones at 320 to keep them
# affordable on 2 cores; torchvision resizes to min_size inside the model).
DET_SIZE = {"ssdlite320_mobilenet_v3_large": 320, "ssd300_vgg16": 300}

# Input side where the architecture is not run at 224x224 (torchvision's
# evaluation size for efficientnet_v2_s; segmentation at 320 to keep the
# dilated backbones affordable on 2 cores).
INPUT_SIZE = {"inception_v3": 299, "lraspp_mobilenet_v3_large": 320, "efficientnet_v2_s": 384,
              "deeplabv3_mobilenet_v3_large": 320, "fcn_resnet50": 320}


class UNetSmall(torch.nn.Module):
    """Two-level UNet: strided encoder, ConvTranspose and bilinear-upsampling
    decoders with Concat skips, a 1-channel mask head."""

    def __init__(self):
        super().__init__()
        nn = torch.nn

        def blk(i, o):
            return nn.Sequential(nn.Conv2d(i, o, 3, padding=1), nn.BatchNorm2d(o), nn.ReLU(inplace=True))
        self.e1, self.e2, self.e3 = blk(3, 16), blk(16, 32), blk(32, 64)
        self.pool = nn.MaxPool2d(2)
        self.up2 = nn.ConvTranspose2d(64, 32, 2, stride=2)
        self.d2 = blk(64, 32)
        self.d1 = blk(48, 16)
        self.head = nn.Conv2d(16, 1, 1)

    def forward(self, x):
        a = self.e1(x)
        b = self.e2(self.pool(a))
        c = self.e3(self.pool(b))
        y = self.d2(torch.cat([self.up2(c), b], 1))
        y = torch.nn.functional.interpolate(y, scale_factor=2.0, mode="bilinear", align_corners=False)
        return torch.sigmoid(self.head(self.d1(torch.cat([y, a], 1))))


class KWSConv1d(torch.nn.Module):
    """Keyword spotting over 40 MFCC x 98 frames: Conv1d stacks with GroupNorm,
    InstanceNorm and GELU, a dilated and a depthwise Conv1d, global average."""

    def __init__(self):
        super().__init__()
        nn = torch.nn
        self.net = nn.Sequential(
            nn.Conv1d(40, 64, 5, padding=2), nn.GroupNorm(8, 64), nn.GELU(),
            nn.Conv1d(64, 64, 3, padding=2, dilation=2), nn.InstanceNorm1d(64, affine=True), nn.GELU(),
            nn.Conv1d(64, 64, 3, padding=1, groups=64), nn.Conv1d(64, 96, 1), nn.GroupNorm(4, 96), nn.GELU(),
            nn.Conv1d(96, 96, 3, stride=2, padding=1), nn.GELU())
        self.fc = nn.Linear(96, 12)

    def forward(self, x):
        return self.fc(self.net(x).mean(-1))


class ESPCN(torch.nn.Module):
    """ESPCN-style x3 super-resolution: tanh convolutions, PixelShuffle."""

    def __init__(self, r=3):
        super().__init__()
        nn = torch.nn
        self.body = nn.Sequential(nn.Conv2d(3, 64, 5, padding=2), nn.Tanh(), nn.Conv2d(64, 32, 3, padding=1),
                                  nn.Tanh(), nn.Conv2d(32, 3 * r * r, 3, padding=1), nn.PixelShuffle(r))

    def forward(self, x):
        return self.body(x)


class MeanStdCNN(torch.nn.Module):
    """A CNN that takes raw [0, 1] pixels and normalises them itself (Sub/Div by
    per-channel constants), then a small conv net with global pooling."""

    def __init__(self):
        super().__init__()
        nn = torch.nn
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))
        self.net = nn.Sequential(
            nn.Conv2d(3, 24, 3, stride=2, padding=1), nn.BatchNorm2d(24), nn.ReLU6(),
            nn.Conv2d(24, 24, 3, padding=1, groups=24), nn.Conv2d(24, 48, 1), nn.BatchNorm2d(48), nn.ReLU6(),
            nn.MaxPool2d(2), nn.Conv2d(48, 96, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
            nn.Linear(96, 10))

    def forward(self, x):
        return self.net((x - self.mean) / self.std)


# name -> (module class, example input shape)
SMALL_MODELS = {"unet_small": (UNetSmall, (1, 3, 128, 128)), "kws_conv1d": (KWSConv1d, (1, 40, 98)),
                "espcn_x3": (ESPCN, (1, 3, 96, 96)), "meanstd_cnn": (MeanStdCNN, (1, 3, 160, 160))}


def build_small(arch):
    """A module of SMALL_MODELS with random weights and BatchNorm statistics."""
    torch.manual_seed(0)
    cls, shape = SMALL_MODELS[arch]
    model = cls().eval()
    with torch.no_grad():
        for mod in model.modules():
            if isinstance(mod, torch.nn.BatchNorm2d):
                mod.running_mean.uniform_(-0.2, 0.2)
                mod.running_var.uniform_(0.5, 2.0)
    x = torch.rand(shape) if arch == "meanstd_cnn" else torch.randn(shape)
    return model, x


def parse_name(name, opset):
    """Split an export name into (architecture, opset, dynamic H/W)."""
    dyn = name.endswith("_dynhw")
    if dyn:
        name = name[:-len("_dynhw")]
    base, sep, tail = name.rpartition("_op")
    if sep and tail.isdigit():
        return base, int(tail), dyn
    return name, opset, dyn


class OutOnly(torch.nn.Module):
    """A torchvision segmentation model returns a dict; export its "out" map."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        return self.model(x)["out"]


def build(name):
    torch.manual_seed(0)
    seg = hasattr(torchvision.models.segmentation, name) and not hasattr(torchvision.models, name)
    fn = getattr(torchvision.models.segmentation if seg else torchvision.models, name)
    kwargs = {}
    if name in ("googlenet", "inception_v3"):
        # No auxiliary classifiers (they are training-only and would be
        # exported as extra outputs); init_weights=True
        # silences the warning about the default changing.
        kwargs = {"aux_logits": False, "init_weights": True}
    if seg:
        kwargs = {"weights_backbone": None}
    model = fn(weights=None, **kwargs).eval()
    # torchvision zero-initialises some layers (vit_b_16's classifier head):
    # random values instead, so that the outputs say something when compared.
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() >= 2 and not p.any():
                torch.nn.init.normal_(p, std=0.02)
    return OutOnly(model).eval() if seg else model


class DetOut(torch.nn.Module):
    """A torchvision detector returns a list of dicts (one per image); export
    the first image's tensors as separate outputs."""

    def __init__(self, model, keys):
        super().__init__()
        self.model = model
        self.keys = keys

    def forward(self, x):
        d = self.model(x)[0]
        return tuple(d[k] for k in self.keys)


LOGITS = re.compile(r"(cls_logits|cls_score|classification_head\.module_list\.\d+(\.1)?)$")


def spread_logits(model, x):
    """Scale the layers that produce class logits (RPN objectness included) so
    that, on the example image x, their outputs have a standard deviation of 3:
    with random weights they are otherwise within ~1e-3 of each other, and
    which of the tied candidates TopK/NMS keep depends on rounding."""
    stats, hooks = {}, []
    for name, mod in model.named_modules():
        if LOGITS.search(name) and isinstance(mod, (torch.nn.Conv2d, torch.nn.Linear)):
            hooks.append(mod.register_forward_hook(
                lambda m, i, o, name=name: stats.setdefault(name, (m, []))[1].append(o.detach().flatten())))
    with torch.no_grad():
        model(x)
        for h in hooks:
            h.remove()
        for name, (mod, outs) in stats.items():
            std = float(torch.cat(outs).std())
            if std > 0:
                mod.weight.mul_(3.0 / std)
                if mod.bias is not None:
                    mod.bias.mul_(3.0 / std)


def build_detector(arch, side, x):
    """A torchvision detector with random weights whose scores are spread out."""
    torch.manual_seed(0)
    fn = getattr(torchvision.models.detection, arch)
    kwargs = {}
    if arch not in DET_SIZE:
        kwargs = {"min_size": side, "max_size": side}
    model = fn(weights=None, weights_backbone=None, **kwargs).eval()
    nn = torch.nn
    with torch.no_grad():
        for name, mod in model.named_modules():
            if isinstance(mod, nn.BatchNorm2d):
                mod.running_mean.uniform_(-0.2, 0.2)
                mod.running_var.uniform_(0.5, 2.0)
            head = any(k in name for k in ("head", "predictor", "rpn"))
            if head and isinstance(mod, (nn.Conv2d, nn.Linear, nn.ConvTranspose2d)):
                # He-normal instead of torchvision's std 0.01 around a fixed
                # prior: logits that differ by whole units, not by 1e-4.
                fan_in = mod.weight[0].numel() if not isinstance(mod, nn.ConvTranspose2d) else \
                    mod.weight.shape[0] * mod.weight[0, 0].numel()
                nn.init.normal_(mod.weight, std=(2.0 / fan_in) ** 0.5)
                if mod.bias is not None:
                    nn.init.uniform_(mod.bias, -0.5, 0.5)
    spread_logits(model, x)
    keys = ["boxes", "scores", "labels"]
    if arch.startswith("maskrcnn"):
        keys.append("masks")
    if arch.startswith("keypointrcnn"):
        keys += ["keypoints", "keypoints_scores"]
    return DetOut(model, keys).eval(), keys


class EncoderModel(torch.nn.Module):
    """Pre-norm TransformerEncoder over a symbolic number of tokens."""

    def __init__(self):
        super().__init__()
        layer = torch.nn.TransformerEncoderLayer(64, 4, 128, dropout=0.0, batch_first=True, norm_first=True)
        self.enc = torch.nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
        self.fc = torch.nn.Linear(64, 8)

    def forward(self, x):
        return self.fc(self.enc(x))


class CrossAttention(torch.nn.Module):
    """nn.MultiheadAttention between a query and a memory of other lengths;
    returns the output and the head-averaged attention weights."""

    def __init__(self):
        super().__init__()
        self.mha = torch.nn.MultiheadAttention(64, 8, batch_first=True)
        self.fc = torch.nn.Linear(64, 64)

    def forward(self, query, memory):
        y, w = self.mha(query, memory, memory)
        return self.fc(y), w


class Tagger(torch.nn.Module):
    """Token ids -> embedding -> 2-layer bidirectional RNN -> per-token tag scores."""

    def __init__(self, cell):
        super().__init__()
        self.emb = torch.nn.Embedding(1000, 64)
        self.rnn = getattr(torch.nn, cell)(64, 96, num_layers=2, bidirectional=True, batch_first=True)
        self.fc = torch.nn.Linear(192, 17)

    def forward(self, tokens):
        y, _ = self.rnn(self.emb(tokens))
        return self.fc(y)


def build_sequence(arch):
    """(model, example inputs, input names, output names, dynamic axes)."""
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(1)
    if arch == "transformer_encoder":
        x = torch.randn(1, 24, 64, generator=g)
        return EncoderModel().eval(), (x,), ["input"], ["output"], {"input": {1: "seq"}, "output": {1: "seq"}}
    if arch == "mha_cross":
        q, m = torch.randn(1, 10, 64, generator=g), torch.randn(1, 30, 64, generator=g)
        axes = {"query": {1: "q_len"}, "memory": {1: "m_len"}, "output": {1: "q_len"},
                "attn_weights": {1: "q_len", 2: "m_len"}}
        return CrossAttention().eval(), (q, m), ["query", "memory"], ["output", "attn_weights"], axes
    cell = {"lstm_tagger": "LSTM", "gru_tagger": "GRU"}[arch]
    t = torch.randint(0, 1000, (2, 20), generator=g)
    axes = {"tokens": {0: "batch", 1: "seq"}, "output": {0: "batch", 1: "seq"}}
    return Tagger(cell).eval(), (t,), ["tokens"], ["output"], axes


def export_detection(name, arch, opset, dyn, out):
    """Export one model of --detection to OUT/NAME.onnx (through a temporary
    file); returns (path, input names, example inputs)."""
    if hasattr(torchvision.models.detection, arch):
        side = DET_SIZE.get(arch, 320)
        g = torch.Generator().manual_seed(2)
        # A smooth random image (coarse noise upsampled) rather than white noise.
        x = torch.nn.functional.interpolate(torch.rand(1, 3, side // 8, side // 8, generator=g),
                                            size=(side, side), mode="bilinear", align_corners=False)
        model, outs = build_detector(arch, side, x)
        xs, ins = (x,), ["input"]
        axes = {"input": {2: "height", 3: "width"}} if dyn else None
    else:
        model, xs, ins, outs, axes = build_sequence(arch)
    path = exportlib.torch_export(model, xs, os.path.join(out, name + ".onnx"), opset, ins, outs, axes)
    return path, ins, xs


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=None, help="default out/bench-models, or out/bench-models-extra with --extra")
    ap.add_argument("--models", default=None, help="comma-separated torchvision names (default: the set)")
    ap.add_argument("--extra", action="store_true", help="export the architectures outside the benchmark set")
    ap.add_argument("--unseen", action="store_true",
                    help="export the triage set (neither the benchmark set nor --extra)")
    ap.add_argument("--unseen2", action="store_true",
                    help="export the fourth set (new operator mixes, opset 9/11 spellings, symbolic H/W)")
    ap.add_argument("--detection", action="store_true",
                    help="export the fifth set (detectors with post-processing, sequence models, symbolic sizes)")
    ap.add_argument("--unseen3", action="store_true",
                    help="export the sixth set (MaxViT, UNet, Conv1d, PixelShuffle, mean/std at opset 9)")
    ap.add_argument("--unseen4", action="store_true",
                    help="export the tenth-session set (scripts/unseen4_models.py) to out/bench-models-unseen4")
    ap.add_argument("--unseen5", action="store_true",
                    help="export the tenth session's set (scripts/unseen5_models.py)")
    ap.add_argument("--unseen6", action="store_true",
                    help="export the eleventh session's set (scripts/unseen6_models.py) to out/bench-models-unseen6")
    ap.add_argument("--unseen7", action="store_true",
                    help="export the twelfth session's set (scripts/unseen7_models.py) to out/bench-models-unseen7")
    ap.add_argument("--unseen8", action="store_true",
                    help="export the thirteenth session's set (scripts/unseen8_models.py) to out/bench-models-unseen8")
    ap.add_argument("--unseen9", action="store_true",
                    help="export the fourteenth session's set (scripts/unseen9_models.py) to out/bench-models-unseen9")
    ap.add_argument("--unseen10", action="store_true",
                    help="export the fifteenth session's set (scripts/unseen10_models.py) to out/bench-models-unseen10")
    ap.add_argument("--unseen11", action="store_true",
                    help="export the sixteenth session's set (scripts/unseen11_models.py) to out/bench-models-unseen11")
    ap.add_argument("--unseen12", action="store_true",
                    help="export the seventeenth session's set (scripts/unseen12_models.py) to out/bench-models-unseen12")
    ap.add_argument("--unseen13", action="store_true",
                    help="export the eighteenth session's set (scripts/unseen13_models.py) to out/bench-models-unseen13")
    ap.add_argument("--unseen14", action="store_true",
                    help="export the nineteenth session's set (scripts/unseen14_models.py) to out/bench-models-unseen14")
    ap.add_argument("--unseen15", action="store_true",
                    help="export the twentieth session's set (scripts/unseen15_models.py) to out/bench-models-unseen15")
    ap.add_argument("--unseen16", action="store_true",
                    help="export the twenty-first session's set (scripts/unseen16_models.py) to out/bench-models-unseen16")
    ap.add_argument("--unseen17", action="store_true",
                    help="export the twenty-second session's set (scripts/unseen17_models.py) to "
                         "out/bench-models-unseen17")
    ap.add_argument("--unseen18", action="store_true",
                    help="export the twenty-third session's set (scripts/unseen18_models.py) to "
                         "out/bench-models-unseen18")
    ap.add_argument("--audio", action="store_true",
                    help="export 1-D convolution nets (TCN, wav2vec-style encoder; scripts/audio_models.py) to out/bench-models-audio")
    ap.add_argument("--darknet", action="store_true",
                    help="export LeakyRelu/PRelu detectors and face nets (scripts/darknet_models.py) to out/bench-models-darknet")
    ap.add_argument("--opset", type=int, default=13)
    args = ap.parse_args()
    if args.darknet:
        import darknet_models  # beside this script; its own names, opsets and samples
        return darknet_models.main(args)
    if args.audio:
        import audio_models  # beside this script; its own names, opsets and samples
        return audio_models.main(args)
    if args.unseen4:
        import unseen4_models  # beside this script; its own names, opsets and samples
        return unseen4_models.main(args)
    if args.unseen5:
        import unseen5_models as u5

        def export5(name, out):
            path = u5.export(name, out)
            print(f"{path}: {os.path.getsize(path) / 1e6:.1f} MB", flush=True)
        return exportlib.export_all(exportlib.model_names(args.models, u5.MODELS), export5,
                                    args.out or "out/bench-models-unseen5")
    if args.unseen6:
        import unseen6_models  # beside this script; its own names, opsets and samples
        return unseen6_models.main(args)
    if args.unseen7:
        import unseen7_models  # beside this script; its own names, opsets and samples
        return unseen7_models.main(args)
    if args.unseen8:
        import unseen8_models  # beside this script; its own names, opsets and samples
        return unseen8_models.main(args)
    if args.unseen9:
        import unseen9_models  # beside this script; its own names, opsets and samples
        return unseen9_models.main(args)
    if args.unseen10:
        import unseen10_models  # beside this script; its own names, opsets and samples
        return unseen10_models.main(args)
    if args.unseen11:
        import unseen11_models  # beside this script; its own names, opsets and samples
        return unseen11_models.export_main(args)
    if args.unseen12:
        import unseen12_models  # beside this script; its own names, opsets and samples
        return unseen12_models.export_main(args)
    if args.unseen13:
        import unseen13_models  # beside this script; its own names, opsets and samples
        return unseen13_models.export_main(args)
    if args.unseen14:
        import unseen14_models  # beside this script; its own names, opsets and samples
        return unseen14_models.export_main(args)
    if args.unseen15:
        import unseen15_models  # beside this script; its own names, opsets and samples
        return unseen15_models.export_main(args)
    if args.unseen16:
        import unseen16_models  # beside this script; its own names, opsets and samples
        return unseen16_models.export_main(args)
    if args.unseen17:
        import unseen17_models  # beside this script; its own names, opsets and samples
        return unseen17_models.export_main(args)
    if args.unseen18:
        import unseen18_models  # beside this script; its own names, opsets and samples
        return unseen18_models.export_main(args)
    if args.extra + args.unseen + args.unseen2 + args.detection + args.unseen3 > 1:
        ap.error("--extra, --unseen, --unseen2, --unseen3 and --detection are exclusive")
    if args.out is None:
        args.out = ("out/bench-models-extra" if args.extra else
                    "out/bench-models-unseen" if args.unseen else
                    "out/bench-models-unseen2" if args.unseen2 else
                    "out/bench-models-detection" if args.detection else
                    "out/bench-models-unseen3" if args.unseen3 else "out/bench-models")
    if args.models is None:
        args.models = ",".join(EXTRA_MODELS if args.extra else UNSEEN_MODELS if args.unseen else
                               UNSEEN2_MODELS if args.unseen2 else
                               DETECTION_MODELS if args.detection else
                               UNSEEN3_MODELS if args.unseen3 else MODELS)
    os.makedirs(args.out, exist_ok=True)
    failed = []
    for name in args.models.split(","):
        name = name.strip()
        if not name:
            continue
        arch, opset, dyn = parse_name(name, args.opset)
        if args.detection:
            try:
                path, ins, xs = export_detection(name, arch, opset, dyn, args.out)
            except Exception as e:  # noqa: BLE001 - report and go on with the others
                print(f"{name}: torch.onnx cannot export {arch} at opset {opset}: {e}", file=sys.stderr, flush=True)
                failed.append(name)
                continue
            # Float inputs plus N(0, 0.5) noise; token ids redrawn below 1000.
            exportlib.write_samples(os.path.join(args.out, "data", name), ins, xs, exportlib.noise_abs_or_ids(0.5, 1000))
            print(f"{path}: {os.path.getsize(path) / 1e6:.1f} MB, opset {opset}", flush=True)
            continue
        outdir = os.path.join(args.out, "dynamic") if dyn else args.out
        os.makedirs(outdir, exist_ok=True)
        path = os.path.join(outdir, name + ".onnx")
        tmp = path + ".tmp"
        if arch in SMALL_MODELS:
            model, x = build_small(arch)
        else:
            model = build(arch)
            side = INPUT_SIZE.get(arch, 224)
            x = torch.randn(1, 3, side, side)
        axes = {"input": {2: "height", 3: "width"}} if dyn else None
        # Not under torch.no_grad(): with gradients enabled nn.MultiheadAttention
        # (vit_b_16) takes its composite path, which torch.onnx can export,
        # instead of the fused aten::_native_multi_head_attention.
        try:
            torch.onnx.export(model, x, tmp, opset_version=opset,
                              input_names=["input"], output_names=["output"],
                              do_constant_folding=True, dynamic_axes=axes)
        except Exception as e:  # noqa: BLE001 - report and go on with the others
            print(f"{path}: torch.onnx cannot export {arch} at opset {opset}: {e}", file=sys.stderr, flush=True)
            failed.append(name)
            if os.path.exists(tmp):
                os.remove(tmp)
            continue
        os.replace(tmp, path)  # nothing half-written under the final name
        if args.unseen3:
            exportlib.write_sweep_data(args.out, name, x, dyn, exportlib.noise_abs(0.2))
        print(f"{path}: {os.path.getsize(path) / 1e6:.1f} MB", flush=True)
    if failed:
        print("not exported: " + ", ".join(failed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
