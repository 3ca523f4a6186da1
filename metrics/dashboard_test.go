package metrics_test

import (
	"context"
	"encoding/json"
	"github.com/gofutures/gofutures/cluster/clusterstats"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/gofutures/gofutures/metrics"
	"github.com/prometheus/client_golang/prometheus"
)

// dashboard is the part of a Grafana dashboard that the test checks.
type dashboard struct {
	Title      string `json:"title"`
	UID        string `json:"uid"`
	Templating struct {
		List []struct {
			Name  string `json:"name"`
			Type  string `json:"type"`
			Query any    `json:"query"`
		} `json:"list"`
	} `json:"templating"`
	Panels []struct {
		ID      int    `json:"id"`
		Type    string `json:"type"`
		Title   string `json:"title"`
		Targets []struct {
			Expr string `json:"expr"`
		} `json:"targets"`
	} `json:"panels"`
}

// TestDashboard checks that dashboard.json parses, has the $executor
// variable, filters every query by it, and uses exactly the metrics that
// this package defines (Metrics and ClusterCollector).
func TestDashboard(t *testing.T) {
	raw, err := os.ReadFile("dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatal(err)
	}
	if d.Title == "" || d.UID == "" {
		t.Error("dashboard has no title or uid")
	}
	vars := map[string]bool{}
	for _, v := range d.Templating.List {
		vars[v.Name] = true
	}
	if !vars["executor"] || !vars["datasource"] {
		t.Errorf("template variables = %v, want executor and datasource", vars)
	}

	// The metric names this package exposes, from a registry with one
	// executor, which is a cluster executor with one worker too.
	reg, m := newMetrics(t)
	m.Hooks("x")
	cc, err := metrics.NewClusterCollector(reg, "x", func(context.Context) (clusterstats.Stats, error) {
		return sampleStats(), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	defined := map[string]string{} // name as queried -> family
	for _, mf := range mfs {
		defined[mf.GetName()] = mf.GetName()
		if mf.GetType().String() == "HISTOGRAM" {
			for _, s := range []string{"_bucket", "_sum", "_count"} {
				defined[mf.GetName()+s] = mf.GetName()
			}
		}
	}
	used := map[string]bool{}    // families
	queried := map[string]bool{} // names as queried
	metricName := regexp.MustCompile(`gofutures_[a-z_]+`)
	ids := map[int]bool{}
	for _, p := range d.Panels {
		if ids[p.ID] {
			t.Errorf("panel id %d used twice", p.ID)
		}
		ids[p.ID] = true
		for _, tg := range p.Targets {
			if !strings.Contains(tg.Expr, `executor=~"$executor"`) {
				t.Errorf("panel %q: query %q does not filter by $executor", p.Title, tg.Expr)
			}
			for _, n := range metricName.FindAllString(tg.Expr, -1) {
				queried[n] = true
				fam, ok := defined[n]
				if !ok {
					t.Errorf("panel %q: unknown metric %s", p.Title, n)
				}
				used[fam] = true
			}
		}
	}
	for _, mf := range mfs {
		if !used[mf.GetName()] {
			t.Errorf("metric %s is on no panel", mf.GetName())
		}
	}

	// Every cluster series the dashboard uses is one that the cluster
	// collector describes, and every one it describes is on a panel:
	// what it reports depends on the stats, its descriptions do not.
	descs := make(chan *prometheus.Desc)
	go func() { cc.Describe(descs); close(descs) }()
	described := map[string]bool{}
	fqName := regexp.MustCompile(`fqName: "([^"]+)"`)
	for d := range descs {
		if n := fqName.FindStringSubmatch(d.String()); n != nil {
			described[n[1]] = true
		} else {
			t.Errorf("no name in %s", d)
		}
	}
	for n := range queried {
		if !strings.HasPrefix(n, "gofutures_cluster_") {
			continue
		}
		base := n
		for _, s := range []string{"_bucket", "_sum", "_count"} {
			if b, ok := strings.CutSuffix(n, s); ok && described[b] {
				base = b
			}
		}
		if !described[base] {
			t.Errorf("dashboard uses %s, which the cluster collector does not describe", n)
		}
	}
	for n := range described {
		if !used[n] {
			t.Errorf("cluster series %s is on no panel", n)
		}
	}
	if len(described) != len(clusterNames) {
		t.Errorf("the cluster collector describes %d series, the tests know %d", len(described), len(clusterNames))
	}
}
