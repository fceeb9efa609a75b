package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sscard/ssc/apdu"
	"github.com/sscard/ssc/reader"
	"github.com/sscard/ssc/reader/serial"
	"github.com/sscard/ssc/sscard"
	"github.com/sscard/ssc/sscd"
)

// healthTimeout bounds the check that a daemon answers on its socket.
const healthTimeout = time.Second

// daemonClient returns a client of sscd when the command should go through
// it, or nil to use the readers directly. It is resolved once, lazily, by the
// commands the daemon supports. The daemon is bypassed with --direct, with
// --trace (the daemon owns the card: sscctl cannot see its APDUs), and when
// the in-process software card or sscctl's own serial readers were asked
// for (--reader sim, --sim-profile, --sim-mode, --serial, --reader serial:).
func (a *app) daemonClient(ctx context.Context) *sscd.Client {
	if a.daemonResolved {
		return a.daemon
	}
	a.daemonResolved = true
	if a.direct || a.trace || a.wantsLocalReader() {
		return nil
	}
	path := a.socket
	if path == "" {
		path = sscd.DefaultSocket
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Type() != fs.ModeSocket {
		return nil // no daemon: direct, silently
	}
	c := sscd.Dial(path)
	hctx, cancel := context.WithTimeout(ctx, healthTimeout)
	defer cancel()
	if _, err := c.Health(hctx); err != nil {
		c.Close()
		if ctx.Err() == nil {
			fmt.Fprintf(a.stderr, "sscctl: sscd socket %s does not answer; using the readers directly\n", path)
		}
		return nil
	}
	a.daemon = c
	return c
}

// wantsLocalReader reports whether the command line asks for a reader only
// sscctl itself has: the in-process software card or a serial reader given
// to sscctl.
func (a *app) wantsLocalReader() bool {
	if a.readerName == reader.SimReaderName || strings.HasPrefix(a.readerName, serial.Prefix) || len(a.serial) > 0 {
		return true
	}
	if os.Getenv("SSC_SIM_PROFILE") != "" {
		return true
	}
	if a.root != nil {
		pf := a.root.PersistentFlags()
		if pf.Changed("sim-profile") || pf.Changed("sim-mode") {
			return true
		}
	}
	return false
}

// closeDaemon releases the client's connections.
func (a *app) closeDaemon() {
	if a.daemon != nil {
		a.daemon.Close()
	}
}

// backendRank orders readers as reader.System lists them: PC/SC, serial,
// then the software card.
func backendRank(b string) int {
	switch b {
	case "pcsc":
		return 0
	case "serial":
		return 1
	case "sim":
		return 3
	}
	return 2
}

// daemonReaders lists the daemon's readers in the order of direct mode.
func daemonReaders(ctx context.Context, c *sscd.Client) ([]sscd.Reader, error) {
	rs, err := c.Readers(ctx)
	if err != nil {
		return nil, fromDaemon(err, "")
	}
	sortReaders(rs)
	return rs, nil
}

func sortReaders(rs []sscd.Reader) {
	slices.SortStableFunc(rs, func(x, y sscd.Reader) int {
		if d := backendRank(x.Backend) - backendRank(y.Backend); d != 0 {
			return d
		}
		return strings.Compare(x.Name, y.Name)
	})
}

// daemonReader picks the reader like reader.System.Find does in direct mode
// and returns its exact name, so that the errors read the same. ok is false
// when direct mode would pick the in-process software card (the daemon has
// no reader at all): the caller then goes direct.
func (a *app) daemonReader(ctx context.Context, c *sscd.Client) (r sscd.Reader, ok bool, err error) {
	rs, err := daemonReaders(ctx, c)
	if err != nil {
		return r, false, err
	}
	pattern := a.reader()
	if pattern == "" {
		var hw []sscd.Reader
		for _, x := range rs {
			if x.Backend != "sim" {
				hw = append(hw, x)
			}
		}
		if len(hw) == 0 {
			hw = rs
		}
		if len(hw) == 0 {
			return r, false, nil
		}
		for _, x := range hw {
			if x.CardPresent {
				return x, true, nil
			}
		}
		return r, false, &reader.Error{Op: "find reader", Reader: hw[0].Name,
			Err: fmt.Errorf("%w (in any of %d readers; --reader sim uses the software card)", reader.ErrNoCard, len(hw))}
	}
	var matches []sscd.Reader
	for _, x := range rs {
		if x.Name == pattern {
			return x, true, nil
		}
		if strings.Contains(strings.ToLower(x.Name), strings.ToLower(pattern)) {
			matches = append(matches, x)
		}
	}
	switch len(matches) {
	case 0:
		return r, false, &reader.Error{Op: "find reader", Reader: pattern, Err: reader.ErrReaderNotFound}
	case 1:
		return matches[0], true, nil
	}
	names := make([]string, len(matches))
	for i, m := range matches {
		names[i] = fmt.Sprintf("%q", m.Name)
	}
	return r, false, &reader.Error{Op: "find reader", Reader: pattern,
		Err: fmt.Errorf("%w: %s", reader.ErrAmbiguousReader, strings.Join(names, ", "))}
}

// remoteError is a daemon error shown with the text the same failure has in
// direct mode (the daemon runs the same library code, so its message is that
// text), matching the local sentinels so the printing code treats it alike.
type remoteError struct {
	msg  string
	errs []error
}

func (e *remoteError) Error() string   { return e.msg }
func (e *remoteError) Unwrap() []error { return e.errs }

// Local sentinels found in a daemon message (the server's err.Error()).
var messageSentinels = []error{
	sscard.ErrPINFormat, sscard.ErrPINLastTry, sscard.ErrHSMAnswer, sscard.ErrMinistryFormat, sscard.ErrNeedsHSM,
	sscard.ErrHSM, sscard.ErrNotSSC,
	reader.ErrNoPINPad, reader.ErrPINPadCancelled, reader.ErrPINPadTimeout, reader.ErrNotSupported,
	reader.ErrNoCard, reader.ErrCardRemoved, apdu.ErrBlocked,
}

// fromDaemon turns an error of the daemon client into the error direct mode
// gives for the same failure; readerName is the reader of the operation.
func fromDaemon(err error, readerName string) error {
	var e *sscd.Error
	if !errors.As(err, &e) {
		return err // transport: "sscd: GET /v1/...: ..."
	}
	re := &remoteError{msg: e.Message}
	for _, s := range messageSentinels {
		if strings.Contains(e.Message, s.Error()) {
			re.errs = append(re.errs, s)
		}
	}
	switch e.Code {
	case sscd.CodeWrongPIN:
		if sw, perr := strconv.ParseUint(e.SW, 16, 16); perr == nil {
			ae := &apdu.AuthError{SW: apdu.StatusWord(sw), Retries: -1}
			if sw&0xFFF0 == 0x63C0 {
				ae.Retries = int(sw & 0x0F)
			}
			re.errs = append(re.errs, ae)
		}
	case sscd.CodePINBlocked:
		re.errs = append(re.errs, sscard.ErrPINBlocked)
	case sscd.CodePINLastTry:
		re.errs = append(re.errs, sscard.ErrPINLastTry)
	case sscd.CodeNeedsHSM:
		re.errs = append(re.errs, sscard.ErrNeedsHSM)
	case sscd.CodePINPadUnsupported:
		re.errs = append(re.errs, reader.ErrNoPINPad)
	case sscd.CodeNoCard:
		return &reader.Error{Op: "connect", Reader: readerName, Err: reader.ErrNoCard}
	case sscd.CodeReaderNotFound:
		return &reader.Error{Op: "find reader", Reader: readerName, Err: reader.ErrReaderNotFound}
	case sscd.CodeCardChanged, sscd.CodeCardRemoved, sscd.CodeBusy, sscd.CodeTimeout, sscd.CodeForbidden,
		sscd.CodeNotFound, sscd.CodeMethodNotAllowed, sscd.CodeSessionNotFound, sscd.CodeDisabled, sscd.CodeInternal:
		// Failures only the daemon has: say where they come from.
		re.msg = e.Error()
	}
	re.errs = append(re.errs, e)
	return re
}

// atrProtocol guesses the protocol a reader uses with a card from its ATR
// (the daemon does not report the active one): the first protocol the ATR
// offers, where a PC/SC contactless ATR (TD1 = 80, then T=1) counts as T=1.
func atrProtocol(atr []byte) reader.Protocol {
	if len(atr) < 2 {
		return reader.T0
	}
	var protos []int
	y := atr[1] >> 4
	i := 2
	for {
		for _, bit := range []byte{1, 2, 4} { // TA, TB, TC
			if y&bit != 0 {
				i++
			}
		}
		if y&8 == 0 || i >= len(atr) {
			break
		}
		td := atr[i]
		i++
		protos = append(protos, int(td&0x0F))
		y = td >> 4
	}
	switch {
	case len(protos) == 0:
		return reader.T0
	case protos[0] == 0 && len(atr) > 2 && len(protos) > 1 && protos[1] == 1 && atrTD1(atr) == 0x80:
		return reader.T1
	case protos[0] == 1:
		return reader.T1
	}
	return reader.T0
}

// atrTD1 returns the TD1 byte of an ATR that has one.
func atrTD1(atr []byte) byte {
	t0 := atr[1]
	i := 2
	for _, bit := range []byte{0x10, 0x20, 0x40} {
		if t0&bit != 0 {
			i++
		}
	}
	if t0&0x80 == 0 || i >= len(atr) {
		return 0
	}
	return atr[i]
}
