// Package audit writes the daemon's audit log: JSON lines, one per API
// operation, with who asked (a Unix uid or a browser origin), what was asked,
// which reader and card (a keyed hash, never the card number), and how it
// ended.
//
// The log never holds secrets: Entry has no PIN field, a PAN must be masked
// before it is recorded (Record masks again any long digit run it finds in
// Entry.PAN), and error messages are scrubbed of card numbers and
// SSN-like identifiers. Cards are identified by CardHash, an HMAC-SM3 of the
// card number under a per-installation key (LoadOrCreateKey), so that the
// lines of one card can be correlated without the log revealing the number.
//
// Each line is written with a single write(2) on a file opened O_APPEND, so
// a line is never split, not even by a crash. The file is rotated by size
// (path -> path.1 -> path.2 ..., Options.Keep files kept); Reopen supports
// external rotation (logrotate with a SIGHUP). A nil *Log (Discard) records
// nothing, so the daemon can run without an audit path.
package audit

import (
	"bytes"
	"crypto/hmac"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/emmansun/gmsm/sm3"
)

// Defaults of Options.
const (
	DefaultMaxSize = 10 << 20 // bytes
	DefaultKeep    = 5
	// MinKeySize is the shortest CardHash key Open accepts.
	MinKeySize = 16
)

var (
	// ErrClosed is returned by Record and Reopen after Close.
	ErrClosed = errors.New("audit: log closed")
	// ErrRotate reports a failed size rotation. The line being recorded
	// was still written (to the unrotated file), so nothing is lost, but
	// the file grows past MaxSize until a rotation succeeds.
	ErrRotate = errors.New("audit: rotation failed")
)

// Discard is a Log that records nothing. It is nil: every method of a nil
// *Log is a no-op (Record, Reopen and Close return nil, CardHash returns "").
var Discard *Log

// Entry is one audit line. Its JSON form is the line's format.
type Entry struct {
	// Time of the operation; Record sets it to now when zero. Written in
	// UTC, RFC 3339 with nanoseconds.
	Time time.Time `json:"time"`
	// Client is who asked: "uid:1000" or "origin:https://example.org".
	Client string `json:"client"`
	// Op is the API operation: "info", "link", "pin.verify", ...
	Op string `json:"op"`
	// Reader is the reader's name.
	Reader string `json:"reader,omitempty"`
	// Card is Log.CardHash of the card number or id — never the number.
	Card string `json:"card,omitempty"`
	// Level is the link level.
	Level int `json:"level,omitempty"`
	// PAN is the bank card number, which MUST already be masked (MaskPAN);
	// Record masks again, defensively, any run of 12 or more digits in it.
	PAN string `json:"pan,omitempty"`
	// Outcome is "ok" or the API error code.
	Outcome string `json:"outcome"`
	// Error is the error message. Record scrubs it: any run of 12 or more
	// digits is masked with MaskPAN, as is an 18-character SSN-like run
	// (17 digits and a check character X).
	Error string `json:"error,omitempty"`
	// Duration of the operation in milliseconds (see Milliseconds).
	Duration float64 `json:"duration_ms"`
	// Insertion is the reader's insertion id of the card.
	Insertion uint64 `json:"insertion,omitempty"`
	// Count, on a summary line, is the number of refused requests of Op
	// that ended with Outcome since Time (none reached a card); Duration is
	// then the window in milliseconds and Client is "summary".
	Count int `json:"count,omitempty"`
}

// MaxField is the most bytes Record writes of a text field (Client, Op,
// Reader, Card, PAN, Outcome, Error); longer values are cut at a character
// boundary and end with "…", so no request can make a line long.
const MaxField = 256

// capField cuts s to MaxField bytes.
func capField(s string) string {
	if len(s) <= MaxField {
		return s
	}
	const ell = "…"
	cut := MaxField - len(ell)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + ell
}

// Milliseconds converts d for Entry.Duration.
func Milliseconds(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// Options configure Open.
type Options struct {
	// Path of the log file. Its directory must exist.
	Path string
	// MaxSize is the size in bytes the file may not exceed before it is
	// rotated; DefaultMaxSize when <= 0. A single line longer than MaxSize
	// is written whole into a file of its own.
	MaxSize int64
	// Keep is the number of rotated files kept (path.1 ... path.Keep);
	// DefaultKeep when <= 0.
	Keep int
	// Key is the CardHash key, at least MinKeySize bytes (LoadOrCreateKey).
	Key []byte
}

// Log is an audit log. Its methods are safe for concurrent use.
type Log struct {
	path    string
	maxSize int64
	keep    int
	key     []byte

	mu     sync.Mutex
	f      *os.File // nil after a failed reopen; Record retries
	size   int64
	closed bool
}

// Open opens (creating it with mode 0600 if missing) the log file at
// opts.Path for appending.
func Open(opts Options) (*Log, error) {
	if opts.Path == "" {
		return nil, errors.New("audit: no path")
	}
	if len(opts.Key) < MinKeySize {
		return nil, fmt.Errorf("audit: key of %d bytes, want at least %d", len(opts.Key), MinKeySize)
	}
	l := &Log{
		path:    opts.Path,
		maxSize: opts.MaxSize,
		keep:    opts.Keep,
		key:     bytes.Clone(opts.Key),
	}
	if l.maxSize <= 0 {
		l.maxSize = DefaultMaxSize
	}
	if l.keep <= 0 {
		l.keep = DefaultKeep
	}
	if err := l.openLocked(); err != nil {
		return nil, err
	}
	return l, nil
}

func (l *Log) openLocked() error {
	f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("audit: open: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("audit: open: %w", err)
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return fmt.Errorf("audit: open %s: not a regular file", l.path)
	}
	l.f, l.size = f, st.Size()
	return nil
}

func (l *Log) closeLocked() error {
	if l.f == nil {
		return nil
	}
	f := l.f
	l.f = nil
	serr := f.Sync()
	cerr := f.Close()
	if serr != nil {
		return fmt.Errorf("audit: sync: %w", serr)
	}
	if cerr != nil {
		return fmt.Errorf("audit: close: %w", cerr)
	}
	return nil
}

// Record writes e as one JSON line. The line is written with a single
// write(2), without fsync (Close, Reopen and rotation sync). When the line
// would take the file past MaxSize the file is first rotated; if that
// fails, the line is still written and the error wraps ErrRotate.
func (l *Log) Record(e Entry) error {
	if l == nil {
		return nil
	}
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	e.Time = e.Time.UTC()
	e.PAN = capField(Scrub(e.PAN))
	e.Error = capField(Scrub(e.Error))
	e.Client, e.Op, e.Reader = capField(e.Client), capField(e.Op), capField(e.Reader)
	e.Card, e.Outcome = capField(e.Card), capField(e.Outcome)

	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(&e); err != nil { // appends the '\n'
		return fmt.Errorf("audit: encode: %w", err)
	}
	line := buf.Bytes()

	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrClosed
	}
	var rotErr error
	if l.f != nil && l.size > 0 && l.size+int64(len(line)) > l.maxSize {
		if err := l.rotateLocked(); err != nil {
			rotErr = fmt.Errorf("%w: %w", ErrRotate, err)
		}
	}
	if l.f == nil {
		if err := l.openLocked(); err != nil {
			return errors.Join(rotErr, err)
		}
	}
	n, err := l.f.Write(line)
	l.size += int64(n)
	if err != nil {
		return errors.Join(rotErr, fmt.Errorf("audit: write: %w", err))
	}
	return rotErr
}

// rotateLocked shifts path.(keep-1) -> path.keep ... path -> path.1 and
// opens a new path. On a failed rename it reopens path (which then still
// holds the old lines) so that recording goes on.
func (l *Log) rotateLocked() error {
	err := l.closeLocked()
	for i := l.keep - 1; i >= 1; i-- {
		if rerr := os.Rename(l.rotated(i), l.rotated(i+1)); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
			err = errors.Join(err, rerr)
		}
	}
	if rerr := os.Rename(l.path, l.rotated(1)); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
		err = errors.Join(err, rerr)
	}
	if oerr := l.openLocked(); oerr != nil {
		err = errors.Join(err, oerr)
	}
	return err
}

func (l *Log) rotated(i int) string { return l.path + "." + strconv.Itoa(i) }

// Reopen syncs and closes the file and opens Path again, for external
// rotation (logrotate renames the file, then sends SIGHUP).
func (l *Log) Reopen() error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrClosed
	}
	cerr := l.closeLocked()
	if err := l.openLocked(); err != nil {
		return errors.Join(cerr, err)
	}
	return cerr
}

// Close syncs and closes the file. Record and Reopen fail with ErrClosed
// afterwards; Close again returns nil.
func (l *Log) Close() error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	return l.closeLocked()
}

// CardHash is the keyed hash recorded in Entry.Card for a card number or
// id: HMAC-SM3 under Options.Key, first 16 bytes, lowercase hex. It is
// stable for a key and reveals nothing of id without it. A nil Log returns "".
func (l *Log) CardHash(id string) string {
	if l == nil {
		return ""
	}
	mac := hmac.New(sm3.New, l.key)
	mac.Write([]byte(id))
	return hex.EncodeToString(mac.Sum(nil)[:16])
}
