package workers

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/hibiken/asynq"
)

// A dead worker's task goes again at once, one waiting on another worker's
// claim polls, and failures back off up to ten minutes.
func TestRetryDelay(t *testing.T) {
	if d := retryDelay(3, asynq.ErrLeaseExpired, nil); d != time.Second {
		t.Errorf("lease expired: %v", d)
	}
	if d := retryDelay(3, fmt.Errorf("mail:1: %w", errBusy), nil); d != 5*time.Second {
		t.Errorf("busy: %v", d)
	}
	for n := 0; n < 25; n++ {
		d := retryDelay(n, errors.New("smtp down"), nil)
		want := min(2*time.Second<<min(n, 9), 10*time.Minute)
		if d < want/2 || d > want {
			t.Errorf("retry %d: %v, want between %v and %v", n, d, want/2, want)
		}
	}
}
