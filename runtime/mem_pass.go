package runtime

// memPassThreads is the number of threads for a memory-bound pass over n
// float32 elements of a channels-last map (a channel shuffle or slice, a
// global pool): one below copyParallelMin, as for the copies of
// parallel_copy.go, and otherwise up to threads, one per parallelMinWork.
//
// Such a pass reads a map the previous step wrote split over the threads
// differently, so half of it sits in the other core's cache, and does little
// arithmetic per element. On the small CNNs at 2 threads (thread CPU time per
// step, runtime/bench_scaling_test.go, minimum of 20 runs, loaded 2-core
// machine) the caller's CPU alone was 86-114% of the one-thread time of the
// step for ShuffleNetV2's fused Concat + shuffle + Slice steps (11k-91k
// elements) and 101-153% for the channels-last global average pools of
// ShuffleNetV2, MobileNetV3 and RegNetY (7x7 and 13x13 maps): splitting them
// cost more than it saved, even when the second thread was there.
func memPassThreads(threads, n int) int {
	if threads <= 1 || n < copyParallelMin {
		return 1
	}
	return min(threads, max(1, n/parallelMinWork))
}
