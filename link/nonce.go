package link

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// DefaultNonceTTL is the time to live of a nonce of a NonceBook made with
// a ttl <= 0.
const DefaultNonceTTL = 5 * time.Minute

// NonceSize is the size of the nonces NonceBook.Issue makes (MinNonceSize).
const NonceSize = MinNonceSize

// NonceBook is the in-memory NonceStore: it issues the platform's
// single-use nonces and redeems them — a nonce is accepted once, before its
// time to live is over. It is safe for concurrent use. The zero value is
// ready to use, with DefaultNonceTTL.
//
// Memory is bounded: an entry is dropped one ttl after its expiry (until
// then an expired nonce is reported as ErrNonceExpired, a used one as
// ErrNonceReplayed; afterwards both are unknown, ErrNonce). A nonce can
// never be redeemed after its expiry, so dropping it loses no protection.
// The book lives in one process: several platform instances share a
// nonce space through link/redisnonce.
type NonceBook struct {
	mu      sync.Mutex
	ttl     time.Duration
	now     func() time.Time // the clock; nil = time.Now (tests inject one)
	entries map[string]*nonceEntry
	queue   []*nonceEntry // in issue order, for pruning
}

var _ NonceStore = (*NonceBook)(nil)

type nonceEntry struct {
	key      string
	origin   string // "" = any origin (Issue)
	minLevel int
	expires  time.Time
	ttl      time.Duration
	used     bool
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
// held. Entries are queued in issue order; with the book's ttl they expire
// in order. An entry issued with a longer ttl holds back the ones behind it
// until it goes (memory stays bounded by the longest ttl); a clock going
// backwards only delays pruning.
func (n *NonceBook) prune(now time.Time) {
	i := 0
	for ; i < len(n.queue); i++ {
		e := n.queue[i]
		if now.Before(e.expires.Add(e.ttl)) {
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

// Issue returns a new nonce of NonceSize bytes from crypto/rand, valid for
// the book's ttl for any origin and level, and remembers it until its
// expiry. Hand it to the daemon (hex) for the link request and redeem it
// with Redeem, or Verify with Options.Nonces. IssueNonce binds it to an
// origin and a level.
func (n *NonceBook) Issue() ([]byte, error) {
	v, err := n.IssueNonce(context.Background(), "", 0, 0)
	return v.Value, err
}

// IssueNonce implements NonceStore: a nonce for origin ("" = any) and a
// bundle level of at least minLevel, valid for ttl (the book's when <= 0).
func (n *NonceBook) IssueNonce(ctx context.Context, origin string, minLevel int, ttl time.Duration) (Nonce, error) {
	if err := ctx.Err(); err != nil {
		return Nonce{}, fmt.Errorf("%w: %w", ErrNonceStore, err)
	}
	if ttl <= 0 {
		ttl = n.TTL()
	}
	nonce, err := newNonce()
	if err != nil {
		return Nonce{}, err
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
		return Nonce{}, fmt.Errorf("%w: crypto/rand repeated itself", ErrNonceStore)
	}
	e := &nonceEntry{key: key, origin: origin, minLevel: minLevel, expires: now.Add(ttl), ttl: ttl}
	n.entries[key] = e
	n.queue = append(n.queue, e)
	return Nonce{Value: nonce, Expires: e.expires}, nil
}

// Redeem accepts a nonce of Issue once: it returns nil the first time
// for a nonce issued less than a ttl ago, an error wrapping
// ErrNonceReplayed when it was already redeemed, ErrNonceExpired when its
// time is over, and ErrNonce when the book does not know it (or it was
// issued by IssueNonce for an origin).
func (n *NonceBook) Redeem(nonce []byte) error {
	return n.ConsumeNonce(context.Background(), "", nonce, Level2)
}

// ConsumeNonce implements NonceStore. A nonce issued for any origin (Issue)
// matches every origin.
func (n *NonceBook) ConsumeNonce(ctx context.Context, origin string, nonce []byte, level int) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%w: %w", ErrNonceStore, err)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	now := n.clock()
	n.prune(now)
	e, ok := n.entries[string(nonce)]
	switch {
	case !ok || (e.origin != "" && e.origin != origin):
		return fmt.Errorf("%w: nonce %s was not issued by this book for this origin (or is long gone)", ErrNonce, nonceLabel(nonce))
	case e.used:
		return fmt.Errorf("%w: nonce %s was redeemed before", ErrNonceReplayed, nonceLabel(nonce))
	case !now.Before(e.expires):
		return fmt.Errorf("%w: nonce %s expired %s", ErrNonceExpired, nonceLabel(nonce), e.expires.UTC().Format(time.RFC3339))
	case level < e.minLevel:
		return fmt.Errorf("%w: level %d, the nonce was issued for level %d", ErrLevel, level, e.minLevel)
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
