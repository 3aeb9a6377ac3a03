package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/mail"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// config is every setting, parsed once here and passed down explicitly.
type config struct {
	Addr              string
	DataDir           string
	DatabaseURL       string
	RedisURL          string
	PublicURL         string
	EmbeddedWorker    bool
	WorkerConcurrency int
	LogLevel          string
	ShutdownTimeout   time.Duration
	SMTPURL           string
	MaxUploadMB       int
	PresenceTTL       time.Duration
	EffectLease       time.Duration
	WebhookAllow      []netip.Prefix
	TrustedProxies    []netip.Prefix
	MailFrom          string
}

// setting describes one config value: its flag, env var, default and help.
type setting struct {
	flag, env, def, help string
	set                  func(c *config, v string) error
}

var settings = []setting{
	{"addr", "SWITCHBOARD_ADDR", ":8080", "address to listen on", func(c *config, v string) error {
		if v == "" {
			return fmt.Errorf("must not be empty")
		}
		c.Addr = v
		return nil
	}},
	{"data-dir", "SWITCHBOARD_DATA_DIR", "./data", "directory for the SQLite database and attachments", func(c *config, v string) error {
		if v == "" {
			return fmt.Errorf("must not be empty")
		}
		c.DataDir = v
		return nil
	}},
	{"database-url", "SWITCHBOARD_DATABASE_URL", "", "postgres://... for PostgreSQL; empty for SQLite in the data dir", func(c *config, v string) error {
		if v != "" {
			u, err := url.Parse(v)
			if err != nil {
				return fmt.Errorf("not a URL: %v", err)
			}
			switch u.Scheme {
			case "postgres", "postgresql", "sqlite", "file":
			default:
				return fmt.Errorf("scheme must be postgres, sqlite or file, not %q", u.Scheme)
			}
		}
		c.DatabaseURL = v
		return nil
	}},
	{"redis-url", "SWITCHBOARD_REDIS_URL", "", "redis://... for a shared Redis; empty for an in-process Redis (single node)", func(c *config, v string) error {
		if v != "" {
			u, err := url.Parse(v)
			if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") {
				return fmt.Errorf("must be a redis:// or rediss:// URL")
			}
		}
		c.RedisURL = v
		return nil
	}},
	{"public-url", "SWITCHBOARD_PUBLIC_URL", "", "external origin, e.g. https://chat.example.com (links in emails, origin checks)", func(c *config, v string) error {
		if v != "" {
			u, err := url.Parse(v)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return fmt.Errorf("must be an http(s) origin like https://chat.example.com")
			}
			v = strings.TrimRight(v, "/")
		}
		c.PublicURL = v
		return nil
	}},
	{"embedded-worker", "SWITCHBOARD_EMBEDDED_WORKER", "true", "serve also runs the job workers and the outbox relay", func(c *config, v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("must be true or false")
		}
		c.EmbeddedWorker = b
		return nil
	}},
	{"worker-concurrency", "SWITCHBOARD_WORKER_CONCURRENCY", "10", "jobs processed at once per worker process", func(c *config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return fmt.Errorf("must be a number from 1 to 1000")
		}
		c.WorkerConcurrency = n
		return nil
	}},
	{"log-level", "SWITCHBOARD_LOG_LEVEL", "info", "debug, info, warn or error", func(c *config, v string) error {
		switch v {
		case "debug", "info", "warn", "error":
		default:
			return fmt.Errorf("must be debug, info, warn or error")
		}
		c.LogLevel = v
		return nil
	}},
	{"shutdown-timeout", "SWITCHBOARD_SHUTDOWN_TIMEOUT", "15s", "how long to drain connections and jobs on shutdown", func(c *config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return fmt.Errorf("must be a positive duration like 15s")
		}
		c.ShutdownTimeout = d
		return nil
	}},
	{"smtp-url", "SWITCHBOARD_SMTP_URL", "", "smtp://user:pass@host:port for outgoing email; empty keeps emails in the local mailbox", func(c *config, v string) error {
		if v != "" {
			u, err := url.Parse(v)
			if err != nil || (u.Scheme != "smtp" && u.Scheme != "smtps") || u.Host == "" {
				return fmt.Errorf("must be an smtp:// or smtps:// URL")
			}
		}
		c.SMTPURL = v
		return nil
	}},
	{"presence-ttl", "SWITCHBOARD_PRESENCE_TTL", "60s", "how long a connection counts as present without a heartbeat (a dead node's agents go offline after this)", func(c *config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Second {
			return fmt.Errorf("must be a duration of at least 1s")
		}
		c.PresenceTTL = d
		return nil
	}},
	{"effect-lease", "SWITCHBOARD_EFFECT_LEASE", "2m", "how long a worker's claim on a side effect (one email, one webhook call) holds before another worker may redo it; a worker killed mid-task delays that retry by at most this, so keep it above the slowest SMTP or webhook call", func(c *config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Second {
			return fmt.Errorf("must be a duration of at least 1s")
		}
		c.EffectLease = d
		return nil
	}},
	{"webhook-allow", "SWITCHBOARD_WEBHOOK_ALLOW", "", "comma-separated networks webhooks may reach although private (on-premise targets), e.g. 10.0.5.0/24", func(c *config, v string) (err error) {
		c.WebhookAllow, err = parseNetworks(v)
		return err
	}},
	{"trusted-proxies", "SWITCHBOARD_TRUSTED_PROXIES", "", "comma-separated networks of your reverse proxies / load balancers, e.g. 10.0.0.0/8; their X-Forwarded-For header then gives the visitor's address (rate limits per address, logs). Empty: the TCP peer is the client", func(c *config, v string) (err error) {
		c.TrustedProxies, err = parseNetworks(v)
		return err
	}},
	{"mail-from", "SWITCHBOARD_MAIL_FROM", "Switchboard <no-reply@switchboard.local>", "sender of outgoing email", func(c *config, v string) error {
		if _, err := mail.ParseAddress(v); err != nil {
			return fmt.Errorf("must be an address like Support <help@example.com>")
		}
		c.MailFrom = v
		return nil
	}},
	{"max-upload-mb", "SWITCHBOARD_MAX_UPLOAD_MB", "25", "largest attachment accepted, in MiB", func(c *config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 2048 {
			return fmt.Errorf("must be a number from 1 to 2048")
		}
		c.MaxUploadMB = n
		return nil
	}},
}

// settingsFlags registers every setting on fs, with defaults taken from the
// environment, and returns a function that validates and builds the config.
func settingsFlags(fs *flag.FlagSet, getenv func(string) string) func() (*config, error) {
	values := make([]*string, len(settings))
	for i, s := range settings {
		def := s.def
		if v := getenv(s.env); v != "" {
			def = v
		}
		values[i] = fs.String(s.flag, def, fmt.Sprintf("%s (env %s, default %q)", s.help, s.env, s.def))
	}
	return func() (*config, error) {
		c := &config{}
		for i, s := range settings {
			if err := s.set(c, strings.TrimSpace(*values[i])); err != nil {
				return nil, fmt.Errorf("invalid setting %s (--%s): %v", s.env, s.flag, err)
			}
		}
		return c, nil
	}
}

func printSettings(w io.Writer) {
	fmt.Fprintln(w, "Settings (flag, environment variable, default):")
	for _, s := range settings {
		def := s.def
		if def == "" {
			def = `""`
		}
		fmt.Fprintf(w, "  --%-20s %-32s %-8s %s\n", s.flag, s.env, def, s.help)
	}
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l}))
}

// parseNetworks reads comma-separated networks ("10.0.0.0/8") or single
// addresses.
func parseNetworks(v string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, part := range strings.Split(v, ",") {
		if part = strings.TrimSpace(part); part == "" {
			continue
		}
		p, err := netip.ParsePrefix(part)
		if err != nil {
			a, aerr := netip.ParseAddr(part)
			if aerr != nil {
				return nil, fmt.Errorf("%q is not a network like 10.0.0.0/8 or an address", part)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, p.Masked())
	}
	return out, nil
}
