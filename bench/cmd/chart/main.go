// Command chart measures pool.Map throughput against chunk size on the
// goroutine executor and on the process executor (2 workers each, as
// Python's Pool(2)) and draws the result as an SVG line chart, so the README's
// picture is made by code, not by hand.
//
//	cd bench && go run ./cmd/chart -o ../docs/throughput.svg
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"math"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/gofutures/gofutures/executor"
	"github.com/gofutures/gofutures/pool"
	"github.com/gofutures/gofutures/process"
)

var reg = process.NewRegistry()

// inc is the trivial task: registered so the process executor can run it.
var inc = process.MustRegister(reg, "chart.inc", func(_ context.Context, x int) (int, error) { return x + 1, nil })

type series struct {
	name   string
	color  string
	points [][2]float64 // chunk size, items/s
}

func main() {
	process.ServeIfHelper(reg)
	out := flag.String("o", "throughput.svg", "SVG file to write")
	n := flag.Int("n", 200_000, "items per measurement")
	reps := flag.Int("reps", 3, "runs per point; the best is kept")
	flag.Parse()
	ctx := context.Background()

	gp, err := executor.NewGoPool(executor.WithWorkers(2))
	if err != nil {
		log.Fatal(err)
	}
	pp, err := process.New(reg, process.WithWorkers(2))
	if err != nil {
		log.Fatal(err)
	}
	items := make([]int, *n)
	for i := range items {
		items[i] = i
	}
	chunks := []int{1, 10, 100, 1000, 10000}
	all := []series{
		{name: "goroutines (GoPool, 2 workers)", color: "#1f77b4"},
		{name: "processes (process.Executor, 2 helpers)", color: "#d62728"},
	}
	for i, ex := range []executor.Executor{gp, pp} {
		p, err := pool.New(ex)
		if err != nil {
			log.Fatal(err)
		}
		for _, cs := range chunks {
			best := 0.0
			for range *reps {
				start := time.Now()
				if _, err := pool.Map(ctx, p, inc, items, pool.WithChunkSize(cs)); err != nil {
					log.Fatal(err)
				}
				best = max(best, float64(len(items))/time.Since(start).Seconds())
			}
			all[i].points = append(all[i].points, [2]float64{float64(cs), best})
			fmt.Printf("%-40s chunk %6d  %12.0f items/s\n", all[i].name, cs, best)
		}
		p.Close()
		if err := p.Join(ctx); err != nil {
			log.Fatal(err)
		}
	}
	if err := gp.Shutdown(ctx); err != nil {
		log.Fatal(err)
	}
	if err := pp.Shutdown(ctx); err != nil {
		log.Fatal(err)
	}
	svg := render(fmt.Sprintf("pool.Map throughput, %d trivial items (x+1)", *n), all)
	if err := os.WriteFile(*out, []byte(svg), 0o644); err != nil {
		log.Fatal(err)
	}
	fmt.Println("wrote", *out)
}

// render draws log-log lines of items/s against chunk size.
func render(title string, all []series) string {
	const w, h, left, right, top, bottom = 720, 420, 80, 20, 40, 90
	var xs, ys []float64
	for _, s := range all {
		for _, p := range s.points {
			xs, ys = append(xs, p[0]), append(ys, p[1])
		}
	}
	x0, x1 := math.Log10(slices.Min(xs)), math.Log10(slices.Max(xs))
	y0, y1 := math.Floor(math.Log10(slices.Min(ys))), math.Ceil(math.Log10(slices.Max(ys)))
	px := func(x float64) float64 { return left + (math.Log10(x)-x0)/(x1-x0)*(w-left-right) }
	py := func(y float64) float64 { return h - bottom - (math.Log10(y)-y0)/(y1-y0)*(h-top-bottom) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">`+"\n", w, h)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="%d" y="24" font-size="15">%s</text>`+"\n", left, title)
	for e := y0; e <= y1; e++ {
		y := py(math.Pow(10, e))
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#ddd"/><text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n",
			left, w-right, y, y, left-6, y+4, si(math.Pow(10, e)))
	}
	for _, x := range all[0].points {
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="#eee"/><text x="%.1f" y="%d" text-anchor="middle">%g</text>`+"\n",
			px(x[0]), px(x[0]), top, h-bottom, px(x[0]), h-bottom+16, x[0])
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">chunk size (items per task)</text>`+"\n", (left+w-right)/2, h-bottom+34)
	fmt.Fprintf(&b, `<text transform="translate(18 %d) rotate(-90)" text-anchor="middle">items per second</text>`+"\n", (top+h-bottom)/2)
	for i, s := range all {
		var pts []string
		for _, p := range s.points {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", px(p[0]), py(p[1])))
			fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/>`+"\n", px(p[0]), py(p[1]), s.color)
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`+"\n", s.color, strings.Join(pts, " "))
		ly := h - bottom + 52 + 16*i
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="%s" stroke-width="2"/><text x="%d" y="%d">%s</text>`+"\n",
			left, left+24, ly-4, ly-4, s.color, left+30, ly, s.name)
	}
	b.WriteString("</svg>\n")
	return b.String()
}

// si formats v with an SI suffix: 1k, 10M.
func si(v float64) string {
	for _, u := range []struct {
		f float64
		s string
	}{{1e9, "G"}, {1e6, "M"}, {1e3, "k"}} {
		if v >= u.f {
			return fmt.Sprintf("%g%s", v/u.f, u.s)
		}
	}
	return fmt.Sprintf("%g", v)
}
