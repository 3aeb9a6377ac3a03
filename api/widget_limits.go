package api

import (
	"container/list"
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"golang.org/x/time/rate"

	"github.com/switchboard-chat/switchboard/api/chat"
)

// The visitor (widget) REST API is open to anyone who knows a site's
// public key, so it is rate limited with token buckets (docs/protocol.md,
// "Rate limits"). The numbers are far above what a person chatting does and
// far below what a script needs to hurt:
//
//   - New visitors, per client address: a burst of 20, then one every 6 s
//     (600 an hour). Only requests that would create a visitor row count (a
//     session without a valid token, an identify that starts a fresh
//     visitor): a returning visitor resumes with their token and spends
//     nothing, so an office or a mobile carrier's NAT shares the budget only
//     for first visits. A token-less session is counted before any database
//     work, so a flood is refused without touching the database.
//   - Message sends over REST, per visitor: the websocket's per-connection
//     frame limit (Config.FrameRate/FrameBurst, 20/s with bursts of 40), so
//     REST is no way around the socket's limit.
//   - Every other visitor write (new conversation, read, identify, profile,
//     rating, transcript request, upload, session resume), per visitor: a
//     burst of 30, then one a second. The widget makes a handful of these
//     per conversation.
//   - Transcript emails, per visitor, on top of that: a burst of 5, then one
//     every 10 minutes. The address is the visitor's to choose, so this
//     bounds how far one visitor can use the server as a mail relay.
//
// Limits are per node and in memory: behind a load balancer with n nodes a
// client gets at most n times the numbers, and a restart forgets them. That
// is enough to stop floods, which is the point; the exact, shared counts of
// chat.RateLimitStore are kept for logins and agents' transcript emails.
//
// A key (address or visitor) whose bucket has refilled is forgotten, as a
// full bucket and no bucket are the same; at most maxLimiterKeys are kept
// per limit, least recently used dropped first, so memory stays bounded
// whatever an attacker does.
const (
	newVisitorBurst   = 20
	newVisitorEvery   = 6 * time.Second
	visitorWriteBurst = 30
	visitorWriteEvery = time.Second
	transcriptBurst   = 5
	transcriptEvery   = 10 * time.Minute
	maxLimiterKeys    = 50_000
)

var rateLimited = promauto.NewCounterVec(prometheus.CounterOpts{
	Name: "switchboard_rate_limited_total",
	Help: "Visitor API requests refused by a rate limit (HTTP 429), by limit.",
}, []string{"limit"})

// widgetLimits are one server's visitor API limits (Server.limits): route
// middleware, and checks for handlers that decide late.
type widgetLimits struct {
	newVisitors *keyedLimiter // by client address (see clientKey)
	sends       *keyedLimiter // by visitor id
	writes      *keyedLimiter // by visitor id
	transcripts *keyedLimiter // by visitor id
}

func (s *Server) newWidgetLimits() *widgetLimits {
	return &widgetLimits{
		newVisitors: newKeyedLimiter("new_visitor", rate.Every(newVisitorEvery), newVisitorBurst, maxLimiterKeys),
		sends:       newKeyedLimiter("visitor_send", rate.Limit(s.cfg.FrameRate), s.cfg.FrameBurst, maxLimiterKeys),
		writes:      newKeyedLimiter("visitor_write", rate.Every(visitorWriteEvery), visitorWriteBurst, maxLimiterKeys),
		transcripts: newKeyedLimiter("visitor_transcript", rate.Every(transcriptEvery), transcriptBurst, maxLimiterKeys),
	}
}

// perVisitor returns middleware that takes one token from lim for the
// authenticated visitor (it runs after requireVisitor).
func perVisitor(lim *keyedLimiter) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c *echo.Context) error {
			v := currentVisitor(c)
			if v == nil {
				return chat.Errorf(chat.EUNAUTHORIZED, "missing visitor token")
			}
			if err := lim.take(c, strconv.FormatInt(v.ID, 10)); err != nil {
				return err
			}
			return next(c)
		}
	}
}

// send limits REST message sends.
func (l *widgetLimits) send(next echo.HandlerFunc) echo.HandlerFunc {
	return perVisitor(l.sends)(next)
}

// write limits every other visitor write.
func (l *widgetLimits) write(next echo.HandlerFunc) echo.HandlerFunc {
	return perVisitor(l.writes)(next)
}

// transcript limits transcript requests (on top of write).
func (l *widgetLimits) transcript(next echo.HandlerFunc) echo.HandlerFunc {
	return perVisitor(l.transcripts)(next)
}

// newVisitor takes one token from the client address's new-visitor bucket,
// for handlers that learn late whether a request creates a visitor (a
// session without a valid token, an identify that starts a fresh one); call
// it before anything is stored.
func (l *widgetLimits) newVisitor(c *echo.Context) error {
	return l.newVisitors.take(c, clientKey(c.RealIP()))
}

// visitorWrite takes one token from visitor id's write bucket, for handlers
// that learn the visitor themselves (a session resume).
func (l *widgetLimits) visitorWrite(c *echo.Context, visitorID int64) error {
	return l.writes.take(c, strconv.FormatInt(visitorID, 10))
}

// clientKey is the rate-limit key of a client address: the address itself
// for IPv4, its /64 for IPv6 (one subscriber usually holds a whole /64, so
// per address would be no limit at all).
//
// The address is Echo's RealIP: the TCP peer, or for a peer among
// Config.TrustedProxies the client named in X-Forwarded-For.
func clientKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap()
	if a.Is6() {
		if p, err := a.WithZone("").Prefix(64); err == nil {
			return p.String()
		}
	}
	return a.String()
}

// keyedLimiter is a token bucket per key, with idle buckets forgotten and
// the number of buckets capped (least recently used evicted first).
type keyedLimiter struct {
	name  string
	limit rate.Limit
	burst int
	idle  time.Duration // a bucket untouched this long is full again
	max   int
	now   func() time.Time

	mu   sync.Mutex
	keys map[string]*list.Element // of *bucket
	lru  list.List                // front: most recently used
}

type bucket struct {
	key  string
	lim  *rate.Limiter
	used time.Time
}

func newKeyedLimiter(name string, limit rate.Limit, burst, max int) *keyedLimiter {
	// Time to refill a whole bucket from empty; after it a bucket equals a
	// fresh one and can be dropped.
	idle := time.Hour
	if limit == rate.Inf {
		idle = 0
	} else if limit > 0 {
		idle = time.Duration(math.Ceil(float64(burst) / float64(limit) * float64(time.Second)))
	}
	return &keyedLimiter{name: name, limit: limit, burst: burst, idle: idle, max: max, now: time.Now,
		keys: map[string]*list.Element{}}
}

// allow takes one token for key. When there is none it takes nothing and
// says how long until there will be one.
func (l *keyedLimiter) allow(key string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	// Forget buckets that have refilled: the list is in order of use, so
	// they are at the back.
	for e := l.lru.Back(); e != nil; e = l.lru.Back() {
		b := e.Value.(*bucket)
		if now.Sub(b.used) < l.idle {
			break
		}
		l.lru.Remove(e)
		delete(l.keys, b.key)
	}
	var b *bucket
	if e, ok := l.keys[key]; ok {
		b = e.Value.(*bucket)
		l.lru.MoveToFront(e)
	} else {
		if len(l.keys) >= l.max {
			// Full: the least recently used key starts over with a full
			// bucket. That is the cheaper failure: no one is refused
			// because of someone else's traffic.
			old := l.lru.Back()
			l.lru.Remove(old)
			delete(l.keys, old.Value.(*bucket).key)
		}
		b = &bucket{key: key, lim: rate.NewLimiter(l.limit, l.burst)}
		l.keys[key] = l.lru.PushFront(b)
	}
	b.used = now
	r := b.lim.ReserveN(now, 1)
	if !r.OK() {
		return false, l.idle // burst 0: never
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// size is the number of buckets kept (for tests).
func (l *keyedLimiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.keys)
}

// take is allow for a request: a refusal is an ERATELIMIT error (HTTP 429)
// with a Retry-After header in whole seconds.
func (l *keyedLimiter) take(c *echo.Context, key string) error {
	ok, wait := l.allow(key)
	if ok {
		return nil
	}
	secs := int(math.Ceil(wait.Seconds()))
	if secs < 1 {
		secs = 1
	}
	c.Response().Header().Set("Retry-After", strconv.Itoa(secs))
	rateLimited.WithLabelValues(l.name).Inc()
	return chat.Errorf(chat.ERATELIMIT, "%s; try again in %s", limitMessage[l.name], plural(secs, "second"))
}

var limitMessage = map[string]string{
	"new_visitor":        "too many new chat sessions from this network",
	"visitor_send":       "too many messages",
	"visitor_write":      "too many requests",
	"visitor_transcript": "too many transcript requests",
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}
