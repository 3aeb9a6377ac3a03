package realtime

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Presence records which agents and visitors have a live connection, on any
// node. Each connection heartbeats; a member not refreshed within the TTL
// counts as gone, so a node that dies without saying goodbye drops out on
// its own while people connected through other nodes stay online.
//
// Layout: one sorted set per workspace and kind, member "id|conn", score the
// last heartbeat in Unix milliseconds.
type Presence struct {
	client *redis.Client
	prefix string
	TTL    time.Duration
}

// NewPresence keeps presence in Redis (the embedded one on a single node).
func NewPresence(client *redis.Client, prefix string, ttl time.Duration) *Presence {
	return &Presence{client: client, prefix: prefix, TTL: ttl}
}

func (p *Presence) key(kind string, workspaceID int64) string {
	return fmt.Sprintf("%spresence:%s:%d", p.prefix, kind, workspaceID)
}

// Heartbeat marks connection conn of person id ("agent" or "visitor") alive now.
func (p *Presence) Heartbeat(ctx context.Context, kind string, workspaceID, id int64, conn string) error {
	now := time.Now()
	key := p.key(kind, workspaceID)
	pipe := p.client.Pipeline()
	pipe.ZAdd(ctx, key, redis.Z{Score: float64(now.UnixMilli()), Member: fmt.Sprintf("%d|%s", id, conn)})
	// Trim what expired long ago so the set stays small.
	pipe.ZRemRangeByScore(ctx, key, "-inf", strconv.FormatInt(now.Add(-10*p.TTL).UnixMilli(), 10))
	pipe.Expire(ctx, key, 10*p.TTL)
	pipe.HSet(ctx, key+":last", id, now.UnixMilli())
	_, err := pipe.Exec(ctx)
	return err
}

// Leave removes a connection at once (a clean disconnect).
func (p *Presence) Leave(ctx context.Context, kind string, workspaceID, id int64, conn string) error {
	key := p.key(kind, workspaceID)
	pipe := p.client.Pipeline()
	pipe.ZRem(ctx, key, fmt.Sprintf("%d|%s", id, conn))
	pipe.HSet(ctx, key+":last", id, time.Now().UnixMilli())
	_, err := pipe.Exec(ctx)
	return err
}

// Seen returns, for everyone of a kind with a live connection, their latest
// heartbeat.
func (p *Presence) Seen(ctx context.Context, kind string, workspaceID int64) (map[int64]time.Time, error) {
	min := time.Now().Add(-p.TTL).UnixMilli()
	zs, err := p.client.ZRangeByScoreWithScores(ctx, p.key(kind, workspaceID), &redis.ZRangeBy{
		Min: strconv.FormatInt(min, 10), Max: "+inf"}).Result()
	if err != nil {
		return nil, err
	}
	out := map[int64]time.Time{}
	for _, z := range zs {
		member, _ := z.Member.(string)
		idPart, _, _ := strings.Cut(member, "|")
		id, err := strconv.ParseInt(idPart, 10, 64)
		if err != nil {
			continue
		}
		t := time.UnixMilli(int64(z.Score))
		if t.After(out[id]) {
			out[id] = t
		}
	}
	return out, nil
}

// Present reports whether a person has a live connection, without reading
// everyone else's (a disconnect asks it: the set may hold thousands).
func (p *Presence) Present(ctx context.Context, kind string, workspaceID, id int64) (bool, error) {
	min := float64(time.Now().Add(-p.TTL).UnixMilli())
	match := strconv.FormatInt(id, 10) + "|*"
	var cursor uint64
	for {
		// ZSCAN returns member, score, member, score ...
		kv, next, err := p.client.ZScan(ctx, p.key(kind, workspaceID), cursor, match, 500).Result()
		if err != nil {
			return false, err
		}
		for i := 1; i < len(kv); i += 2 {
			if score, err := strconv.ParseFloat(kv[i], 64); err == nil && score >= min {
				return true, nil
			}
		}
		if cursor = next; cursor == 0 {
			return false, nil
		}
	}
}

// LastSeen returns when a person last had a live connection (their last
// heartbeat or clean disconnect), zero when never. It decides whether they
// have been away longer than a grace period.
func (p *Presence) LastSeen(ctx context.Context, kind string, workspaceID, id int64) (time.Time, error) {
	ms, err := p.client.HGet(ctx, p.key(kind, workspaceID)+":last", strconv.FormatInt(id, 10)).Int64()
	if err == redis.Nil {
		return time.Time{}, nil
	} else if err != nil {
		return time.Time{}, err
	}
	return time.UnixMilli(ms), nil
}
