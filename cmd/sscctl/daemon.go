package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/sscard/ssc/reader"
	"github.com/sscard/ssc/reader/serial"
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

// daemonReader picks the reader with the rule of direct mode (reader.Pick)
// and returns its exact name, so that the errors read the same. ok is false
// when direct mode would pick the in-process software card (the daemon has
// no reader at all): the caller then goes direct.
func (a *app) daemonReader(ctx context.Context, c *sscd.Client) (r sscd.Reader, ok bool, err error) {
	rs, err := daemonReaders(ctx, c)
	if err != nil || (len(rs) == 0 && a.reader() == "") {
		return r, false, err
	}
	infos := make([]reader.Info, len(rs))
	for i, x := range rs {
		infos[i] = reader.Info{Name: x.Name, Backend: x.Backend, CardPresent: x.CardPresent}
	}
	i, err := reader.Pick(infos, a.reader())
	if err != nil {
		return r, false, err
	}
	return rs[i], true, nil
}

// remoteError is a daemon error shown with the text the same failure has in
// direct mode (the daemon runs the same library code, so its message is that
// text). It unwraps to the *sscd.Error, which matches the SDK sentinels of
// its code, so the printing code treats it as the local error.
type remoteError struct{ err *sscd.Error }

func (e *remoteError) Error() string { return e.err.Message }
func (e *remoteError) Unwrap() error { return e.err }

// fromDaemon turns an error of the daemon client into the error direct mode
// prints for the same failure; readerName is the reader of the operation.
func fromDaemon(err error, readerName string) error {
	var e *sscd.Error
	if !errors.As(err, &e) {
		return err // transport: "sscd: GET /v1/...: ..."
	}
	switch e.Code {
	case sscd.CodeNoCard:
		return &reader.Error{Op: "connect", Reader: readerName, Err: reader.ErrNoCard}
	case sscd.CodeReaderNotFound:
		return &reader.Error{Op: "find reader", Reader: readerName, Err: reader.ErrReaderNotFound}
	case sscd.CodeCardChanged, sscd.CodeCardRemoved, sscd.CodeBusy, sscd.CodeTimeout, sscd.CodeForbidden,
		sscd.CodeNotFound, sscd.CodeMethodNotAllowed, sscd.CodeSessionNotFound, sscd.CodeDisabled, sscd.CodeInternal:
		// Failures only the daemon has: say where they come from.
		return e
	}
	return &remoteError{e}
}
