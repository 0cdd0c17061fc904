//go:build race

package expr

// raceEnabled skips allocation guards: the race detector allocates.
const raceEnabled = true
