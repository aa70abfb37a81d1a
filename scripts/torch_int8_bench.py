#!/usr/bin/python3
"""Time PyTorch's own int8 models next to `warboy bench cpu` (batch 1).

torchvision's quantizable resnet50 and mobilenet_v2 with random weights,
post-training quantized (static, per-channel weights) on 8 random batches
with the chosen quantized engine (default onednn), then timed with
torch.set_num_threads(T):

    /usr/bin/python3 scripts/torch_int8_bench.py [--threads 1,2] [--engine onednn] [--iterations 30]

Prints one line per model and thread count: min / p50 / mean milliseconds
(wall clock), then the process CPU time per run (min / p50): under load
the wall clock is mostly other processes' time slices.
"""
import argparse
import statistics
import sys
import time

import torch
import torchvision.models.quantization as qm


def build(name, engine):
    torch.manual_seed(0)
    model = getattr(qm, name)(weights=None, quantize=False).eval()
    model.fuse_model()
    model.qconfig = torch.ao.quantization.get_default_qconfig(engine)
    torch.ao.quantization.prepare(model, inplace=True)
    with torch.no_grad():
        for _ in range(8):
            model(torch.randn(1, 3, 224, 224))
    torch.ao.quantization.convert(model, inplace=True)
    return model


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--engine", default="onednn")
    ap.add_argument("--iterations", type=int, default=30)
    ap.add_argument("--models", default="resnet50,mobilenet_v2")
    args = ap.parse_args()
    if args.engine not in torch.backends.quantized.supported_engines:
        print(f"engine {args.engine} not in {torch.backends.quantized.supported_engines}", file=sys.stderr)
        return 1
    torch.backends.quantized.engine = args.engine
    x = torch.randn(1, 3, 224, 224)
    for name in args.models.split(","):
        model = build(name, args.engine)
        for t in [int(v) for v in args.threads.split(",")]:
            torch.set_num_threads(t)
            lat, cpu = [], []
            try:
                with torch.no_grad():
                    for _ in range(3):
                        model(x)
                    for _ in range(args.iterations):
                        t0, c0 = time.perf_counter(), time.process_time()
                        model(x)
                        lat.append((time.perf_counter() - t0) * 1e3)
                        cpu.append((time.process_time() - c0) * 1e3)
            except RuntimeError as e:  # onednn rejects some shapes at some thread counts
                print(f"pytorch {torch.__version__} {args.engine} int8 {name} threads={t}: failed: {e}", flush=True)
                continue
            lat.sort()
            cpu.sort()
            print(f"pytorch {torch.__version__} {args.engine} int8 {name} threads={t}: "
                  f"min {lat[0]:.2f} ms, p50 {statistics.median(lat):.2f} ms, mean {statistics.mean(lat):.2f} ms ({len(lat)} runs); "
                  f"process CPU time min {cpu[0]:.2f} ms, p50 {statistics.median(cpu):.2f} ms",
                  flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
