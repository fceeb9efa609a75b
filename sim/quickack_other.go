//go:build !linux

package sim

// setQuickAck does nothing where TCP_QUICKACK does not exist; vpcd itself
// runs only with pcsc-lite, so only the delayed-ACK cost is lost elsewhere.
func setQuickAck(uintptr) {}
