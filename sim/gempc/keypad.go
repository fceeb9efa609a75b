package gempc

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
)

// Keypad is where an emulated GemPC PinPad gets the digits "typed" on its
// keypad. Entry is called once per PIN the reader asks for (once for a
// verification; for a change once per PIN to enter: current, new,
// confirmation) with the prompt the reader would display. It returns the
// digits, or an error matching ErrKeypadCancelled (the Cancel key) or
// ErrKeypadTimeout (nothing confirmed in time); any other error counts as a
// timeout. Entry may block; it should return when ctx is done.
type Keypad interface {
	Entry(ctx context.Context, prompt string) (digits string, err error)
}

// KeypadFunc adapts a function to Keypad.
type KeypadFunc func(ctx context.Context, prompt string) (string, error)

// Entry implements Keypad.
func (f KeypadFunc) Entry(ctx context.Context, prompt string) (string, error) { return f(ctx, prompt) }

// Keypad outcomes.
var (
	ErrKeypadCancelled = errors.New("gempc: PIN entry cancelled on the keypad")
	ErrKeypadTimeout   = errors.New("gempc: PIN entry timed out on the keypad")
)

// Prompts passed to Keypad.Entry.
const (
	PromptPIN        = "Enter PIN"
	PromptNewPIN     = "Enter new PIN"
	PromptConfirmPIN = "Confirm new PIN"
)

// Script is the Keypad ScriptKeypad returns: it plays back a parsed script,
// one entry per Entry call.
type Script struct {
	mu      sync.Mutex
	entries []scriptEntry
}

type scriptEntry struct {
	digits string
	err    error // nil (OK), ErrKeypadCancelled or ErrKeypadTimeout
}

// ScriptKeypad returns a keypad that plays back script, one entry per
// Entry call (so one per Secure verify; a change takes one per PIN it asks
// for). Entries are separated by ';' and each is optional digits followed
// by a key: "OK" (the digits are entered), "CANCEL" or "TIMEOUT" (digits
// typed before are dropped). Keys are case-insensitive; blank entries are
// ignored. Example: "123456 OK; CANCEL; 12 TIMEOUT". Once the script is
// used up, Entry answers ErrKeypadTimeout.
func ScriptKeypad(script string) (Keypad, error) {
	k := &Script{}
	for i, raw := range strings.Split(script, ";") {
		f := strings.Fields(raw)
		if len(f) == 0 {
			continue
		}
		var digits string
		if len(f) == 2 {
			digits = f[0]
			for _, c := range digits {
				if c < '0' || c > '9' {
					return nil, fmt.Errorf("gempc: keypad script entry %d %q: %q is not digits", i+1, strings.TrimSpace(raw), digits)
				}
			}
		} else if len(f) != 1 {
			return nil, fmt.Errorf("gempc: keypad script entry %d %q: want [DIGITS] OK|CANCEL|TIMEOUT", i+1, strings.TrimSpace(raw))
		}
		e := scriptEntry{digits: digits}
		switch strings.ToUpper(f[len(f)-1]) {
		case "OK":
		case "CANCEL":
			e = scriptEntry{err: ErrKeypadCancelled}
		case "TIMEOUT":
			e = scriptEntry{err: ErrKeypadTimeout}
		default:
			return nil, fmt.Errorf("gempc: keypad script entry %d %q: unknown key %q (want OK, CANCEL or TIMEOUT)",
				i+1, strings.TrimSpace(raw), f[len(f)-1])
		}
		k.entries = append(k.entries, e)
	}
	return k, nil
}

// Entry implements Keypad.
func (k *Script) Entry(ctx context.Context, prompt string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(k.entries) == 0 {
		return "", fmt.Errorf("%w (keypad script used up)", ErrKeypadTimeout)
	}
	e := k.entries[0]
	k.entries = k.entries[1:]
	return e.digits, e.err
}

// Remaining reports how many script entries are left.
func (k *Script) Remaining() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.entries)
}
