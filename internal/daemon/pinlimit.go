package daemon

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/sscard/ssc/apdu"
	"github.com/sscard/ssc/sscd"
)

// Defaults of PINLimitConfig: at most 3 wrong PIN attempts per card
// insertion in 10 minutes, whoever sends them (the socket, the bridge).
const (
	DefaultPINAttempts = 3
	DefaultPINWindow   = 10 * time.Minute
)

// PINLimitConfig bounds the wrong PIN attempts on one card insertion,
// across all callers and all of the card's PINs (the SSSE PIN, the PKI
// PIN of linking): a local process that may reach the daemon cannot run
// through a card's try counters faster than this, even when it forces
// the last try.
type PINLimitConfig struct {
	// Attempts is how many wrong PIN attempts (the card answered 63Cx or
	// 6983) one insertion may take within Window; the next request that
	// would present a PIN gets pin_rate_limited, with Retry-After, and no
	// try is spent. Default 3.
	Attempts int `yaml:"attempts"`
	// Window is the sliding window; default 10m.
	Window Duration `yaml:"window"`
}

func (c PINLimitConfig) withDefaults() PINLimitConfig {
	if c.Attempts <= 0 {
		c.Attempts = DefaultPINAttempts
	}
	if c.Window <= 0 {
		c.Window = Duration(DefaultPINWindow)
	}
	return c
}

// pinKey is one card insertion in one reader.
type pinKey struct {
	reader    string
	insertion uint64
}

// pinLimiter records the wrong PIN attempts per insertion. The reader's
// queue serialises the operations on a card, so check and record of one
// insertion never race.
type pinLimiter struct {
	mu    sync.Mutex
	wrong map[pinKey][]time.Time
}

// wait is how long insertion k must wait before it may present a PIN
// again (0: now).
func (l *pinLimiter) wait(k pinKey, now time.Time, c PINLimitConfig) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pruneLocked(now, time.Duration(c.Window))
	ts := l.wrong[k]
	if len(ts) < c.Attempts {
		return 0
	}
	// The oldest attempt that still counts must leave the window.
	return ts[len(ts)-c.Attempts].Add(time.Duration(c.Window)).Sub(now)
}

// add records a wrong attempt of insertion k.
func (l *pinLimiter) add(k pinKey, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.wrong == nil {
		l.wrong = map[pinKey][]time.Time{}
	}
	l.wrong[k] = append(l.wrong[k], now)
}

// forget drops the wrong attempts of insertion k: a PIN reset with the key
// system's update key (an operator at the counter) has set a new PIN, and
// the holder must be able to use it at once.
func (l *pinLimiter) forget(k pinKey) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.wrong, k)
}

// pruneLocked drops the attempts older than the window (and the
// insertions left with none), so the table stays as small as the set of
// recently attacked cards.
func (l *pinLimiter) pruneLocked(now time.Time, window time.Duration) {
	for k, ts := range l.wrong {
		i := 0
		for i < len(ts) && now.Sub(ts[i]) >= window {
			i++
		}
		if i == len(ts) {
			delete(l.wrong, k)
		} else if i > 0 {
			l.wrong[k] = append(ts[:0:0], ts[i:]...)
		}
	}
}

// wrongPIN reports whether the card answered a PIN attempt as wrong: 63Cx
// or blocked.
func wrongPIN(err error) bool {
	return errors.As(err, new(*apdu.AuthError)) || errors.Is(err, apdu.ErrBlocked)
}

// presentPIN runs f, which presents a PIN to op's card, under the rate
// limit of the card's insertion: refused with pin_rate_limited (no APDU
// sent) when the insertion has used up its wrong attempts, and the
// attempt counted when the card answers that the PIN was wrong.
func (d *Daemon) presentPIN(op *cardOp, f func() error) error {
	c := d.conf().cfg.PINLimit.withDefaults()
	k := pinKey{reader: op.reader.Name, insertion: op.reader.Insertion}
	if w := d.pins.wait(k, time.Now(), c); w > 0 {
		secs := int((w + time.Second - 1) / time.Second)
		return &sscd.Error{Code: sscd.CodePINRateLimited, RetryAfter: secs,
			Message: fmt.Sprintf("%d wrong PIN attempts on this card within %s: no PIN is sent to it for %d s (pin_rate_limit)", c.Attempts, time.Duration(c.Window), secs)}
	}
	err := f()
	if wrongPIN(err) {
		d.pins.add(k, time.Now())
	}
	return err
}
