package link

import (
	"context"
	"crypto/rand"
	"fmt"
	"time"
)

// NonceStore issues the platform's single-use nonces and consumes them.
// NonceBook keeps them in memory (one platform process); package
// link/redisnonce keeps them in Redis, so several platform instances
// behind a load balancer share one nonce space: a nonce issued by one
// instance is consumed at most once across all of them.
//
// Implementations are safe for concurrent use and fail closed: when the
// store cannot answer, ConsumeNonce returns an error wrapping
// ErrNonceStore and the bundle is refused.
type NonceStore interface {
	// IssueNonce makes a fresh random nonce of NonceSize bytes for a link
	// bound to origin and of at least minLevel (0 = any), valid for ttl
	// (the store's default when ttl <= 0), and remembers it. Errors wrap
	// ErrNonceStore.
	IssueNonce(ctx context.Context, origin string, minLevel int, ttl time.Duration) (Nonce, error)
	// ConsumeNonce accepts nonce once, atomically, for a bundle bound to
	// origin whose level is level. It returns nil at most once per
	// issued nonce, across every user of the store; otherwise an error
	// wrapping exactly one of ErrNonce (not issued for this origin, or
	// forgotten), ErrNonceExpired, ErrNonceReplayed, ErrLevel (level below
	// the nonce's minLevel; the nonce stays unused) or ErrNonceStore (the
	// store did not answer in time or failed; the nonce may or may not be
	// used up — never accepted).
	ConsumeNonce(ctx context.Context, origin string, nonce []byte, level int) error
}

// Nonce is an issued nonce.
type Nonce struct {
	// Value is the nonce (NonceSize random bytes); the link request takes
	// it in hex.
	Value []byte
	// Expires is when the store stops accepting it, by the store's clock.
	Expires time.Time
}

// newNonce returns NonceSize bytes from crypto/rand.
func newNonce() ([]byte, error) {
	nonce := make([]byte, NonceSize)
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("%w: random nonce: %w", ErrNonceStore, err)
	}
	return nonce, nil
}

// NewNonce returns NonceSize bytes from crypto/rand, for NonceStore
// implementations; an error wraps ErrNonceStore.
func NewNonce() ([]byte, error) { return newNonce() }

// NonceLabel shortens a nonce for messages and logs (the first 8 bytes in
// hex), for NonceStore implementations.
func NonceLabel(nonce []byte) string { return nonceLabel(nonce) }
