// Package dataset reads the data models are calibrated, evaluated and compared on:
// IDX files (MNIST, Fashion-MNIST; plain or gzip-compressed), folders of PNG/JPEG
// images of any size with a preprocessing spec (Preprocess: resize, crop, letterbox,
// mean/std, BGR, NHWC), and folders of NumPy .npy / .npz tensors for any model inputs.
// Open checks every sample against the model's inputs and returns a Set, read one
// batch at a time in groups of one shape; it also scores top-1 accuracy.
package dataset
