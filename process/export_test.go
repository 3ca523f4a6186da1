package process

// OnCancelsSent makes p call f each time it has written n cancel frames to a
// helper. Call it before p is used.
func OnCancelsSent(p *Executor, f func(n int)) { p.testCancelsSent = f }

// SendAhead makes p keep n calls in flight to each helper, whatever the run
// times it measured, and call f with the number of calls in each write to a
// helper, just before the write (the calls are in flight on it by then; a
// cancel for one of them goes in a later write). Call it before p is used.
func SendAhead(p *Executor, n int, f func(calls int)) { p.testDepth, p.testCallsSent = n, f }
