// Package bench measures models end to end: top-1 accuracy on a labelled data set,
// CPU latency of the float32 and int8 executors, kernel throughput, and the combined
// accuracy-and-latency report of `warboy bench`. The CLI and the tests call the same
// functions, so a figure in a report is the figure the individual commands print.
// Prepare and PrepareAndSimulate (quantize a float model, then simulate it) live here
// because bench is the layer that composes the quantizer and the simulator.
package bench
