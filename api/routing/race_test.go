//go:build race

package routing_test

// raceEnabled makes the simulation smaller under the race detector, which
// slows the store by an order of magnitude.
const raceEnabled = true
