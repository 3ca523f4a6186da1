package pool

import (
	"context"

	"github.com/gofutures/gofutures/executor"
	"github.com/gofutures/gofutures/future"
)

// Args2 holds the two arguments of a call made by Starmap: Python's
// argument tuple (a, b). Its fields are exported so that process and
// cluster executors can encode it for a function registered by name that
// takes an Args2.
type Args2[A, B any] struct {
	V1 A
	V2 B
}

// Args3 holds the three arguments of a call made by Starmap, as Args2.
type Args3[A, B, C any] struct {
	V1 A
	V2 B
	V3 C
}

func (Args2[A, B]) tuple()    {}
func (Args3[A, B, C]) tuple() {}

// Tuple is the constraint of Starmap's argument type: Args2 or Args3.
type Tuple interface {
	tuple()
}

// Star2 makes a Func over Args2 from a Go function of two arguments, for
// Starmap. Like executor.Fn it runs only in this process; to run on helper
// processes, register a function that takes an Args2 with package process.
func Star2[A, B, R any](f func(ctx context.Context, a A, b B) (R, error)) executor.Func[Args2[A, B], R] {
	return executor.Fn(func(ctx context.Context, t Args2[A, B]) (R, error) { return f(ctx, t.V1, t.V2) })
}

// Star3 is Star2 for functions of three arguments.
func Star3[A, B, C, R any](f func(ctx context.Context, a A, b B, c C) (R, error)) executor.Func[Args3[A, B, C], R] {
	return executor.Fn(func(ctx context.Context, t Args3[A, B, C]) (R, error) { return f(ctx, t.V1, t.V2, t.V3) })
}

// Starmap applies a function of several arguments to each tuple of args and
// returns the results in order (Python's starmap): fn(args[i].V1,
// args[i].V2, ...). fn comes from Star2 or Star3, or is a function registered
// by name that takes an Args2 or Args3. Everything else is as for Map.
func Starmap[T Tuple, R any](ctx context.Context, p *Pool, fn executor.Func[T, R], args []T, opts ...CallOption) ([]R, error) {
	return Map(ctx, p, fn, args, opts...)
}

// StarmapAsync is Starmap that returns the future of the results at once
// (Python's starmap_async), as MapAsync.
func StarmapAsync[T Tuple, R any](ctx context.Context, p *Pool, fn executor.Func[T, R], args []T, opts ...CallOption) (*future.Future[[]R], error) {
	return MapAsync(ctx, p, fn, args, opts...)
}
