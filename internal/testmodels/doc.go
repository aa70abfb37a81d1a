// Package testmodels builds the small graph.Models that the tests of several packages
// need (runtime, quantizer, npu, cmd/warboy), so that one model and one builder live in
// one place instead of a copy per package. It is imported by tests only.
package testmodels
