package kernels

// quietT is a testify TestingT without a Helper method. The property tests
// check each element with assert first, passing quietT, and call require (with
// the message, t.Helper and testify's walk of the call stack) only on a miss:
// done per element, that walk was 90% of TestDepthwiseF32Padded's time, and
// more under -race, where `make test` runs this package again.
type quietT struct{}

func (quietT) Errorf(string, ...any) {}
