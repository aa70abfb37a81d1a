#!/usr/bin/python3
"""Write the small test models of the nineteenth session's unseen14 triage
(docs/models.md, "Unseen families, set 14 (nineteenth session)") and their data:

    /usr/bin/python3 scripts/make_unseen14_testdata.py [OUTDIR]     (default testdata/exported)

The eight onnx.helper graphs of scripts/unseen14_models.py that every command
refused before, each as NAME.onnx with two input samples npz_u14_NAME/s{0,1}.npz
(the two sizes of its symbolic dimensions where it has them) and ONNX Runtime's
outputs npz_u14_NAME_ort/s{0,1}.npz. Test: TestUnseen14AsORT (cmd/warboy).
- logmel_dft_op17, spectral_mask_idft_op17: HannWindow, HammingWindow (symmetric),
  BlackmanWindow, DFT (onesided with a longer dft_length; complex; inverse) and
  MelWeightMatrix. Before: `HannWindow "hann": unsupported operator HannWindow`.
- skl2onnx_logreg_ml, skl2onnx_forest_reg_ml, skl2onnx_gbdt_cls_ml: ai.onnx.ml
  Scaler, LinearClassifier (SOFTMAX), Normalizer L1, LinearRegressor,
  TreeEnsembleRegressor (AVERAGE), Imputer of NaNs, TreeEnsembleClassifier
  (SOFTMAX, base values). Before: `Scaler "Scaler": unsupported operator Scaler
  (domain ai.onnx.ml)`.
- voxelmorph_grid5d_op20: GridSample on a 5-D volume (opset 20). Before: `input of
  rank 5 (4-D only: N, C, H, W)`.
- pointpillars_scatter_op18: ScatterElements reduction "max" and ScatterND
  reduction "add". Before: `unsupported reduction "max"`.
- int4_unpack_bitwise_op18: BitShift with BitwiseAnd/Or/Xor/Not (opset 18). Before:
  `unsupported operator BitwiseAnd`.
Committed so that the tests need neither Python nor node.
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import exportlib  # noqa: E402
import unseen14_models as u  # noqa: E402


def main(out):
    import onnx
    rng = np.random.default_rng(14)
    for name, builder in u.HELPER.items():
        p = os.path.join(out, name + ".onnx")
        m = builder()
        if name not in u.UNCHECKED:
            onnx.checker.check_model(m)
        onnx.save(m, p)
        gen = u.SPECS[name][2]
        data = "npz_u14_" + name
        for d in (data, data + "_ort"):
            os.makedirs(os.path.join(out, d), exist_ok=True)
        for i, alt in enumerate((False, True)):
            feeds = gen(rng, alt)
            np.savez(os.path.join(out, data, f"s{i}.npz"), **feeds)
            np.savez(os.path.join(out, data + "_ort", f"s{i}.npz"), **exportlib.ort_run(p, feeds))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "testdata/exported")
