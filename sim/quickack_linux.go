package sim

import "syscall"

// tcpQuickAck is TCP_QUICKACK from <netinet/tcp.h>; the syscall package does
// not name it.
const tcpQuickAck = 12

// setQuickAck asks the kernel to acknowledge the next segment at once. vpcd
// sends length and payload in two writes without TCP_NODELAY; with delayed
// ACKs each APDU would stall ~40 ms. QUICKACK is not sticky on Linux, so
// callers set it again before every read.
func setQuickAck(fd uintptr) {
	_ = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, tcpQuickAck, 1)
}
