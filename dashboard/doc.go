// Package dashboard serves a live web page of a program's executors, pool
// calls and clusters: Dask's dashboard, for gofutures. One page shows, per
// executor, the tasks submitted, queued, in flight and done, the failures
// by outcome and the last ones with their error text (and the pid of the
// helper process they name), the workers alive, started and restarted,
// the pids of process helpers, the throughput of the last minutes as a
// chart and the run-time distribution; per pool call, done / total, the
// rate and the time left; per cluster, the workers connected, the stream
// depth and the redeliveries.
//
// A Dashboard is an http.Handler that the program mounts where it likes,
// as net/http/pprof and expvar are (nothing is registered at import, and
// there is no default dashboard):
//
//	d, err := dashboard.New()
//	mux.Handle("/debug/gofutures/", d)
//
//	ex, err := executor.NewGoPool(executor.WithHooks(d.Hooks("fetch")))
//	hp, err := process.New(reg, process.WithHooks(d.Hooks("primes")))
//	d.Helpers("primes", hp.Pids)
//	res, err := pool.Map(ctx, p, isPrime, numbers, pool.WithProgress(d.Progress("primes")))
//	d.Cluster("render", cex.Stats)
//
// It is fed by the hooks it hands out (executor.Hooks), by the progress
// functions of the pool calls it is given, and by the functions it calls
// when a page asks (Helpers, Cluster): never by globals. The hooks cost
// what package metrics' do or less (on a GoPool, a function call and a
// comparison per task that succeeds); an executor takes one set of hooks,
// so to feed package metrics' too, join them with executor.JoinHooks. The
// hooks record each failed task with its error's text (executor.Finish.Err);
// the program records the failures they do not see, such as items that
// failed inside a chunk, with Failed.
//
// The page asks for its numbers (a JSON document, GET api/state) once per
// refresh interval while it is open and visible, and draws them with
// uPlot, which is embedded with the page (MIT licence in assets/); nothing
// is loaded from elsewhere. The throughput chart's points are taken when a
// page asks, one per interval whatever the number of pages: a program
// whose dashboard nobody watches pays nothing but its hooks.
package dashboard
