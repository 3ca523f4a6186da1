package process

// OnCancelsSent makes p call f each time it has written n cancel frames to a
// helper. Call it before p is used.
func OnCancelsSent(p *Pool, f func(n int)) { p.testCancelsSent = f }
