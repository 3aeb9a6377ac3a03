package store_test

import (
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/api/chat"
	"github.com/switchboard-chat/switchboard/api/store/storetest"
)

func TestRateEvents(t *testing.T) {
	db := storetest.Open(t)
	count := func(bucket, key string, since time.Time) int {
		t.Helper()
		n, err := db.CountRateEvents(ctx, bucket, key, since)
		must(t, err)
		return n
	}
	t0 := time.Now().Add(-time.Hour)
	for i := range 5 { // t0, t0+10m, ... t0+40m
		must(t, db.RecordRateEvent(ctx, "login", "ann@example.com", t0.Add(time.Duration(i)*10*time.Minute)))
	}
	must(t, db.RecordRateEvent(ctx, "login", "bob@example.com", t0))
	must(t, db.RecordRateEvent(ctx, "transcript_email", "ann@example.com", t0))

	if n := count("login", "ann@example.com", t0.Add(-time.Second)); n != 5 {
		t.Fatalf("all of ann's failures: %d, want 5", n)
	}
	// Later than since, strictly: the event at since itself is out.
	if n := count("login", "ann@example.com", t0.Add(20*time.Minute)); n != 2 {
		t.Fatalf("ann's failures after t0+20m: %d, want 2", n)
	}
	if n := count("login", "ann@example.com", time.Now()); n != 0 {
		t.Fatalf("ann's failures after now: %d", n)
	}
	if n := count("login", "carol@example.com", t0.Add(-time.Hour)); n != 0 {
		t.Fatalf("an unknown key: %d", n)
	}
	wantCode(t, db.RecordRateEvent(ctx, "", "x", t0), chat.EINVALID)
	wantCode(t, db.RecordRateEvent(ctx, "login", "", t0), chat.EINVALID)

	// Clearing one key leaves the other keys and buckets alone.
	must(t, db.ClearRateEvents(ctx, "login", "ann@example.com"))
	if n := count("login", "ann@example.com", t0.Add(-time.Second)); n != 0 {
		t.Fatalf("after clear: %d", n)
	}
	if count("login", "bob@example.com", t0.Add(-time.Second)) != 1 || count("transcript_email", "ann@example.com", t0.Add(-time.Second)) != 1 {
		t.Fatal("clear removed another key's or bucket's events")
	}

	// The purge drops old events of every bucket and keeps newer ones.
	must(t, db.RecordRateEvent(ctx, "login", "bob@example.com", time.Now()))
	purged, err := db.PurgeRateEvents(ctx, t0.Add(time.Minute))
	must(t, err)
	if purged != 2 {
		t.Fatalf("purged %d events, want 2", purged)
	}
	if count("login", "bob@example.com", t0.Add(-time.Hour)) != 1 || count("transcript_email", "ann@example.com", t0.Add(-time.Hour)) != 0 {
		t.Fatal("purge kept an old event or dropped a new one")
	}
}
