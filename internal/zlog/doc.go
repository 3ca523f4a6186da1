// Package zlog logs through the zapcore.Core of a *zap.Logger without
// importing package zap itself. Package zap links net/http (for its level
// handler), and every package that process helpers link (process, executor)
// is loaded and initialised at each helper's start: on a 2-core machine a
// binary that links zap reaches main about 4.5 ms later than one that links
// only zapcore (bench/cmd/startupprobe shows the parts). The executors take
// a *zap.Logger all the same, as the Source it is.
package zlog
