package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/switchboard-chat/switchboard/api"
	"github.com/switchboard-chat/switchboard/api/chat"
	"github.com/switchboard-chat/switchboard/api/store"
	"github.com/switchboard-chat/switchboard/migrations"
)

func cmdAdmin(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: switchboard admin create-agent|create-token ...")
	}
	switch args[0] {
	case "create-agent":
		return cmdCreateAgent(ctx, args[1:], getenv, stdin, stdout, stderr)
	case "create-token":
		return cmdCreateToken(ctx, args[1:], getenv, stdout, stderr)
	default:
		return fmt.Errorf("unknown admin command %q (want create-agent or create-token)", args[0])
	}
}

func openMigrated(ctx context.Context, cfg *config) (*store.DB, error) {
	db, err := store.Open(ctx, cfg.DatabaseURL, cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	if err := migrations.Up(ctx, db.SQL(), db.Dialect()); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

func cmdCreateAgent(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	var email, name, role string
	var workspace int64
	cfg, _, err := parseFlags("admin create-agent", args, getenv, stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&email, "email", "", "the agent's email (their login)")
		fs.StringVar(&name, "name", "", "the agent's display name")
		fs.StringVar(&role, "role", chat.RoleAgent, "admin or agent")
		fs.Int64Var(&workspace, "workspace", 0, "workspace id (default: the only workspace; one is created when there is none)")
	})
	if err != nil {
		return err
	}
	email, name = strings.TrimSpace(email), strings.TrimSpace(name)
	if !strings.Contains(email, "@") || name == "" {
		return errors.New("--email and --name are required")
	}
	if role != chat.RoleAdmin && role != chat.RoleAgent {
		return errors.New("--role must be admin or agent")
	}
	db, err := openMigrated(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	wsID, err := pickWorkspace(ctx, db, workspace)
	if err != nil {
		return err
	}

	password, err := readPassword(stdin, stderr)
	if err != nil {
		return err
	}
	a := &chat.Agent{WorkspaceID: wsID, Email: strings.ToLower(email), Name: name, Role: role, Status: chat.StatusOffline, Capacity: 5, Active: true}
	if password != "" {
		if a.PasswordHash, err = api.HashPassword(password); err != nil {
			return err
		}
	}
	if err := db.CreateAgent(ctx, a); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "created %s %s <%s> (id %d) in workspace %d\n", role, name, a.Email, a.ID, wsID)
	if password == "" {
		// No password given on a terminal: hand out a one-time link instead.
		token, hash := api.NewToken("sbp_")
		if err := db.CreateSetPasswordToken(ctx, a.ID, hash, time.Now().Add(72*time.Hour)); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "set the password within 72 hours at: %s/set-password#token=%s\n", baseURL(cfg), token)
	}
	return nil
}

// readPassword reads one line from stdin when it is a pipe or file (for
// scripts), and prompts without echo on a terminal. An empty answer on a
// terminal means "print a one-time link instead".
func readPassword(stdin io.Reader, stderr io.Writer) (string, error) {
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(stderr, "Password (leave empty to get a one-time link): ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return "", err
		}
		return string(b), nil
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("no password on standard input (pipe one in, or run on a terminal)")
	}
	return line, nil
}

// pickWorkspace returns the given workspace, the only one, or a new one.
func pickWorkspace(ctx context.Context, db *store.DB, id int64) (int64, error) {
	all, err := db.ListWorkspaces(ctx)
	if err != nil {
		return 0, err
	}
	if id != 0 {
		for _, w := range all {
			if w.ID == id {
				return id, nil
			}
		}
		return 0, fmt.Errorf("workspace %d does not exist", id)
	}
	switch len(all) {
	case 0:
		w, err := db.CreateWorkspace(ctx, "Default")
		if err != nil {
			return 0, err
		}
		return w.ID, nil
	case 1:
		return all[0].ID, nil
	default:
		return 0, fmt.Errorf("there are %d workspaces: choose one with --workspace", len(all))
	}
}

func cmdCreateToken(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var email, name string
	cfg, _, err := parseFlags("admin create-token", args, getenv, stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&email, "email", "", "the agent the token acts as")
		fs.StringVar(&name, "name", "api", "a name to recognise the token by")
	})
	if err != nil {
		return err
	}
	db, err := openMigrated(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	a, err := db.AgentByEmail(ctx, strings.ToLower(strings.TrimSpace(email)))
	if err != nil {
		return fmt.Errorf("agent %q: %w", email, err)
	}
	token, hash := api.NewToken("sbk_")
	if err := db.CreateAPIToken(ctx, &chat.APIToken{WorkspaceID: a.WorkspaceID, AgentID: a.ID, Name: name}, hash); err != nil {
		return err
	}
	fmt.Fprintln(stdout, token)
	return nil
}

// seedDemo makes sure the demo workspace exists and prints working
// credentials for its admin (a fresh password on every start).
func seedDemo(ctx context.Context, db *store.DB, cfg *config, stdout io.Writer) error {
	const email = "admin@demo.switchboard.local"
	site, err := db.SiteByKey(ctx, "demo")
	if err != nil && chat.ErrorCode(err) != chat.ENOTFOUND {
		return err
	}
	if site == nil {
		w, err := db.CreateWorkspace(ctx, "Demo")
		if err != nil {
			return err
		}
		site = &chat.Site{WorkspaceID: w.ID, Name: "Demo site", PublicKey: "demo",
			Settings: chat.SiteSettings{Color: "#4f46e5", Position: "right", Greeting: "Hi! How can we help?", Timezone: "UTC"}}
		if err := db.CreateSite(ctx, site); err != nil {
			return err
		}
	}
	password, _ := api.NewToken("")
	password = password[:16]
	hash, err := api.HashPassword(password)
	if err != nil {
		return err
	}
	a, err := db.AgentByEmail(ctx, email)
	switch {
	case err == nil:
		if err := db.SetAgentPassword(ctx, a.ID, hash); err != nil {
			return err
		}
	case chat.ErrorCode(err) == chat.ENOTFOUND:
		a = &chat.Agent{WorkspaceID: site.WorkspaceID, Email: email, Name: "Demo Admin", Role: chat.RoleAdmin,
			Status: chat.StatusOffline, Capacity: 10, Active: true, PasswordHash: hash}
		if err := db.CreateAgent(ctx, a); err != nil {
			return err
		}
	default:
		return err
	}
	fmt.Fprintf(stdout, "Demo workspace ready (site key \"demo\").\n  Console: %s/  email: %s  password: %s\n", baseURL(cfg), email, password)
	return nil
}

// baseURL is where people reach this server, for printed links.
func baseURL(cfg *config) string {
	if cfg.PublicURL != "" {
		return cfg.PublicURL
	}
	if strings.HasPrefix(cfg.Addr, ":") {
		return "http://localhost" + cfg.Addr
	}
	return "http://" + cfg.Addr
}
