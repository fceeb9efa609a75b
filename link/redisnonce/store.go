// Package redisnonce is a link.NonceStore on Redis, so that several
// instances of an e-card platform behind a load balancer share one nonce
// space: a nonce issued by one instance is consumed at most once across all
// of them, and the store expires it.
//
// Each nonce is one Redis key, written and consumed by Lua scripts that run
// atomically on the server:
//
//   - the key is PREFIX + hex(SHA-256(origin, nonce)): namespaced, of fixed
//     length whatever a bundle carries, bound to the origin, and never the
//     raw nonce, so whoever can list the keys (MONITOR, SCAN, a replica, a
//     dump) cannot lift an outstanding nonce from it;
//   - issuing SETs it NX with the expiry time (by the server's clock, TIME,
//     so instances with skewed clocks agree) and the minimum level, PX
//     twice the ttl: until the store drops it, an expired nonce is reported
//     as expired and a used one as used;
//   - consuming reads it, checks expiry and level, and overwrites it with
//     "used" (KEEPTTL) in the same script: no two consumers can both win.
//
// Every call is bounded by Config.Timeout and fails closed: a store that
// does not answer gives an error wrapping link.ErrNonceStore, never an
// acceptance. The client does not retry commands (a retried consume whose
// first reply was lost would report "used" for the caller's own nonce).
package redisnonce

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sscard/ssc/link"
)

// DefaultPrefix namespaces the store's keys.
const DefaultPrefix = "ssc:link:nonce:"

// DefaultTimeout bounds each call to Redis (dial, command, reply).
const DefaultTimeout = 2 * time.Second

// Config configures a Store.
type Config struct {
	// URL is the Redis server: redis://[user:password@]host:port/db,
	// rediss:// for TLS, or unix:///path/to/redis.sock?db=N (required).
	URL string
	// Prefix namespaces the keys (DefaultPrefix when empty); platforms
	// sharing one Redis for different nonce spaces use different ones.
	Prefix string
	// TTL is the default life of a nonce (link.DefaultNonceTTL when 0).
	TTL time.Duration
	// Timeout bounds every call (DefaultTimeout when 0).
	Timeout time.Duration
}

// Store is a link.NonceStore on Redis. It is safe for concurrent use.
type Store struct {
	rdb     *redis.Client
	prefix  string
	ttl     time.Duration
	timeout time.Duration
}

var _ link.NonceStore = (*Store)(nil)

// New connects lazily: it checks cfg and the URL, and the first call that
// needs Redis dials it. Use Ping to check the server at start-up.
func New(cfg Config) (*Store, error) {
	if cfg.URL == "" {
		return nil, errors.New("redisnonce: no Redis URL")
	}
	opt, err := redis.ParseURL(cfg.URL)
	if err != nil {
		// The URL may carry a password: name the field, not its value.
		return nil, fmt.Errorf("redisnonce: Redis URL: %w", redactURL(err, cfg.URL))
	}
	s := &Store{prefix: cfg.Prefix, ttl: cfg.TTL, timeout: cfg.Timeout}
	if s.prefix == "" {
		s.prefix = DefaultPrefix
	}
	if s.ttl <= 0 {
		s.ttl = link.DefaultNonceTTL
	}
	if s.timeout <= 0 {
		s.timeout = DefaultTimeout
	}
	opt.DialTimeout = s.timeout
	opt.ReadTimeout = s.timeout
	opt.WriteTimeout = s.timeout
	opt.PoolTimeout = s.timeout
	opt.ContextTimeoutEnabled = true
	opt.MaxRetries = -1
	opt.DialerRetries = 1
	opt.DisableIdentity = true // CLIENT SETINFO is Redis 7.2+; Debian 12 has 7.0
	s.rdb = redis.NewClient(opt)
	return s, nil
}

// redactURL removes the URL (and so any password in it) from a parse error.
func redactURL(err error, url string) error {
	msg := err.Error()
	if url != "" && strings.Contains(msg, url) {
		msg = strings.ReplaceAll(msg, url, "<url>")
	}
	return errors.New(msg)
}

// TTL returns the default life of the store's nonces.
func (s *Store) TTL() time.Duration { return s.ttl }

// Close closes the connections to Redis.
func (s *Store) Close() error { return s.rdb.Close() }

// Ping checks that Redis answers within the timeout.
func (s *Store) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	if err := s.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("%w: redis: %w", link.ErrNonceStore, err)
	}
	return nil
}

// key is the Redis key of nonce for origin: the prefix and the SHA-256 of
// both, each length-prefixed so no two pairs share a key.
func (s *Store) key(origin string, nonce []byte) string {
	h := sha256.New()
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(origin)))
	h.Write(n[:])
	h.Write([]byte(origin))
	binary.BigEndian.PutUint32(n[:], uint32(len(nonce)))
	h.Write(n[:])
	h.Write(nonce)
	return s.prefix + hex.EncodeToString(h.Sum(nil))
}

// nowMillis is the server's clock in milliseconds, in both scripts.
// redis.replicate_commands is needed before Redis 5 for TIME before a
// write, and a no-op (or absent) after.
const nowMillis = `
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`

// issueScript: KEYS[1] the key, ARGV[1] the ttl in ms, ARGV[2] the minimum
// level. Returns the expiry (ms since the epoch), or -1 when the key
// exists (crypto/rand repeated itself).
var issueScript = redis.NewScript(nowMillis + `
local ttl = tonumber(ARGV[1])
local exp = now + ttl
if redis.call('SET', KEYS[1], exp .. ':' .. ARGV[2], 'PX', 2 * ttl, 'NX') then
	return exp
end
return -1
`)

// consumeScript: KEYS[1] the key, ARGV[1] the bundle's level. Returns
// "ok" (consumed now), "unknown", "used", "expired" or "level:N".
var consumeScript = redis.NewScript(nowMillis + `
local v = redis.call('GET', KEYS[1])
if not v then return 'unknown' end
if v == 'used' then return 'used' end
local sep = string.find(v, ':', 1, true)
if not sep then return 'bad' end
local exp = tonumber(string.sub(v, 1, sep - 1))
local lvl = tonumber(string.sub(v, sep + 1))
if not exp or not lvl then return 'bad' end
if now >= exp then return 'expired' end
if tonumber(ARGV[1]) < lvl then return 'level:' .. lvl end
redis.call('SET', KEYS[1], 'used', 'KEEPTTL')
return 'ok'
`)

// IssueNonce implements link.NonceStore. origin must not be empty: a Redis
// nonce is always bound to one origin.
func (s *Store) IssueNonce(ctx context.Context, origin string, minLevel int, ttl time.Duration) (link.Nonce, error) {
	if origin == "" {
		return link.Nonce{}, fmt.Errorf("%w: redisnonce: a nonce needs an origin", link.ErrNonceStore)
	}
	if ttl <= 0 {
		ttl = s.ttl
	}
	ms := ttl.Milliseconds()
	if ms < 1 {
		ms = 1
	}
	nonce, err := link.NewNonce()
	if err != nil {
		return link.Nonce{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	exp, err := issueScript.Run(ctx, s.rdb, []string{s.key(origin, nonce)}, ms, minLevel).Int64()
	if err != nil {
		return link.Nonce{}, fmt.Errorf("%w: redis: issue: %w", link.ErrNonceStore, err)
	}
	if exp < 0 {
		return link.Nonce{}, fmt.Errorf("%w: crypto/rand repeated itself", link.ErrNonceStore)
	}
	return link.Nonce{Value: nonce, Expires: time.UnixMilli(exp)}, nil
}

// ConsumeNonce implements link.NonceStore.
func (s *Store) ConsumeNonce(ctx context.Context, origin string, nonce []byte, level int) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	res, err := consumeScript.Run(ctx, s.rdb, []string{s.key(origin, nonce)}, level).Text()
	if err != nil {
		return fmt.Errorf("%w: redis: consume nonce %s: %w", link.ErrNonceStore, link.NonceLabel(nonce), err)
	}
	switch {
	case res == "ok":
		return nil
	case res == "unknown":
		return fmt.Errorf("%w: nonce %s was not issued for this origin (or is long gone)", link.ErrNonce, link.NonceLabel(nonce))
	case res == "used":
		return fmt.Errorf("%w: nonce %s was consumed before", link.ErrNonceReplayed, link.NonceLabel(nonce))
	case res == "expired":
		return fmt.Errorf("%w: nonce %s", link.ErrNonceExpired, link.NonceLabel(nonce))
	case strings.HasPrefix(res, "level:"):
		min, _ := strconv.Atoi(strings.TrimPrefix(res, "level:"))
		return fmt.Errorf("%w: level %d, the nonce was issued for level %d", link.ErrLevel, level, min)
	}
	return fmt.Errorf("%w: redis: unexpected answer %q for nonce %s", link.ErrNonceStore, res, link.NonceLabel(nonce))
}
