package link

import "errors"

// Errors of ParseBundle, Check, Verify and the NonceStores. Every error these
// return wraps exactly one of them (errors.Is), and the cause where there
// is one (for example sm.ErrCertExpired under ErrUntrusted).
var (
	// ErrMalformed: the bundle is not well formed — bad JSON, unknown
	// fields, trailing data, too big, or a field that fails the structure
	// checks of Bundle.Check.
	ErrMalformed = errors.New("link: malformed bundle")
	// ErrOrigin: the bundle is bound to another origin than the expected one.
	ErrOrigin = errors.New("link: wrong origin")
	// ErrNonce: the bundle's nonce is not the one the platform issued, or
	// the NonceBook does not know it.
	ErrNonce = errors.New("link: wrong or unknown nonce")
	// ErrNonceExpired: the nonce was issued but its time to live is over.
	ErrNonceExpired = errors.New("link: nonce expired")
	// ErrNonceReplayed: the nonce was already redeemed.
	ErrNonceReplayed = errors.New("link: nonce already used")
	// ErrNonceStore: the NonceStore could not issue or consume a nonce —
	// the store is unreachable, too slow (timeout, cancelled context) or
	// answered something unexpected. Verification fails closed: the bundle
	// is refused and the platform asks for a new link.
	ErrNonceStore = errors.New("link: nonce store unavailable")
	// ErrUntrusted: the card's certificate does not verify against the
	// trusted roots (unknown issuer, expired, not SM2, key usage, ...); the
	// sm.ErrCert* cause is wrapped.
	ErrUntrusted = errors.New("link: certificate not trusted")
	// ErrCardMismatch: the certificate does not belong to the card whose
	// data the bundle carries (the Binding failed).
	ErrCardMismatch = errors.New("link: certificate does not belong to the card")
	// ErrSignature: the signature does not verify with the certificate's
	// key — the data, origin or nonce were changed after signing, or another
	// key signed.
	ErrSignature = errors.New("link: bad signature")
	// ErrLevel: the bundle's level is below Options.MinLevel.
	ErrLevel = errors.New("link: level too low")
	// ErrBankBlocked: a level 2 bundle whose bank application is blocked.
	ErrBankBlocked = errors.New("link: bank application blocked")
	// ErrOptions: the Options of Verify are unusable (no roots, no origin,
	// not exactly one of Nonce and Nonces, MinLevel out of range). It is a
	// programming error of the caller, not a property of the bundle.
	ErrOptions = errors.New("link: invalid verify options")
)
