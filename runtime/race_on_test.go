//go:build race

package runtime

// raceEnabled: the race detector is on; sync.Pool drops a random share of
// what it is given and allocation counts do not hold.
const raceEnabled = true
