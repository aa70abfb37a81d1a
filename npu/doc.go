// Package npu is a cycle-approximate simulator of FuriosaAI's Warboy NPU.
//
// Given an int8 model (QDQ or QOperator ONNX, as produced by package quantizer), it
// models what Warboy's compiler and runtime would do and how long it would take:
//
//   - placement: every operator runs on the NPU or, following the supported-operator
//     rules and limits of Warboy's SDK, falls back to the host CPU with a host cost;
//   - fusion: convolution + bias + activation + requantisation, SiLU written as
//     Sigmoid and Mul, elementwise epilogues (residual Add), BatchNormalization folding;
//   - layout and compute: activations are tiled over the slices as H-outer x C-outer,
//     with the width padded to the 32 lanes of the MAC array and channels to 4; a MAC
//     pass costs its reduction at the fetch network's sustained broadcast rate, a
//     per-pass restart, table lookups for transcendental epilogues, halo rows from the
//     neighbouring slice, and in fused mode the operand bridge between the two PEs;
//   - memory: activations stay in SRAM while they fit and spill to DRAM when they do not;
//     weights stream from DRAM through a double-buffered SRAM ring, resident for the
//     whole operator when they fit, streamed once per request in output-channel blocks
//     otherwise (reused by every image of a batch);
//   - host work: Quantize, Lower/Unlower, Dequantize and fallback operators on the host
//     CPU, with PCIe transfers in both directions.
//
// The result is simulated event by event at tile granularity: every task (a weight
// tile load, a compute tile, a store, a host operator, a PCIe transfer) has an
// analytical cost, and tasks contend for the units they need (MAC array, vector
// engine, DMA queues, DRAM bandwidth shared by both PEs, PCIe, host cores). Nothing is
// ticked cycle by cycle, so ResNet-50 simulates in milliseconds.
//
// Every hardware constant lives in a versioned Profile (profiles/warboy-v1.json,
// embedded), each marked published, derived, fitted or guessed with its source, and a
// user may pass a modified profile to ask "what if". See docs/npu.md for the model,
// the fitted parameters and the validation against FuriosaAI's published figures.
package npu
