package api_test

import (
	"fmt"
	"testing"

	"github.com/switchboard-chat/switchboard/api"
)

// BenchmarkSendToDelivered measures one visitor message from the websocket
// send to the agent's websocket receiving it: validation, the database
// commit, the broker and the hub. Allocations count the whole process
// (client and server). Set SWITCHBOARD_TEST_DATABASE_URL and
// SWITCHBOARD_TEST_REDIS_URL to measure PostgreSQL + Redis pub/sub.
func BenchmarkSendToDelivered(b *testing.B) {
	// One connection sends as fast as it can: lift the per-connection
	// frame limit, which would otherwise be what this measures.
	e := newEnvWith(b, api.Config{FrameRate: 1e6, FrameBurst: 1e6})
	agent := e.agentWS(e.loginAgent(e.admin.Email, e.password))
	defer agent.close()
	_, vs := e.newVisitor(e.site)
	visitor := e.visitorWS(vs.Token)
	defer visitor.close()
	visitor.send(map[string]any{"type": "send", "id": "0", "client_id": "warm-up", "body": "hello"})
	convID := visitor.expect("ack").Message.ConversationID
	agent.expect("message")

	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		visitor.send(map[string]any{"type": "send", "conversation_id": convID, "client_id": fmt.Sprint("b-", i), "body": "How do I reset my password?"})
		if f := agent.expect("message"); f.Message.Seq != int64(i+2) {
			b.Fatalf("agent got seq %d, want %d", f.Message.Seq, i+2)
		}
		// Drain the visitor's own frames so its buffer does not grow.
		visitor.pending = visitor.pending[:0]
		for len(visitor.frames) > 0 {
			<-visitor.frames
		}
	}
}
