// Package wire is the private wire protocol between a process.Executor and its
// helper processes.
//
// Each direction is a sequence of frames on its own pipe (fd 3 host→helper,
// fd 4 helper→host). A frame is a 4-byte big-endian body length, a 1-byte
// kind, then the body. The first frame each way is a hello (see hello.go).
// Every later frame carries one call or a batch of calls of one function
// (host→helper; see Call.Count), or one reply or one started marker
// (helper→host): a small binary header followed by gob
// messages of one persistent gob stream per direction (a result of a
// predeclared type goes without gob: see StatusRaw). A frame whose kind has
// FlagReset set starts a new gob stream (the sender replaced its encoder after
// an encoding error left the old stream in an unknown state, or after a large
// frame); FlagResetPeer on a call asks the helper to do so for its replies.
//
// Nothing read from the other side is trusted: lengths are checked against the
// maximum frame size before anything is allocated for them.
package wire
