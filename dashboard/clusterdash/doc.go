// Package clusterdash shows a cluster executor (package cluster) on a
// dashboard (package dashboard), which does not import package cluster:
//
//	d.Cluster("render", clusterdash.Stats(ex))
//
// It is the only place where the two meet, so that programs that do not
// use the cluster do not link it into their dashboard.
package clusterdash
