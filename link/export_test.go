package link

import "time"

// SetNonceClock injects the clock of a NonceBook (tests only).
func SetNonceClock(n *NonceBook, now func() time.Time) { n.now = now }
