package cluster

// Worker presence and cluster statistics (see Executor.Stats). Stubs for
// now: the workers' announcements, the executor's table of live workers and
// its counters are filled in here.

// clusterStats holds the executor's counters and its table of live workers.
type clusterStats struct{}

// watchPresence subscribes the executor to the workers' announcements. It is
// called once from start, after the executor's own subscriptions.
func (e *Executor) watchPresence() error { return nil }

// noteRedelivery counts a start request for a task that a worker had
// started before (the server redelivered it).
func (e *Executor) noteRedelivery() {}

// noteDeliveryLimit counts a task failed with a *DeliveryError.
func (e *Executor) noteDeliveryLimit() {}

// announce publishes this worker's presence until stop is closed. session.run
// runs it in a goroutine of its own once the worker consumes tasks.
func (s *session) announce(stop <-chan struct{}) { <-stop }
