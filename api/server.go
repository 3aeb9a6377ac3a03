// Package api is Switchboard's HTTP server: routes, handlers, middleware, the
// websocket gateway and the OpenAPI document. It is the only package that
// imports Echo.
package api

import (
	"context"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v5"
	"github.com/labstack/echo/v5/middleware"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	console "github.com/switchboard-chat/switchboard/agent-console"
	"github.com/switchboard-chat/switchboard/api/chat"
	"github.com/switchboard-chat/switchboard/api/realtime"
	"github.com/switchboard-chat/switchboard/api/routing"
	"github.com/switchboard-chat/switchboard/widget"
)

// Config holds the server's settings; cmd fills it from flags and env.
type Config struct {
	// PublicURL is the externally visible origin, e.g. https://chat.example.com.
	// Empty means "whatever Host the request came to", fine on one host.
	PublicURL string
	// TrustedProxies are the networks of reverse proxies whose
	// X-Forwarded-For names the client; empty: the TCP peer is the client.
	TrustedProxies []netip.Prefix
	// SecureCookies marks the session cookie Secure (on behind HTTPS).
	SecureCookies bool
	// MaxUploadBytes caps one attachment (default 25 MiB).
	MaxUploadBytes int64
	// FrameRate and FrameBurst limit the frames one websocket client may
	// send per second (defaults 20 and 40).
	FrameRate, FrameBurst int
	// Routing assigns conversations; nil turns automatic assignment off.
	Routing *routing.Engine
	// Presence records live connections; nil treats everyone as connected.
	Presence *realtime.Presence
	// PresenceEvery is how often a connection refreshes its presence
	// (default 20s; keep it well under the presence TTL).
	PresenceEvery time.Duration
	// AdminQueues is the job dashboard, served at /admin/queues to admins.
	AdminQueues http.Handler
	// Demo serves /demo, a host page embedding the widget for site "demo".
	Demo bool
	// ReadyChecks are probed by /readyz (database, Redis ...).
	ReadyChecks map[string]func(context.Context) error
	Logger      *slog.Logger
}

// Server serves the REST API, the websockets and the two front ends.
type Server struct {
	cfg    Config
	store  chat.Store
	blobs  chat.BlobStorage
	hub    *realtime.Hub
	log    *slog.Logger
	echo   *echo.Echo
	logins *rateLimiter // failed logins per lower-cased email
	// transcriptMails counts the transcripts each agent emailed (by id).
	transcriptMails *rateLimiter
	limits          *widgetLimits // the visitor API's, built by routes()

	connsMu  sync.Mutex
	conns    map[*wsConn]struct{}
	connsWG  sync.WaitGroup
	shutdown bool
}

// New builds a server. Call Handler to serve it and Shutdown to drain it.
func New(cfg Config, store chat.Store, blobs chat.BlobStorage, hub *realtime.Hub) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.FrameRate == 0 {
		cfg.FrameRate, cfg.FrameBurst = wsFrameRate, wsFrameBurst
	}
	if cfg.PresenceEvery == 0 {
		cfg.PresenceEvery = 20 * time.Second
	}
	if cfg.MaxUploadBytes == 0 {
		cfg.MaxUploadBytes = 25 << 20
	}
	s := &Server{
		cfg:    cfg,
		store:  store,
		blobs:  blobs,
		hub:    hub,
		log:    cfg.Logger,
		logins: newRateLimiter(store, "login", maxFailedLogins, failedLoginWindow),
		conns:  map[*wsConn]struct{}{},
	}
	s.transcriptMails = newRateLimiter(store, "transcript_email", maxTranscriptMails, transcriptMailWindow)
	e := echo.NewWithConfig(echo.Config{Logger: cfg.Logger})
	if len(cfg.TrustedProxies) > 0 {
		// Only the configured proxies are believed, not every private address.
		opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
		for _, p := range cfg.TrustedProxies {
			opts = append(opts, echo.TrustIPRange(&net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}))
		}
		e.IPExtractor = echo.ExtractIPFromXFFHeader(opts...)
	}
	e.HTTPErrorHandler = s.handleError
	e.Use(middleware.RequestID())
	e.Use(s.observe)
	e.Use(middleware.Recover())
	e.Use(securityHeaders)
	e.Use(middleware.GzipWithConfig(middleware.GzipConfig{
		// Compressing breaks the websocket handshake; streams are small anyway.
		Skipper: func(c *echo.Context) bool { return c.IsWebSocket() || strings.HasPrefix(c.Path(), "/metrics") },
	}))
	s.echo = e
	s.routes()
	return s
}

// Handler returns the server's http.Handler.
func (s *Server) Handler() http.Handler { return s.echo }

// Routes lists the registered routes (used by the OpenAPI coverage test).
func (s *Server) Routes() []RouteInfo {
	var out []RouteInfo
	for _, r := range s.echo.Router().Routes() {
		out = append(out, RouteInfo{Method: r.Method, Path: r.Path})
	}
	return out
}

// RouteInfo is one registered route.
type RouteInfo struct{ Method, Path string }

const jsonLimit = "1M"

func (s *Server) routes() {
	e := s.echo
	e.GET("/healthz", func(c *echo.Context) error { return c.JSON(http.StatusOK, map[string]string{"status": "ok"}) })
	e.GET("/readyz", s.readyz)
	e.GET("/metrics", echo.WrapHandler(promhttp.Handler()))

	v1 := e.Group("/api/v1", middleware.BodyLimit(1<<20))
	v1.GET("/openapi.json", s.openAPI)

	// Agent authentication.
	v1.POST("/auth/login", s.login)
	v1.POST("/auth/logout", s.logout)
	v1.POST("/auth/set-password", s.setPassword)
	v1.POST("/auth/forgot", s.forgotPassword)

	// Widget (visitor) API; its writes are rate limited (widget_limits.go).
	s.limits = s.newWidgetLimits()
	lim := s.limits
	v1.POST("/widget/sessions", s.widgetSession)
	v1.GET("/widget/ws", s.visitorWS)
	w := v1.Group("/widget", s.requireVisitor)
	w.GET("/conversations", s.widgetConversations)
	w.POST("/conversations", s.widgetCreateConversation, lim.write)
	w.GET("/conversations/:id", s.widgetConversation)
	w.GET("/conversations/:id/messages", s.widgetMessages)
	w.POST("/conversations/:id/messages", s.widgetSend, lim.send)
	w.POST("/conversations/:id/read", s.widgetRead, lim.write)
	w.GET("/attachments/:id", s.widgetDownload)
	w.GET("/availability", s.widgetAvailability)
	w.GET("/conversations/:id/queue", s.widgetQueue)
	w.POST("/identify", s.identify, lim.write)
	w.PATCH("/visitor", s.patchVisitor, lim.write)
	w.POST("/conversations/:id/rating", s.rateConversation, lim.write)
	w.POST("/conversations/:id/transcript", s.requestTranscript, lim.write, lim.transcript)
	e.POST("/api/v1/widget/conversations/:id/attachments", s.widgetUpload, s.requireVisitor, lim.write)

	// Agent API.
	v1.GET("/agent/ws", s.agentWS)
	a := v1.Group("", s.requireAgent)
	a.GET("/me", s.me)
	a.PUT("/me/status", s.setMyStatus)
	a.GET("/agents", s.listAgents)
	a.GET("/conversations", s.listConversations)
	a.GET("/conversations/:id", s.getConversation)
	a.GET("/conversations/:id/messages", s.conversationMessages)
	a.POST("/conversations/:id/messages", s.reply)
	a.POST("/conversations/:id/notes", s.note)
	a.POST("/conversations/:id/assign", s.assign)
	a.POST("/conversations/:id/close", s.closeConversation)
	a.POST("/conversations/:id/reopen", s.reopenConversation)
	a.PUT("/conversations/:id/labels", s.setLabels)
	a.PUT("/conversations/:id/priority", s.setPriority)
	a.POST("/conversations/:id/read", s.agentRead)
	a.GET("/visitors/:id", s.getVisitor)
	a.GET("/attachments/:id", s.agentDownload)
	e.POST("/api/v1/conversations/:id/attachments", s.agentUpload, s.requireAgent)
	a.POST("/conversations/:id/export", s.exportConversation)
	a.POST("/conversations/:id/transcript/email", s.emailTranscript)
	a.POST("/exports", s.createBulkExport, s.requireAdmin)
	a.GET("/exports", s.listExports)
	a.GET("/exports/:id", s.getExport)
	v1.GET("/exports/:id/download", s.downloadExport)     // the link's token is the credential
	v1.GET("/shared/attachments/:id", s.sharedAttachment) // signed links in transcript emails
	// The page behind an emailed rating request's signed links.
	e.GET("/rate/:id", s.ratingPage)
	e.POST("/rate/:id", s.submitRating, middleware.BodyLimit(16<<10))

	// Agent console (docs/console-api.md): account, inbox views, claiming.
	a.PATCH("/me", s.patchMe)
	a.GET("/conversations/counts", s.conversationCounts)
	a.GET("/filters", s.listFilters)
	a.POST("/filters", s.createFilter)
	a.DELETE("/filters/:id", s.deleteFilter)
	a.POST("/conversations/:id/claim", s.claim)
	a.POST("/conversations/:id/snooze", s.snooze)
	// Reads the console needs for every agent; sites hide their secret from non-admins.
	a.GET("/sites", s.listSites)
	a.GET("/sites/:id", s.getSite)
	a.GET("/teams", s.listTeams)
	a.GET("/canned", s.listCanned)
	a.GET("/labels", s.listLabels)
	// Administration: admins only.
	a.POST("/sites", s.createSite, s.requireAdmin)
	a.PATCH("/sites/:id", s.patchSite, s.requireAdmin)
	a.POST("/sites/:id/rotate-secret", s.rotateSecret, s.requireAdmin)
	a.POST("/agents/invite", s.inviteAgent, s.requireAdmin)
	a.PATCH("/agents/:id", s.patchAgent, s.requireAdmin)
	a.POST("/teams", s.createTeam, s.requireAdmin)
	a.PATCH("/teams/:id", s.patchTeam, s.requireAdmin)
	a.DELETE("/teams/:id", s.deleteTeam, s.requireAdmin)
	a.POST("/canned", s.createCanned, s.requireAdmin)
	a.PATCH("/canned/:id", s.patchCanned, s.requireAdmin)
	a.DELETE("/canned/:id", s.deleteCanned, s.requireAdmin)
	a.POST("/labels", s.createLabel, s.requireAdmin)
	a.DELETE("/labels/:id", s.deleteLabel, s.requireAdmin)
	a.GET("/tokens", s.listTokens, s.requireAdmin)
	a.POST("/tokens", s.createToken, s.requireAdmin)
	a.DELETE("/tokens/:id", s.deleteToken, s.requireAdmin)
	a.GET("/workspace", s.getWorkspace, s.requireAdmin)
	a.PATCH("/workspace", s.patchWorkspace, s.requireAdmin)
	a.GET("/audit", s.listAudit, s.requireAdmin)
	a.GET("/webhooks", s.listWebhooks, s.requireAdmin)
	a.POST("/webhooks", s.createWebhook, s.requireAdmin)
	a.DELETE("/webhooks/:id", s.deleteWebhook, s.requireAdmin)
	a.GET("/webhooks/:id/deliveries", s.webhookDeliveries, s.requireAdmin)
	a.GET("/mailbox", s.mailbox, s.requireAdmin)
	a.GET("/routing", s.getRouting, s.requireAdmin)
	a.PUT("/routing", s.putRouting, s.requireAdmin)
	a.PUT("/teams/:id/routing", s.putTeamRouting, s.requireAdmin)

	if s.cfg.AdminQueues != nil {
		s.mountQueues(s.cfg.AdminQueues)
	}

	// Front ends.
	if s.cfg.Demo {
		s.demoRoutes()
	}
	e.GET("/widget.js", s.widgetAsset("widget.js"))
	e.GET("/widget/:file", s.widgetFile)
	e.GET("/*", s.consoleAsset)
}

func (s *Server) readyz(c *echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 3*time.Second)
	defer cancel()
	checks := map[string]string{}
	ok := true
	if err := s.store.Ping(ctx); err != nil {
		checks["database"], ok = err.Error(), false
	} else {
		checks["database"] = "ok"
	}
	for name, check := range s.cfg.ReadyChecks {
		if err := check(ctx); err != nil {
			checks[name], ok = err.Error(), false
		} else {
			checks[name] = "ok"
		}
	}
	status := http.StatusOK
	if !ok {
		status = http.StatusServiceUnavailable
	}
	return c.JSON(status, map[string]any{"ready": ok, "checks": checks})
}

// Shutdown tells every websocket client to go away (they reconnect to
// another node and resume) and waits for their handlers to finish.
func (s *Server) Shutdown(ctx context.Context) {
	s.connsMu.Lock()
	s.shutdown = true
	conns := make([]*wsConn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.connsMu.Unlock()
	for _, c := range conns {
		c.close(statusGoingAway, "server shutting down")
	}
	done := make(chan struct{})
	go func() { s.connsWG.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

// securityHeaders applies the headers every response needs.
func securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c *echo.Context) error {
		h := c.Response().Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "strict-origin-when-cross-origin")
		return next(c)
	}
}

// sameOrigin reports whether the Origin header names this server: the
// configured public URL, or else the Host the request came to.
func (s *Server) sameOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true // not a browser cross-origin request
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	if s.cfg.PublicURL != "" {
		pu, err := url.Parse(s.cfg.PublicURL)
		return err == nil && strings.EqualFold(pu.Scheme, u.Scheme) && strings.EqualFold(pu.Host, u.Host)
	}
	return strings.EqualFold(u.Host, r.Host)
}

func (s *Server) widgetAsset(name string) echo.HandlerFunc {
	return func(c *echo.Context) error {
		if !widget.Built() {
			c.Response().Header().Set("Cache-Control", "no-store")
			return c.Blob(http.StatusOK, "text/javascript; charset=utf-8",
				[]byte("console.warn("+jsString(widget.Placeholder)+");\n"))
		}
		return serveFS(c, widget.FS(), name)
	}
}

func (s *Server) widgetFile(c *echo.Context) error {
	name := c.Param("file")
	if !widget.Built() {
		return c.String(http.StatusServiceUnavailable, widget.Placeholder)
	}
	if name == "frame.html" {
		// The chat window is embeddable by the site's allowed origins (any
		// site when it lists none); the browser enforces frame-ancestors, so
		// a page elsewhere cannot embed another site's chat.
		ancestors := "*"
		if key := c.QueryParam("site"); key != "" {
			if site, err := s.store.SiteByKey(c.Request().Context(), key); err == nil && len(site.AllowedOrigins) > 0 {
				var safe []string
				for _, o := range site.AllowedOrigins {
					if originPattern.MatchString(o) {
						safe = append(safe, o)
					}
				}
				// 'self': the console's live preview and /demo embed it too.
				ancestors = strings.TrimSpace("'self' " + strings.Join(safe, " "))
			}
		}
		c.Response().Header().Set("Content-Security-Policy",
			"default-src 'self'; img-src 'self' data: blob:; connect-src 'self' ws: wss:; object-src 'none'; base-uri 'none'; frame-ancestors "+ancestors)
	}
	return serveFS(c, widget.FS(), name)
}

// originPattern is a plain origin, safe to put in a CSP header.
var originPattern = regexp.MustCompile(`^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$`)

func (s *Server) consoleAsset(c *echo.Context) error {
	p := strings.TrimPrefix(c.Param("*"), "/")
	if strings.HasPrefix(p, "api/") {
		return chat.Errorf(chat.ENOTFOUND, "no such route")
	}
	if !console.Built() {
		return c.String(http.StatusOK, console.Placeholder)
	}
	h := c.Response().Header()
	h.Set("Content-Security-Policy",
		"default-src 'self'; img-src 'self' data: blob:; connect-src 'self' ws: wss:; media-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")
	h.Set("X-Frame-Options", "DENY")
	if p != "" {
		if _, err := fs.Stat(console.FS(), p); err == nil {
			return serveFS(c, console.FS(), p)
		}
	}
	// Single-page app: every other path is the app's own route.
	return serveFS(c, console.FS(), "index.html")
}

func serveFS(c *echo.Context, fsys fs.FS, name string) error {
	f, err := fsys.Open(name)
	if err != nil {
		return chat.Errorf(chat.ENOTFOUND, "no such file")
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || st.IsDir() {
		return chat.Errorf(chat.ENOTFOUND, "no such file")
	}
	rs, ok := f.(interface {
		Read([]byte) (int, error)
		Seek(int64, int) (int64, error)
	})
	if !ok {
		return chat.Errorf(chat.EINTERNAL, "asset not seekable")
	}
	if name == "index.html" || name == "frame.html" || name == "widget.js" {
		c.Response().Header().Set("Cache-Control", "no-cache")
	}
	http.ServeContent(c.Response(), c.Request(), name, st.ModTime(), rs)
	return nil
}

func jsString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "<", `\u003c`)
	return `"` + r.Replace(s) + `"`
}
