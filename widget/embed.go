// Package widget embeds the built visitor widget: dist/widget.js (the loader a
// site pastes, served at /widget.js) and dist/frame.html, frame.js, frame.css
// (the chat window inside the iframe, served under /widget/).
//
// The sources are TypeScript in src/, bundled by esbuild (`npm ci && npm run
// build`). dist/.keep is committed so the package compiles before any
// front-end build; Built reports whether the real output is there.
package widget

import (
	"embed"
	"io/fs"
)

//go:embed all:dist
var dist embed.FS

// Placeholder is what the server serves in place of the widget when the
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
	for _, name := range []string{"dist/widget.js", "dist/frame.html", "dist/frame.js", "dist/frame.css"} {
		if _, err := fs.Stat(dist, name); err != nil {
			return false
		}
	}
	return true
}
