// Package dataset reads labelled image data sets (IDX files as used by MNIST and
// Fashion-MNIST, plain or gzip-compressed, or a directory of PNG/JPEG images with a
// labels file), turns them into model-ready batches and scores top-1 accuracy.
package dataset
