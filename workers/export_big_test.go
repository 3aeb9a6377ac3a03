package workers_test

import (
	"archive/zip"
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/api/chat"
	"github.com/switchboard-chat/switchboard/api/store"
)

// seedConversations inserts n conversations of three messages each (a
// Cyrillic and CJK greeting, a reply, a thanks) straight into the store's
// database, in one transaction: creating 40,000 rows one store call at a
// time takes minutes, and this test is about reading them back. The smaller
// export tests create theirs through the store's API.
func seedConversations(t testing.TB, e *exportEnv, n int) {
	t.Helper()
	ctx := context.Background()
	pg := e.db.Dialect() == store.DialectPostgres
	tx, err := e.db.SQL().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	// insert runs one multi-row INSERT of rows (each a []any of len(cols)).
	insert := func(table string, cols []string, rows [][]any) {
		var b strings.Builder
		fmt.Fprintf(&b, "INSERT INTO %s (%s) VALUES ", table, strings.Join(cols, ", "))
		args := make([]any, 0, len(rows)*len(cols))
		for i, row := range rows {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("(")
			for j, v := range row {
				if j > 0 {
					b.WriteString(", ")
				}
				args = append(args, v)
				if pg {
					fmt.Fprintf(&b, "$%d", len(args))
				} else {
					b.WriteString("?")
				}
			}
			b.WriteString(")")
		}
		if _, err := tx.ExecContext(ctx, b.String(), args...); err != nil {
			t.Fatalf("seed %s: %v", table, err)
		}
	}
	ws, site, visitor, admin := e.fx.Workspace.ID, e.fx.Site.ID, e.fx.Visitor.ID, e.fx.Admin
	t0 := time.Now().UTC().Add(-time.Duration(n) * time.Minute).Truncate(time.Microsecond)
	convCols := []string{"workspace_id", "site_id", "visitor_id", "client_id", "status", "priority", "labels", "last_seq", "last_message_at", "created_at", "updated_at"}
	batch := 500
	if !pg {
		batch = 40 // the SQLite driver binds parameters in quadratic time
	}
	for i := 0; i < n; i += batch {
		var rows [][]any
		for k := i; k < min(n, i+batch); k++ {
			at := t0.Add(time.Duration(k) * time.Minute)
			rows = append(rows, []any{ws, site, visitor, fmt.Sprint("c", k), chat.ConvOpen, chat.PriorityNormal, `["seed"]`, 3, at.Add(2 * time.Second), at, at})
		}
		insert("conversations", convCols, rows)
	}
	q := "SELECT id, created_at FROM conversations WHERE workspace_id = ? ORDER BY id"
	if pg {
		q = strings.Replace(q, "?", "$1", 1)
	}
	res, err := tx.QueryContext(ctx, q, ws)
	if err != nil {
		t.Fatal(err)
	}
	type conv struct {
		id int64
		at time.Time
	}
	var convs []conv
	for res.Next() {
		var c conv
		if err := res.Scan(&c.id, &c.at); err != nil {
			t.Fatal(err)
		}
		convs = append(convs, c)
	}
	if err := res.Err(); err != nil || len(convs) != n {
		t.Fatalf("seeded %d conversations: %v", len(convs), err)
	}
	msgCols := []string{"conversation_id", "seq", "client_id", "author_type", "author_id", "author_name", "kind", "body", "attachments", "created_at"}
	for i := 0; i < n; i += batch {
		var rows [][]any
		for k := i; k < min(n, i+batch); k++ {
			c := convs[k]
			rows = append(rows,
				[]any{c.id, 1, "m1", chat.AuthorVisitor, visitor, "", chat.KindText, fmt.Sprintf("Hello, order #%d has not arrived — Привет, 你好", k), "[]", c.at},
				[]any{c.id, 2, "m2", chat.AuthorAgent, admin.ID, admin.Name, chat.KindText, "Sorry about that! Let me check the tracking number for you.", "[]", c.at.Add(time.Second)},
				[]any{c.id, 3, "m3", chat.AuthorVisitor, visitor, "", chat.KindText, "Thanks, that helps a lot.", "[]", c.at.Add(2 * time.Second)})
		}
		insert("messages", msgCols, rows)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

// memPeak samples the heap while a job runs.
type memPeak struct {
	stop              chan struct{}
	done              chan struct{}
	heapPeak, sysPeak uint64
	before            runtime.MemStats
}

func startMemPeak() *memPeak {
	runtime.GC()
	p := &memPeak{stop: make(chan struct{}), done: make(chan struct{})}
	runtime.ReadMemStats(&p.before)
	go func() {
		defer close(p.done)
		var ms runtime.MemStats
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			runtime.ReadMemStats(&ms)
			p.heapPeak = max(p.heapPeak, ms.HeapAlloc)
			p.sysPeak = max(p.sysPeak, ms.Sys)
			select {
			case <-p.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return p
}

func (p *memPeak) finish() (heapPeak, heapBefore, sysPeak, totalAlloc uint64) {
	close(p.stop)
	<-p.done
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return p.heapPeak, p.before.HeapAlloc, p.sysPeak, ms.TotalAlloc - p.before.TotalAlloc
}

const mib = 1 << 20

// TestBulkExport10000 exports 10,000 conversations (30,000 messages) into a
// ZIP and reports the time and the peak heap: the export streams, so the
// heap stays flat however many conversations there are. Numbers are
// recorded in docs/benchmarks.md.
func TestBulkExport10000(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds 10,000 conversations; skipped with -short")
	}
	const n = 10000
	e := newExportEnv(t)
	seedStart := time.Now()
	seedConversations(t, e, n)
	seedTook := time.Since(seedStart)

	x := e.export(&chat.Export{Kind: chat.ExportBulk, Format: chat.FormatZIP, Options: chat.ExportOptions{Timezone: "Europe/Berlin"}})
	mem := startMemPeak()
	start := time.Now()
	if errs := e.runJobs(); len(errs) > 0 {
		t.Fatal(errs)
	}
	took := time.Since(start)
	heapPeak, heapBefore, sysPeak, totalAlloc := mem.finish()
	x = e.reload(x.ID)
	if x.Status != chat.ExportReady {
		t.Fatalf("%+v", x)
	}

	// Check the archive without loading it: count the CSV rows.
	f, err := e.blobs.Open(context.Background(), x.StorageKey)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := zip.NewReader(f.(io.ReaderAt), x.Size)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for _, zf := range zr.File {
		rc, err := zf.Open()
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(rc)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			counts[zf.Name]++
		}
		rc.Close()
	}
	if counts["conversations.csv"] != n+1 || counts["messages.csv"] != 3*n+1 || counts["messages.jsonl"] != 3*n {
		t.Fatalf("line counts %v", counts)
	}
	growth := int64(heapPeak) - int64(heapBefore)
	t.Logf("%s: seeded %d conversations in %s; exported %d conversations, %d messages in %s (%.0f conversations/s); ZIP %.1f MiB",
		e.db.Dialect(), n, seedTook.Round(time.Millisecond), n, 3*n, took.Round(time.Millisecond), float64(n)/took.Seconds(), float64(x.Size)/mib)
	t.Logf("memory: heap before %.1f MiB, peak %.1f MiB (growth %.1f MiB), process Sys peak %.1f MiB, allocated in total %.0f MiB",
		float64(heapBefore)/mib, float64(heapPeak)/mib, float64(growth)/mib, float64(sysPeak)/mib, float64(totalAlloc)/mib)
	// Streaming: the heap grows by buffers, not by the export's size.
	if growth > 64*mib {
		t.Errorf("heap grew by %.1f MiB during the export: something is held in memory", float64(growth)/mib)
	}
	if os.Getenv("SWITCHBOARD_EXPORT_BENCH_PDF") != "" {
		// Optionally the same with a PDF per conversation (slow: minutes).
		y := e.export(&chat.Export{Kind: chat.ExportBulk, Format: chat.FormatZIP, Options: chat.ExportOptions{IncludePDFs: true}})
		mem := startMemPeak()
		start := time.Now()
		if errs := e.runJobs(); len(errs) > 0 {
			t.Fatal(errs)
		}
		took := time.Since(start)
		heapPeak, heapBefore, _, _ := mem.finish()
		y = e.reload(y.ID)
		t.Logf("with PDFs: %s (%.0f conversations/s), ZIP %.1f MiB, heap peak %.1f MiB (growth %.1f MiB)", took.Round(time.Millisecond),
			float64(n)/took.Seconds(), float64(y.Size)/mib, float64(heapPeak)/mib, (float64(heapPeak)-float64(heapBefore))/mib)
	}
}
