// Package console embeds the built agent console: dist/index.html, app.js and
// app.css, a single-page app that talks to /api/v1 with the session cookie.
//
// The sources are TypeScript + Preact in src/, bundled by esbuild (`npm ci &&
// npm run build`). dist/.keep is committed so the package compiles before any
// front-end build; Built reports whether the real output is there.
package console

import (
	"embed"
	"io/fs"
)

//go:embed all:dist
var dist embed.FS

// Placeholder is what the server serves in place of the console when the
// front end has not been built.
const Placeholder = "Switchboard: front-end not built: run `make build` (or `npm ci && npm run build` in widget/ and agent-console/).\n"

// FS returns the build output (the dist directory) as the root of a file system.
func FS() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err) // "dist" is a valid path: cannot happen
	}
	return sub
}

// Built reports whether the real build output is present.
func Built() bool {
	for _, name := range []string{"dist/index.html", "dist/app.js", "dist/app.css"} {
		if _, err := fs.Stat(dist, name); err != nil {
			return false
		}
	}
	return true
}
