package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/hibiken/asynq"
	"github.com/hibiken/asynqmon"
	"github.com/redis/go-redis/v9"

	"github.com/switchboard-chat/switchboard/api"
	"github.com/switchboard-chat/switchboard/api/chat"
	"github.com/switchboard-chat/switchboard/api/realtime"
	"github.com/switchboard-chat/switchboard/api/routing"
	"github.com/switchboard-chat/switchboard/api/store"
	"github.com/switchboard-chat/switchboard/migrations"
	"github.com/switchboard-chat/switchboard/workers"
)

// deps are the shared connections of a process.
type deps struct {
	db       *store.DB
	redis    *redis.Client
	mini     *miniredis.Miniredis // non-nil in the embedded default
	asynqOpt asynq.RedisConnOpt
}

func (d *deps) Close() {
	if d.redis != nil {
		d.redis.Close()
	}
	if d.mini != nil {
		d.mini.Close()
	}
	if d.db != nil {
		d.db.Close()
	}
}

// openDeps opens the database (migrating it when asked) and Redis: the
// configured one, or an in-process one for the single-binary default.
func openDeps(ctx context.Context, cfg *config, log *slog.Logger, migrate bool) (*deps, error) {
	d := &deps{}
	db, err := store.Open(ctx, cfg.DatabaseURL, cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	d.db = db
	if migrate {
		if err := migrations.Up(ctx, db.SQL(), db.Dialect()); err != nil {
			d.Close()
			return nil, fmt.Errorf("migrate database: %w", err)
		}
	}
	if cfg.RedisURL == "" {
		m := miniredis.NewMiniRedis()
		m.ClockTTL(true) // otherwise keys never expire
		if err := m.StartAddr("127.0.0.1:0"); err != nil {
			d.Close()
			return nil, fmt.Errorf("start embedded redis: %w", err)
		}
		d.mini = m
		d.redis = redis.NewClient(&redis.Options{Addr: m.Addr()})
		d.asynqOpt = asynq.RedisClientOpt{Addr: m.Addr()}
		log.Info("using embedded redis", "addr", m.Addr())
	} else {
		opt, err := redis.ParseURL(cfg.RedisURL)
		if err != nil {
			d.Close()
			return nil, fmt.Errorf("invalid setting SWITCHBOARD_REDIS_URL: %w", err)
		}
		d.redis = redis.NewClient(opt)
		aopt, err := asynq.ParseRedisURI(cfg.RedisURL)
		if err != nil {
			d.Close()
			return nil, fmt.Errorf("invalid setting SWITCHBOARD_REDIS_URL: %w", err)
		}
		d.asynqOpt = aopt
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if err := d.redis.Ping(pctx).Err(); err != nil {
			d.Close()
			return nil, fmt.Errorf("connect to redis: %w", err)
		}
	}
	return d, nil
}

// realtimePrefix names the Redis pub/sub channels that carry realtime
// events between serve nodes and workers. Pub/sub ignores Redis database
// numbers, so the number is part of the name: two deployments sharing one
// Redis server on different databases never hear each other.
func realtimePrefix(client *redis.Client) string {
	return fmt.Sprintf("switchboard:db%d:rt:", client.Options().DB)
}

// startWorkers runs the Asynq server and the outbox relay until ctx ends;
// the returned function waits for them to stop.
func startWorkers(ctx context.Context, d *deps, cfg *config, log *slog.Logger, notify func(context.Context, *chat.Conversation, *chat.Message)) (func(), error) {
	workers.EffectLease = cfg.EffectLease
	srv := workers.NewServer(d.asynqOpt, cfg.WorkerConcurrency, log)
	client := asynq.NewClient(d.asynqOpt)
	outbox := &workers.OutboxHandler{Log: log, Done: d.db, Handlers: map[string][]workers.TopicHandler{}}
	fanout := workers.WebhookFanout(d.db, client)
	for _, topic := range chat.WebhookTopics {
		outbox.Handlers[topic] = append(outbox.Handlers[topic], fanout)
	}
	postman := &workers.Postman{Store: d.db}
	if cfg.SMTPURL != "" {
		mailer, err := workers.NewSMTPMailer(cfg.SMTPURL, cfg.MailFrom)
		if err != nil {
			client.Close()
			return nil, fmt.Errorf("invalid setting SWITCHBOARD_SMTP_URL: %w", err)
		}
		postman.Mailer = mailer
	}
	notifier := &workers.Notifier{Store: d.db, Postman: postman, Queue: client, Render: workers.TranscriptEmail(d.db), BaseURL: baseURL(cfg)}
	ratings := &workers.RatingRequests{Notifier: notifier, Keys: d.db}
	outbox.Handlers[chat.EventConversationClosed] = append(outbox.Handlers[chat.EventConversationClosed], ratings.Closed)
	for topic, h := range map[string]workers.TopicHandler{
		chat.EventTranscriptRequested:  notifier.Transcript,
		chat.EventConversationClosed:   notifier.Transcript,
		chat.EventConversationAssigned: notifier.AgentNotice,
		"mention.created":              notifier.AgentNotice,
		chat.EventMessageCreated:       notifier.VisitorReply,
		"agent.invited":                notifier.AccountEmail,
		"password.reset_requested":     notifier.AccountEmail,
	} {
		outbox.Handlers[topic] = append(outbox.Handlers[topic], h)
	}
	routes := []workers.Route{
		{Type: workers.TypeWebhookDeliver, Handler: &workers.WebhookDeliverer{Store: d.db, Client: workers.NewWebhookClient(cfg.WebhookAllow)}},
		{Type: workers.TypeAgentDigest, Handler: notifier},
		{Type: workers.TypeVisitorDigest, Handler: &workers.VisitorDigest{Notifier: notifier, Markers: d.db}},
		{Type: workers.TypeRatingRequest, Handler: ratings},
	}
	routes = append(routes, workers.NewExportHandler(d.db, store.NewDiskBlobs(filepath.Join(cfg.DataDir, "attachments")), log).Register(outbox)...)
	if err := srv.Start(workers.NewMux(outbox, routes...)); err != nil {
		client.Close()
		return nil, fmt.Errorf("start job workers: %w", err)
	}
	relay := &workers.Relay{Outbox: d.db, Queue: client, Log: log}
	keeper := &workers.Housekeeper{Store: d.db, Blobs: store.NewDiskBlobs(filepath.Join(cfg.DataDir, "attachments")), Notify: notify, Log: log}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); relay.Run(ctx) }()
	go func() { defer wg.Done(); keeper.Run(ctx, 30*time.Second) }()
	// Agents who asked for it hear about conversations waiting too long.
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(time.Minute)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-t.C:
				if err := notifier.QueueAlerts(ctx, d.db, now); err != nil && ctx.Err() == nil {
					log.Warn("queue alerts", "err", err)
				}
			}
		}
	}()
	// Expired export files are purged hourly (the task id keeps it single).
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(time.Hour)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if _, err := client.EnqueueContext(ctx, workers.NewExportPurgeTask()); err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
					log.Warn("schedule export purge", "err", err)
				}
			}
		}
	}()
	return func() {
		wg.Wait()
		srv.Shutdown()
		client.Close()
	}, nil
}

func cmdServe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var demo bool
	cfg, _, err := parseFlags("serve", args, getenv, stderr, func(fs *flag.FlagSet) {
		fs.BoolVar(&demo, "demo", false, "create the demo workspace (site key \"demo\") and print its admin's credentials")
	})
	if err != nil {
		return err
	}
	log := newLogger(stderr, cfg.LogLevel)
	d, err := openDeps(ctx, cfg, log, true)
	if err != nil {
		return err
	}
	defer d.Close()

	if demo {
		if err := seedDemo(ctx, d.db, cfg, stdout); err != nil {
			return fmt.Errorf("demo workspace: %w", err)
		}
	}

	// One node with the embedded Redis needs no pub/sub; otherwise events
	// cross nodes through Redis.
	var broker realtime.Broker = realtime.NewMemoryBroker()
	if d.mini == nil {
		broker = realtime.NewRedisBroker(d.redis, realtimePrefix(d.redis))
	}
	hub, err := realtime.NewHub(ctx, broker, log)
	if err != nil {
		return err
	}
	defer hub.Close()

	// Presence lives in Redis so every node sees every connection; a node
	// that dies drops out after the TTL.
	presence := realtime.NewPresence(d.redis, "switchboard:", cfg.PresenceTTL)
	var srv *api.Server
	engine := routing.New(d.db, presence, func(ctx context.Context, c *chat.Conversation, m *chat.Message) {
		srv.RoutingNotify(ctx, c, m)
	}, log)

	srv = api.New(api.Config{
		Routing:        engine,
		Presence:       presence,
		PresenceEvery:  cfg.PresenceTTL / 3,
		PublicURL:      cfg.PublicURL,
		TrustedProxies: cfg.TrustedProxies,
		SecureCookies:  strings.HasPrefix(cfg.PublicURL, "https://"),
		MaxUploadBytes: int64(cfg.MaxUploadMB) << 20,
		Demo:           demo,
		AdminQueues:    asynqmon.New(asynqmon.Options{RootPath: "/admin/queues", RedisConnOpt: d.asynqOpt}),
		Logger:         log,
		ReadyChecks: map[string]func(context.Context) error{
			"redis": func(ctx context.Context) error { return d.redis.Ping(ctx).Err() },
		},
	}, d.db, store.NewDiskBlobs(filepath.Join(cfg.DataDir, "attachments")), hub)

	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWork()
	engine.AfterDrain = srv.PublishQueue
	routingDone := make(chan struct{})
	go func() { defer close(routingDone); engine.Run(workCtx, 3*time.Second) }()
	presenceDone := make(chan struct{})
	go func() { defer close(presenceDone); srv.WatchPresence(workCtx, cfg.PresenceTTL/3) }()
	waitWorkers := func() {}
	if cfg.EmbeddedWorker {
		if waitWorkers, err = startWorkers(workCtx, d, cfg, log, srv.RoutingNotify); err != nil {
			return err
		}
	}

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("invalid setting SWITCHBOARD_ADDR: %w", err)
	}
	httpSrv := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- httpSrv.Serve(ln) }()
	log.Info("switchboard listening", "addr", ln.Addr().String(), "database", d.db.Dialect(), "embedded_redis", d.mini != nil, "embedded_worker", cfg.EmbeddedWorker)
	fmt.Fprintf(stdout, "Switchboard is running on http://%s\n", displayAddr(ln.Addr()))

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down", "timeout", cfg.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	// Stop accepting, tell websocket clients to reconnect elsewhere, finish
	// in-flight requests, then stop the workers.
	shutdownErr := make(chan error, 1)
	go func() { shutdownErr <- httpSrv.Shutdown(sctx) }()
	srv.Shutdown(sctx)
	if err := <-shutdownErr; err != nil && !errors.Is(err, context.DeadlineExceeded) {
		log.Warn("http shutdown", "err", err)
	}
	stopWork()
	<-routingDone
	<-presenceDone
	waitWorkers()
	log.Info("stopped")
	return nil
}

func displayAddr(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if ok && (tcp.IP == nil || tcp.IP.IsUnspecified()) {
		return fmt.Sprintf("localhost:%d", tcp.Port)
	}
	return a.String()
}

func cmdWorker(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	cfg, _, err := parseFlags("worker", args, getenv, stderr, nil)
	if err != nil {
		return err
	}
	if cfg.RedisURL == "" {
		return errors.New("invalid setting SWITCHBOARD_REDIS_URL: a separate worker needs a shared Redis (serve runs workers in-process with the embedded one)")
	}
	log := newLogger(stderr, cfg.LogLevel)
	d, err := openDeps(ctx, cfg, log, false)
	if err != nil {
		return err
	}
	defer d.Close()
	// A separate worker has no sockets, but changes it makes (auto-close,
	// snooze wake-up) still reach clients live: it publishes the same frames
	// as a serve node, through Redis, to whichever nodes hold the sockets.
	hub, err := realtime.NewHub(ctx, realtime.NewRedisBroker(d.redis, realtimePrefix(d.redis)), log)
	if err != nil {
		return err
	}
	defer hub.Close()
	publisher := api.New(api.Config{Logger: log, PublicURL: cfg.PublicURL}, d.db, store.NewDiskBlobs(filepath.Join(cfg.DataDir, "attachments")), hub)
	wait, err := startWorkers(ctx, d, cfg, log, publisher.RoutingNotify)
	if err != nil {
		return err
	}
	log.Info("switchboard worker running", "concurrency", cfg.WorkerConcurrency)
	<-ctx.Done()
	wait()
	return nil
}

func cmdMigrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "up" && args[0] != "status") {
		return errors.New("usage: switchboard migrate up|status [settings]")
	}
	verb := args[0]
	cfg, _, err := parseFlags("migrate", args[1:], getenv, stderr, nil)
	if err != nil {
		return err
	}
	db, err := store.Open(ctx, cfg.DatabaseURL, cfg.DataDir)
	if err != nil {
		return fmt.Errorf("open database: %w", err)
	}
	defer db.Close()
	if verb == "up" {
		if err := migrations.Up(ctx, db.SQL(), db.Dialect()); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "migrations applied")
	}
	return migrations.Status(ctx, db.SQL(), db.Dialect(), stdout)
}
