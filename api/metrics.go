package api

import (
	"strconv"
	"time"

	"github.com/labstack/echo/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Metrics live in the default Prometheus registry so that /metrics also
// shows the job counters the workers package registers there.
var (
	httpDuration = promauto.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "switchboard_http_request_duration_seconds",
		Help:    "HTTP request latency by route and status.",
		Buckets: prometheus.DefBuckets,
	}, []string{"method", "route", "status"})
	wsConnections = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Name: "switchboard_ws_connections",
		Help: "Open websocket connections by kind (visitor, agent).",
	}, []string{"kind"})
	wsDisconnects = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "switchboard_ws_disconnects_total",
		Help: "Websocket connections closed by the server, by reason.",
	}, []string{"reason"})
	messagesTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "switchboard_messages_total",
		Help: "Messages stored, by author type and kind.",
	}, []string{"author", "kind"})
	messageCommit = promauto.NewHistogram(prometheus.HistogramOpts{
		Name:    "switchboard_message_commit_seconds",
		Help:    "Time from a send request to its commit and publish.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1},
	})
	gapFills = promauto.NewCounter(prometheus.CounterOpts{
		Name: "switchboard_ws_gap_fills_total",
		Help: "Times a connection filled a seq gap from the database.",
	})
)

// observe logs each request as structured JSON with its request id and
// records its latency.
func (s *Server) observe(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c *echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			// Let the error handler write the response now so the status
			// below is the one the client sees.
			s.handleError(c, err)
		}
		status := 0
		if resp, uErr := echo.UnwrapResponse(c.Response()); uErr == nil {
			status = resp.Status
		}
		route := c.Path()
		if route == "" {
			route = "unmatched"
		}
		elapsed := time.Since(start)
		httpDuration.WithLabelValues(c.Request().Method, route, strconv.Itoa(status)).Observe(elapsed.Seconds())
		if route != "/metrics" && route != "/healthz" {
			s.log.Info("http",
				"request_id", requestID(c),
				"method", c.Request().Method,
				"path", c.Request().URL.Path,
				"route", route,
				"status", status,
				"duration_ms", float64(elapsed.Microseconds())/1000,
				"remote_ip", c.RealIP(),
			)
		}
		return nil
	}
}

func requestID(c *echo.Context) string {
	if id := c.Response().Header().Get(echo.HeaderXRequestID); id != "" {
		return id
	}
	return c.Request().Header.Get(echo.HeaderXRequestID)
}
