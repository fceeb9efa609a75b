// Package scale holds the many-readers measurements of sscd (issue #17):
// benchmarks of fresh basic-information reads and counter issuance over 1
// to 16 vpcd readers of one private pcscd, and a churn test of the event
// stream and the reader state while cards come and go. It has no code of
// its own: everything is in its tests, which use the daemon through its
// exported API (internal/daemon) and the Go client (sscd).
package scale
