package sim

// TCP_QUICKACK from <netinet/tcp.h>; the syscall package does not name it.
const tcpQuickAck = 12
