package main

import (
	"context"
	"errors"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/redis/go-redis/v9"

	"github.com/switchboard-chat/switchboard/api/chat"
	"github.com/switchboard-chat/switchboard/api/store"
	"github.com/switchboard-chat/switchboard/api/store/storetest"
)

// holdingSMTP is a real SMTP server that holds the first transaction at
// RCPT until told to refuse it: the moment a worker is killed mid-email.
type holdingSMTP struct {
	mu        sync.Mutex
	delivered []string // the recipients of accepted messages
	holding   chan struct{}
	release   chan struct{}
	held      bool
}

type holdingSession struct {
	s  *holdingSMTP
	to string
}

func (h *holdingSession) Mail(string, *smtp.MailOptions) error { return nil }
func (h *holdingSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	h.to = to
	h.s.mu.Lock()
	first := !h.s.held
	h.s.held = true
	h.s.mu.Unlock()
	if first {
		close(h.s.holding)
		<-h.s.release
		return errors.New("the client went away")
	}
	return nil
}
func (h *holdingSession) Data(r io.Reader) error {
	if _, err := io.ReadAll(r); err != nil {
		return err
	}
	h.s.mu.Lock()
	h.s.delivered = append(h.s.delivered, h.to)
	h.s.mu.Unlock()
	return nil
}
func (h *holdingSession) Reset()        {}
func (h *holdingSession) Logout() error { return nil }

func (s *holdingSMTP) count() int { s.mu.Lock(); defer s.mu.Unlock(); return len(s.delivered) }

// TestKilledWorkerSendsOnce: a `switchboard worker` process is SIGKILLed in
// the middle of sending a transcript email (SMTP transaction open, effect
// claimed, nothing sent). A second worker process picks the orphaned task
// up, takes over the claim once its lease is over, and the email arrives
// exactly once.
func TestKilledWorkerSendsOnce(t *testing.T) {
	if os.Getenv("SWITCHBOARD_TEST_DATABASE_URL") == "" || os.Getenv("SWITCHBOARD_TEST_REDIS_URL") == "" {
		t.Skip("needs SWITCHBOARD_TEST_DATABASE_URL and SWITCHBOARD_TEST_REDIS_URL (worker processes share PostgreSQL and Redis)")
	}
	ctx := context.Background()
	bin := buildBinary(t)

	sink := &holdingSMTP{holding: make(chan struct{}), release: make(chan struct{})}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &holdingSession{s: sink}, nil }))
	srv.Domain, srv.AllowInsecureAuth = "localhost", true
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	redisURL, _ := url.Parse(os.Getenv("SWITCHBOARD_TEST_REDIS_URL"))
	redisURL.Path = "/11" // a database of its own: Asynq's keys have fixed names
	opt, err := redis.ParseURL(redisURL.String())
	if err != nil {
		t.Fatal(err)
	}
	rc := redis.NewClient(opt)
	defer rc.Close()
	if err := rc.FlushDB(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	dbURL := storetest.URL(t)
	env := append(os.Environ(),
		"SWITCHBOARD_DATABASE_URL="+dbURL,
		"SWITCHBOARD_REDIS_URL="+redisURL.String(),
		"SWITCHBOARD_SMTP_URL=smtp://"+ln.Addr().String(),
		"SWITCHBOARD_EFFECT_LEASE=5s",
		"SWITCHBOARD_LOG_LEVEL=warn",
		"SWITCHBOARD_DATA_DIR="+t.TempDir(),
	)
	migrate := exec.Command(bin, "migrate", "up")
	migrate.Env, migrate.Stderr = env, os.Stderr
	if err := migrate.Run(); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	db, err := store.Open(ctx, dbURL, "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	fx := storetest.Seed(t, db)
	conv, _, err := db.CreateConversation(ctx, chat.NewConversation{WorkspaceID: fx.Workspace.ID, SiteID: fx.Site.ID, VisitorID: fx.Visitor.ID, ClientID: "c"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.CreateMessage(ctx, chat.NewMessage{WorkspaceID: fx.Workspace.ID, ConversationID: conv.ID, ClientID: "m",
		AuthorType: chat.AuthorVisitor, AuthorID: fx.Visitor.ID, Kind: chat.KindText, Body: "Please email me this"}); err != nil {
		t.Fatal(err)
	}

	startWorker := func() *exec.Cmd {
		cmd := exec.Command(bin, "worker")
		cmd.Env, cmd.Stderr = env, os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		return cmd
	}
	first := startWorker()
	if err := db.AddOutboxEvent(ctx, fx.Workspace.ID, chat.EventTranscriptRequested, map[string]any{
		"conversation_id": conv.ID, "email": "kim@example.org"}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-sink.holding:
	case <-time.After(60 * time.Second):
		t.Fatal("the first worker never started sending")
	}
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	first.Wait()
	killed := time.Now()
	close(sink.release) // the server side of the dead connection gives up
	if n := sink.count(); n != 0 {
		t.Fatalf("%d emails accepted from the killed worker", n)
	}

	// Asynq's recoverer takes back a task whose 30 s lease expired more than
	// 30 s ago (clock skew), so a worker starting a minute after the kill
	// recovers it at once (one already running would on its next minutely
	// sweep). By then the dead worker's 5 s claim on the email has lapsed.
	time.Sleep(time.Until(killed.Add(61 * time.Second)))
	startWorker()
	deadline := time.Now().Add(150 * time.Second)
	for sink.count() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the second worker never sent the email")
		}
		time.Sleep(200 * time.Millisecond)
	}
	// The task finishes (outbox row done); nothing is sent twice.
	for {
		pending, err := db.StaleOutbox(ctx, time.Now().Add(time.Hour), 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(pending) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the outbox row was never marked done: %+v", pending)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if sink.count() != 1 || !strings.Contains(sink.delivered[0], "kim@example.org") {
		t.Fatalf("delivered: %v", sink.delivered)
	}
	box, err := db.Mailbox(ctx, fx.Workspace.ID, 10)
	if err != nil || len(box) != 1 || box[0].Status != "sent" {
		t.Fatalf("mailbox: %+v %v", box, err)
	}
	t.Logf("email sent once, %s after the kill", time.Since(killed).Round(time.Second))
}
