package link

import (
	"crypto/rand"
	"fmt"
	"sync"
	"time"
)

// DefaultNonceTTL is the time to live of a nonce of a NonceBook made with
// a ttl <= 0.
const DefaultNonceTTL = 5 * time.Minute

// NonceSize is the size of the nonces NonceBook.Issue makes (MinNonceSize).
const NonceSize = MinNonceSize

// NonceBook issues the platform's single-use nonces and redeems them: a
// nonce is accepted once, before its time to live is over. It is safe for
// concurrent use. The zero value is ready to use, with DefaultNonceTTL.
//
// Memory is bounded: an entry is dropped one ttl after its expiry (until
// then an expired nonce is reported as ErrNonceExpired, a used one as
// ErrNonceReplayed; afterwards both are unknown, ErrNonce). A nonce can
// never be redeemed after its expiry, so dropping it loses no protection.
// The book lives in memory: a platform with several instances needs a
// shared store with the same semantics.
type NonceBook struct {
	mu      sync.Mutex
	ttl     time.Duration
	now     func() time.Time // the clock; nil = time.Now (tests inject one)
	entries map[string]*nonceEntry
	queue   []*nonceEntry // in issue order, for pruning
}

type nonceEntry struct {
	key     string
	expires time.Time
	used    bool
}

// NewNonceBook returns an empty book whose nonces live ttl (DefaultNonceTTL
// when ttl <= 0).
func NewNonceBook(ttl time.Duration) *NonceBook {
	if ttl <= 0 {
		ttl = DefaultNonceTTL
	}
	return &NonceBook{ttl: ttl}
}

// TTL returns the time to live of the book's nonces.
func (n *NonceBook) TTL() time.Duration {
	if n.ttl <= 0 {
		return DefaultNonceTTL
	}
	return n.ttl
}

func (n *NonceBook) clock() time.Time {
	if n.now != nil {
		return n.now()
	}
	return time.Now()
}

// prune drops the entries more than one ttl past their expiry. n.mu is
// held. Entries are queued in issue order with a constant ttl, so they
// expire in order; a clock going backwards only delays pruning.
func (n *NonceBook) prune(now time.Time) {
	ttl := n.TTL()
	i := 0
	for ; i < len(n.queue); i++ {
		e := n.queue[i]
		if now.Before(e.expires.Add(ttl)) {
			break
		}
		if n.entries[e.key] == e {
			delete(n.entries, e.key)
		}
	}
	if i > 0 {
		clear(n.queue[:i])
		n.queue = n.queue[i:]
	}
}

// Len returns the number of nonces the book remembers (issued and not yet
// pruned, used or not).
func (n *NonceBook) Len() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.prune(n.clock())
	return len(n.entries)
}

// Issue returns a new nonce of NonceSize bytes from crypto/rand and
// remembers it until its expiry. Hand it to the daemon (hex) for the link
// request and redeem it with Redeem, or Verify with Options.Nonces.
func (n *NonceBook) Issue() ([]byte, error) {
	nonce := make([]byte, NonceSize)
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("link: nonce: %w", err)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	now := n.clock()
	n.prune(now)
	if n.entries == nil {
		n.entries = make(map[string]*nonceEntry)
	}
	key := string(nonce)
	if _, dup := n.entries[key]; dup { // 2^-256: crypto/rand is broken
		return nil, fmt.Errorf("link: nonce: crypto/rand repeated itself")
	}
	e := &nonceEntry{key: key, expires: now.Add(n.TTL())}
	n.entries[key] = e
	n.queue = append(n.queue, e)
	return nonce, nil
}

// Redeem accepts a nonce of the book once: it returns nil the first time
// for a nonce issued less than a ttl ago, an error wrapping
// ErrNonceReplayed when it was already redeemed, ErrNonceExpired when its
// time is over, and ErrNonce when the book does not know it.
func (n *NonceBook) Redeem(nonce []byte) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	now := n.clock()
	n.prune(now)
	e, ok := n.entries[string(nonce)]
	switch {
	case !ok:
		return fmt.Errorf("%w: nonce %s was not issued by this book (or is long gone)", ErrNonce, nonceLabel(nonce))
	case e.used:
		return fmt.Errorf("%w: nonce %s was redeemed before", ErrNonceReplayed, nonceLabel(nonce))
	case !now.Before(e.expires):
		return fmt.Errorf("%w: nonce %s expired %s", ErrNonceExpired, nonceLabel(nonce), e.expires.UTC().Format(time.RFC3339))
	}
	e.used = true
	return nil
}

// nonceLabel shortens a nonce for messages.
func nonceLabel(nonce []byte) string {
	if len(nonce) > 8 {
		return fmt.Sprintf("%X…", nonce[:8])
	}
	return fmt.Sprintf("%X", nonce)
}
