// Package frontend embeds the built web app (frontend/dist/app, made by
// `npm run build`) into the server binary. A clone where the app was never built
// still compiles: then only dist/unbuilt.html is there, and the server shows it.
package frontend

import (
	"embed"
	"io/fs"
)

//go:embed all:dist
var dist embed.FS

// App returns the built app's files, or nil and false when it was not built.
func App() (fs.FS, bool) {
	app, err := fs.Sub(dist, "dist/app")
	if err != nil {
		return nil, false
	}
	if _, err := fs.Stat(app, "index.html"); err != nil {
		return nil, false
	}
	return app, true
}

// UnbuiltPage is the page served in place of the app when it was not built.
func UnbuiltPage() []byte {
	b, err := dist.ReadFile("dist/unbuilt.html")
	if err != nil {
		return []byte("<!DOCTYPE html><title>LeChat</title><p>The web app was not built: run <code>make run</code>.</p>")
	}
	return b
}
