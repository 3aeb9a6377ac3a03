package routing_test

import (
	"testing"
)

// BenchmarkAssignmentDecision measures one assignment by Drain on the real
// store: loading the routing view, picking by policy, and the locked
// TryAssign transaction with its system message and outbox row.
func BenchmarkAssignmentDecision(b *testing.B) {
	w := newWorld(b)
	for i := 0; i < 20; i++ {
		w.agent(1000, true)
	}
	b.StopTimer()
	for i := 0; i < b.N; i++ {
		w.conversationFast(nil, 0)
	}
	b.StartTimer()
	assigned := 0
	for assigned < b.N {
		n := w.drain()
		if n == 0 {
			b.Fatalf("drain assigned nothing with %d left", b.N-assigned)
		}
		assigned += n
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "assignments/s")
}
