package api

// The keyed limiter's bookkeeping (eviction, Retry-After) needs a fake
// clock, so it is tested from inside the package; the HTTP behaviour is
// tested in widget_limits_test.go.

import (
	"fmt"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

func TestKeyedLimiterBuckets(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	l := newKeyedLimiter("test", rate.Every(6*time.Second), 3, 100)
	l.now = func() time.Time { return now }
	if l.idle != 18*time.Second {
		t.Fatalf("idle after %v, want the 18 s a bucket takes to refill", l.idle)
	}
	for i := 0; i < 3; i++ {
		if ok, _ := l.allow("a"); !ok {
			t.Fatalf("request %d refused within the burst", i+1)
		}
	}
	ok, wait := l.allow("a")
	if ok || wait <= 5*time.Second || wait > 6*time.Second {
		t.Fatalf("fourth request: allowed %v, wait %v; want refused, about 6 s", ok, wait)
	}
	// A refusal takes nothing: after the wait exactly one more is allowed.
	if ok, _ := l.allow("b"); !ok {
		t.Fatal("another key is limited")
	}
	now = now.Add(wait)
	if ok, _ := l.allow("a"); !ok {
		t.Fatal("refused after the announced wait")
	}
	if ok, _ := l.allow("a"); ok {
		t.Fatal("allowed twice after one refill")
	}
	// Untouched for a whole refill, a bucket is forgotten (it is full anyway).
	now = now.Add(18 * time.Second)
	l.allow("c")
	if n := l.size(); n != 1 {
		t.Fatalf("%d buckets kept after the others went idle, want 1", n)
	}
}

func TestKeyedLimiterCap(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	l := newKeyedLimiter("test", rate.Every(time.Minute), 1, 10)
	l.now = func() time.Time { return now }
	for i := 0; i < 25; i++ {
		now = now.Add(time.Millisecond)
		if ok, _ := l.allow(fmt.Sprint("k", i)); !ok {
			t.Fatalf("new key k%d refused", i)
		}
		if n := l.size(); n > 10 {
			t.Fatalf("%d buckets kept, cap 10", n)
		}
	}
	// The most recent keys are still remembered (and still empty) ...
	if ok, _ := l.allow("k24"); ok {
		t.Fatal("recent key forgotten")
	}
	// ... the least recently used ones were dropped first.
	if ok, _ := l.allow("k0"); !ok {
		t.Fatal("oldest key not evicted")
	}
}

func TestClientKey(t *testing.T) {
	for in, want := range map[string]string{
		"203.0.113.7":                   "203.0.113.7",
		"::ffff:203.0.113.7":            "203.0.113.7",
		"2001:db8:1:2:3:4:5:6":          "2001:db8:1:2::/64",
		"2001:db8:1:2:ffff:ffff:ffff:1": "2001:db8:1:2::/64",
		"fe80::1%eth0":                  "fe80::/64",
		"not an address":                "not an address",
	} {
		if got := clientKey(in); got != want {
			t.Errorf("clientKey(%q) = %q, want %q", in, got, want)
		}
	}
}
