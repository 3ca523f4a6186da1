package cluster

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"
)

// At start-up, New creates or updates the task stream and the workers'
// consumer. Right after NATS servers start (or restart), JetStream may not
// answer yet: a cluster has no meta leader until a majority of its servers
// are up and have elected one, and until then requests time out or are
// answered "temporarily unavailable". New waits for that, within its ctx:
// each attempt has a short timeout of its own, and attempts are spaced by
// an exponential back-off. Errors that waiting does not cure (a bad
// configuration, a permission refused, a stream that exists with a
// configuration that cannot be updated) fail at once.

// Back-off between attempts, and the timeout of one attempt (never longer
// than what is left of New's ctx). A request sent while there is no meta
// leader is never answered, even once one is elected, so a short attempt
// timeout is what lets New go on soon after the election; an attempt that
// timed out although the server acted is harmless, the next one updates the
// stream to the same configuration.
const (
	readyFirstPause = 50 * time.Millisecond
	readyMaxPause   = 2 * time.Second
	readyAttempt    = 2 * time.Second
)

// JetStream API error codes (nats-server's) that mean "not yet" rather
// than "no"; the jetstream package exports no constants for them.
const (
	jsErrNoPeers               jetstream.ErrorCode = 10005 // no suitable peers for placement (servers still down)
	jsErrClusterNotAvail       jetstream.ErrorCode = 10008 // JetStream system temporarily unavailable
	jsErrClusterNotLeader      jetstream.ErrorCode = 10009 // JetStream cluster can not handle request
	jsErrInsufficientResources jetstream.ErrorCode = 10023 // insufficient resources (servers still down)
	jsErrStreamOffline         jetstream.ErrorCode = 10118 // stream is offline
	jsErrConsumerOffline       jetstream.ErrorCode = 10119 // consumer is offline
)

// streamMaker is the part of jetstream.JetStream that ensureStream uses.
type streamMaker interface {
	CreateOrUpdateStream(ctx context.Context, cfg jetstream.StreamConfig) (jetstream.Stream, error)
	CreateOrUpdateConsumer(ctx context.Context, stream string, cfg jetstream.ConsumerConfig) (jetstream.Consumer, error)
}

// ensureStream creates or updates cfg's task stream and the workers'
// consumer, waiting while JetStream is unavailable (see above) until ctx
// ends. connErr returns the connection's last asynchronous error (nil if
// there is none): a permission refused on the JetStream API arrives that
// way, while the request itself times out. It logs at Info when it starts
// waiting, when what it waits for changes, and when JetStream is ready
// after a wait.
func ensureStream(ctx context.Context, js streamMaker, connErr func() error, cfg *config, log *zap.Logger) error {
	w := &readyWait{cfg: cfg, log: log, connErr: connErr, start: time.Now(), pause: readyFirstPause}
	err := w.do(ctx, "create stream "+cfg.stream, func(ctx context.Context) error {
		_, err := js.CreateOrUpdateStream(ctx, streamConfig(cfg))
		return err
	})
	if err != nil {
		return err
	}
	err = w.do(ctx, "create consumer "+consumerName, func(ctx context.Context) error {
		_, err := js.CreateOrUpdateConsumer(ctx, cfg.stream, consumerConfig(cfg))
		return err
	})
	if err != nil {
		return err
	}
	if w.waiting {
		log.Info("JetStream ready", zap.String("stream", cfg.stream), zap.Duration("waited", time.Since(w.start)),
			zap.Int("attempts", w.attempts))
	}
	return nil
}

// readyWait is the state of one ensureStream.
type readyWait struct {
	cfg      *config
	log      *zap.Logger
	connErr  func() error
	start    time.Time
	pause    time.Duration // before the next attempt
	attempts int
	waiting  bool   // an attempt failed with a transient error
	reason   string // what the last transient error says we wait for
	last     error  // the last transient error
}

// do runs f until it succeeds, fails with an error that waiting does not
// cure, or ctx ends.
func (w *readyWait) do(ctx context.Context, what string, f func(context.Context) error) error {
	for {
		actx, cancel := context.WithTimeout(ctx, readyAttempt)
		w.attempts++
		err := f(actx)
		cancel()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			if w.last == nil || !errors.Is(err, ctx.Err()) {
				w.last = err // the attempt's own error says more than ctx's
			}
			return w.giveUp(ctx, what)
		}
		if cerr := w.connErr(); errors.Is(err, context.DeadlineExceeded) && errors.Is(cerr, nats.ErrPermissionViolation) {
			return fmt.Errorf("cluster: %s: %w (request: %w)", what, cerr, err)
		}
		reason, ok := jsUnavailable(err, w.cfg)
		if !ok {
			return fmt.Errorf("cluster: %s: %w", what, err)
		}
		w.last = err
		if !w.waiting || reason != w.reason {
			w.log.Info("waiting for JetStream: "+reason, zap.String("step", what), zap.Error(err))
		} else {
			w.log.Debug("JetStream not ready yet", zap.String("step", what), zap.Int("attempt", w.attempts),
				zap.Duration("pause", w.pause), zap.Error(err))
		}
		w.waiting, w.reason = true, reason
		t := time.NewTimer(w.pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return w.giveUp(ctx, what)
		case <-t.C:
		}
		w.pause = min(2*w.pause, readyMaxPause)
	}
}

// giveUp returns the error of a wait that ctx ended: what New waited for
// and for how long, wrapping ctx's cause and the last JetStream error.
func (w *readyWait) giveUp(ctx context.Context, what string) error {
	reason := w.reason
	if reason == "" {
		reason, _ = jsUnavailable(w.last, w.cfg)
		if reason == "" {
			reason = "an answer from JetStream"
		}
	}
	return fmt.Errorf("cluster: %s: gave up after %v (%d attempts) waiting for JetStream: %s: %w; last error: %w",
		what, time.Since(w.start).Round(time.Millisecond), w.attempts, reason, context.Cause(ctx), w.last)
}

// jsUnavailable reports whether err, from a JetStream API request, means
// that JetStream cannot answer yet, and if so what it waits for.
func jsUnavailable(err error, cfg *config) (reason string, ok bool) {
	var apiErr *jetstream.APIError
	switch {
	case err == nil:
		return "", false
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, nats.ErrTimeout):
		return "no answer to a JetStream request (no meta leader elected yet, or servers still starting)", true
	case errors.Is(err, nats.ErrNoResponders):
		return "no JetStream responders (servers still starting, or JetStream not enabled)", true
	case errors.Is(err, nats.ErrDisconnected), errors.Is(err, nats.ErrConnectionReconnecting):
		return "the connection to NATS", true
	case errors.Is(err, jetstream.ErrJetStreamNotEnabled):
		return "JetStream not enabled (yet) on the server", true
	case errors.As(err, &apiErr):
		switch apiErr.ErrorCode {
		case jsErrClusterNotAvail:
			return "JetStream temporarily unavailable (no meta leader elected yet)", true
		case jsErrClusterNotLeader:
			return "the JetStream meta leader (election under way)", true
		case jsErrNoPeers, jsErrInsufficientResources:
			return fmt.Sprintf("enough JetStream servers up to place %d replicas", cfg.replicas), true
		case jsErrStreamOffline, jsErrConsumerOffline:
			return "the servers of the stream to come back", true
		}
	}
	return "", false
}
