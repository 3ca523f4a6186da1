package dashboard

import (
	"embed"
	"encoding/json"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

//go:embed assets
var assets embed.FS

var page = template.Must(template.ParseFS(assets, "assets/index.html"))

// ServeHTTP implements http.Handler: it serves the page, its JSON and its
// embedded assets (uPlot, MIT licensed, in assets/), nothing loaded from
// elsewhere. The paths are relative to where it is mounted, so it works
// under any prefix without http.StripPrefix, as long as the prefix ends in
// a slash (the net/http/pprof and expvar convention):
//
//	mux.Handle("/debug/gofutures/", d)
//
//	GET .../                the page
//	GET .../api/state       the numbers, as JSON (what the page polls)
//	GET .../assets/NAME     the page's scripts and styles
//
// A page open in a browser asks for the numbers once per refresh interval
// (WithRefresh), and not while its tab is hidden; each request reads every
// registered executor's counters, calls the Pids functions given to
// Helpers, and, at most once per interval, the cluster stats functions.
// Nothing runs when no page is open.
func (d *Dashboard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	p := r.URL.Path
	switch {
	case strings.HasSuffix(p, "/api/state"):
		d.serveState(w, r)
	case strings.Contains(p, "/assets/"):
		d.serveAsset(w, r, p[strings.LastIndex(p, "/assets/")+len("/assets/"):])
	case strings.HasSuffix(p, "/") || strings.HasSuffix(p, "/index.html"):
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		if err := page.Execute(w, d.cfg); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	default:
		http.NotFound(w, r)
	}
}

// Title and RefreshMS are read by the page's template.
func (c config) Title() string    { return c.title }
func (c config) RefreshMS() int64 { return c.refresh.Milliseconds() }

func (d *Dashboard) serveState(w http.ResponseWriter, r *http.Request) {
	st := d.snapshot(r.Context())
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if err := json.NewEncoder(w).Encode(st); err != nil {
		return // the client went away
	}
}

func (d *Dashboard) serveAsset(w http.ResponseWriter, r *http.Request, name string) {
	if name == "" || name == "index.html" || strings.Contains(name, "/") || strings.HasPrefix(name, ".") {
		http.NotFound(w, r)
		return
	}
	if _, err := fs.Stat(assets, path.Join("assets", name)); err != nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Cache-Control", "max-age=3600")
	http.ServeFileFS(w, r, assets, path.Join("assets", name))
}
