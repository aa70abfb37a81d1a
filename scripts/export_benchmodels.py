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

For each model MODEL.onnx is written, and, where PyTorch has a quantized
version of the architecture (resnet50, mobilenet_v2), nothing else: the int8
PyTorch timing is done by scripts/torch_int8_bench.py.
"""
import argparse
import os
import sys

import torch
import torchvision

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
# Input side where the architecture is not run at 224x224 (torchvision's
# evaluation size for efficientnet_v2_s; segmentation at 320 to keep the
# dilated backbones affordable on 2 cores).
INPUT_SIZE = {"inception_v3": 299, "lraspp_mobilenet_v3_large": 320, "efficientnet_v2_s": 384,
              "deeplabv3_mobilenet_v3_large": 320, "fcn_resnet50": 320}


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


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=None, help="default out/bench-models, or out/bench-models-extra with --extra")
    ap.add_argument("--models", default=None, help="comma-separated torchvision names (default: the set)")
    ap.add_argument("--extra", action="store_true", help="export the architectures outside the benchmark set")
    ap.add_argument("--unseen", action="store_true",
                    help="export the triage set (neither the benchmark set nor --extra)")
    ap.add_argument("--unseen2", action="store_true",
                    help="export the fourth set (new operator mixes, opset 9/11 spellings, symbolic H/W)")
    ap.add_argument("--opset", type=int, default=13)
    args = ap.parse_args()
    if args.extra + args.unseen + args.unseen2 > 1:
        ap.error("--extra, --unseen and --unseen2 are exclusive")
    if args.out is None:
        args.out = ("out/bench-models-extra" if args.extra else
                    "out/bench-models-unseen" if args.unseen else
                    "out/bench-models-unseen2" if args.unseen2 else "out/bench-models")
    if args.models is None:
        args.models = ",".join(EXTRA_MODELS if args.extra else UNSEEN_MODELS if args.unseen else
                               UNSEEN2_MODELS if args.unseen2 else MODELS)
    os.makedirs(args.out, exist_ok=True)
    failed = []
    for name in args.models.split(","):
        name = name.strip()
        if not name:
            continue
        arch, opset, dyn = parse_name(name, args.opset)
        outdir = os.path.join(args.out, "dynamic") if dyn else args.out
        os.makedirs(outdir, exist_ok=True)
        path = os.path.join(outdir, name + ".onnx")
        tmp = path + ".tmp"
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
        print(f"{path}: {os.path.getsize(path) / 1e6:.1f} MB", flush=True)
    if failed:
        print("not exported: " + ", ".join(failed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
