#!/usr/bin/python3
"""Write the small test models of the eighteenth session's unseen13 triage
(docs/models.md, "Unseen families, set 13 (eighteenth session)") and their data:

    /usr/bin/python3 scripts/make_unseen13_testdata.py [OUTDIR]     (default testdata/exported)

- mamba_scan_op13.onnx, skl2onnx_cdist_scan_op9.onnx: the onnx.helper graphs of
  scripts/unseen13_models.py whose recurrences are Scan operators (a bidirectional
  Mamba block: states [N, D, S], scan axis 1, a reversed scan; skl2onnx's cdist:
  the state is X, each prototype a scan element); symbolic sizes. npz_mamba/,
  npz_cdist/ inputs (two sizes), *_ort/ ONNX Runtime's outputs. Test:
  TestScanAsORT (every command refused them before: `Scan "f_hT": unsupported
  operator Scan`).
- preproc_aa_op18.onnx: the onnx.helper graph of scripts/unseen13_models.py (a
  decoded uint8 [H, W, 3] image, Resize-18 with axes [0, 1], not_smaller and
  antialias, CenterCropPad to 56x56, mean/std, a CNN). npz_preproc/ (90x120, which
  the Resize shrinks, and 41x30, which it enlarges), npz_preproc_ort/. Test:
  TestUnseen13AsORT (before: `Resize "resized": unsupported attribute
  "keep_aspect_ratio_policy"`).
- rwkv_small_op13.onnx: rwkv_loop_script_op13 of scripts/unseen13_models.py at a
  vocabulary of 20 and 8 channels (torch.jit.script: the WKV recurrence in a Loop
  whose list of outputs is a loop-carried sequence torch.onnx declares only by its
  element type). npz_rwkv/ int64 tokens, npz_rwkv_ort/. Test: TestRWKVLoopAsORT.
- tf2onnx_cropresize_op13.onnx: the onnx.helper graph of scripts/unseen13_models.py
  (NHWC Resize with scales [1, 2, 2, 1] in tf_half_pixel_for_nn, crop_and_resize as
  a Loop of tf_crop_and_resize Resizes, CumSum exclusive/reverse). npz_crop/,
  npz_crop_ort/ (without the large feature map "feat"). Test:
  TestTF2ONNXCropResizeAsORT (crop_logits was 0.3 dB from ONNX Runtime before:
  the Resize moved channel c to c + 1).
Committed so that the tests need neither Python nor node.
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import exportlib  # noqa: E402
import unseen13_models as u  # noqa: E402


def main(out):
    import onnx
    import torch
    rng = np.random.default_rng(13)

    def write(model, data, samples, drop=()):
        for d in (data, data + "_ort"):
            os.makedirs(os.path.join(out, d), exist_ok=True)
        for i, feeds in enumerate(samples):
            np.savez(os.path.join(out, data, f"s{i}.npz"), **feeds)
            ort = {k: v for k, v in exportlib.ort_run(model, feeds).items() if k not in drop}
            np.savez(os.path.join(out, data + "_ort", f"s{i}.npz"), **ort)

    for name, data, gen in (("mamba_scan_op13", "npz_mamba", u._mamba_in),
                            ("skl2onnx_cdist_scan_op9", "npz_cdist", u._skl),
                            ("tf2onnx_cropresize_op13", "npz_crop", u._crops)):
        p = os.path.join(out, name + ".onnx")
        m = u.HELPER[name]()
        onnx.checker.check_model(m)
        onnx.save(m, p)
        # The crop model's feature map (147 KB a sample) is left out of the
        # reference: the crops and their logits are made from it.
        write(p, data, [gen(rng, alt) for alt in (False, True)], drop=("feat",))
    p = os.path.join(out, "preproc_aa_op18.onnx")
    onnx.save(u.preproc_aa_op18(), p)  # opset 18: beyond the onnx package's checker here
    write(p, "npz_preproc", [{"image": (rng.random(s) * 255).astype(np.uint8)} for s in ((90, 120, 3), (41, 30, 3))])
    p = os.path.join(out, "rwkv_small_op13.onnx")
    torch.manual_seed(0)
    feeds = [{"tokens": rng.integers(0, 20, s).astype(np.int64)} for s in ((2, 7), (1, 3))]
    exportlib.torch_export(u.rwkv(20, 8), [torch.from_numpy(feeds[0]["tokens"])], p, 13, ["tokens"], ["logits"],
                           {"tokens": {0: "N", 1: "T"}, "logits": {0: "N", 1: "T"}})
    write(p, "npz_rwkv", feeds)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "testdata/exported")
