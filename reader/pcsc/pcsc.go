//go:build !nopcsc && (cgo || windows)

package pcsc

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/ebfe/scard"
	"github.com/sscard/ssc/reader"
)

// PC/SC backend notes (pcsc-lite through github.com/ebfe/scard):
//
//   - One PC/SC context serialises its calls, and a blocking call
//     (GetStatusChange, a transaction wait, a Connect held up by another
//     application's transaction) blocks every other call on it. So
//     ListReaders uses a short-lived context per call, every Card owns its
//     own context, and every Watch stream owns one.
//   - pcscd may restart at any time: a context whose daemon went away stays
//     dead (SCARD_E_NO_SERVICE) even after the daemon is back, so contexts
//     are established again rather than reused.
//   - libpcsclite reads PCSCLITE_CSOCK_NAME once per process.

// pnpReader is the pseudo reader whose state changes when readers come or go.
const pnpReader = `\\?PnP?\Notification`

// maxCommandAPDU is pcsc-lite's MAX_BUFFER_SIZE_EXTENDED: header, extended
// Lc, 65536 data bytes and extended Le. A longer command cannot be sent.
const maxCommandAPDU = 4 + 3 + 65536 + 3 + 2

// New returns the PC/SC backend: the readers of the system's pcscd,
// reached through libpcsclite (PCSCLITE_CSOCK_NAME selects another daemon
// socket). Creating it does not contact pcscd; ListReaders and Connect fail
// with reader.ErrServiceUnavailable while pcscd is not running, and Watch keeps
// retrying until it is.
//
// Reader names are the exact PC/SC names; matching by part of a name is done
// by reader.System.Find.
//
// Build with the nopcsc tag (or without cgo, except on Windows) to leave
// PC/SC out: New then returns a backend whose methods fail with
// reader.ErrNotSupported.
func New() reader.Backend {
	return &pcscBackend{
		cards:   make(map[*pcscCard]struct{}),
		watches: make(map[*pcscWatch]struct{}),
	}
}

type pcscBackend struct {
	mu      sync.Mutex
	closed  bool
	cards   map[*pcscCard]struct{}
	watches map[*pcscWatch]struct{}
}

// Name implements reader.Backend.
func (b *pcscBackend) Name() string { return "pcsc" }

// Health implements reader.HealthReporter: an error matching
// reader.ErrBackendStuck while a call into pcscd was abandoned at its
// deadline and none returned in time since (libpcsclite talks to one pcscd
// per process, so this is the state of every PC/SC backend of the process).
func (b *pcscBackend) Health() error { return pcscHealth() }

func (b *pcscBackend) checkOpen(op, name string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return &reader.Error{Op: op, Reader: name, Err: reader.ErrClosed}
	}
	return nil
}

// ListReaders implements reader.Backend. It returns the readers known to pcscd with
// card presence, ATR and exclusive use, read with a zero-timeout
// GetStatusChange. No readers is an empty list, not an error; pcscd not
// running is reader.ErrServiceUnavailable.
func (b *pcscBackend) ListReaders(ctx context.Context) ([]reader.Info, error) {
	const op = "list readers"
	if err := b.checkOpen(op, ""); err != nil {
		return nil, err
	}
	if ctx.Err() != nil {
		return nil, reader.ContextError(op, "", ctx)
	}
	sctx, err := pcscEstablish(ctx)
	if err != nil {
		return nil, pcscErr(op, "", err)
	}
	// A reader can vanish between listing and reading its state; try again
	// then.
	var infos []reader.Info
	err, running := blocking(ctx, op, "", func() error {
		for attempt := 0; ; attempt++ {
			err := withStates(ctx, func() error {
				var err error
				infos, err = pcscReaderInfos(sctx)
				return err
			})
			if errors.Is(err, scard.ErrUnknownReader) && attempt < 3 {
				continue
			}
			return err
		}
	}, func(error) { pcscRelease(sctx) })
	if running {
		return nil, err
	}
	pcscRelease(sctx)
	if err != nil {
		return nil, pcscErr(op, "", err)
	}
	return infos, nil
}

// pcscListReaders lists reader names; no readers is an empty list. The
// caller holds statesMu.
func pcscListReaders(sctx *scard.Context) ([]string, error) {
	names, err := sctx.ListReaders()
	if errors.Is(err, scard.ErrNoReadersAvailable) {
		return []string{}, nil
	}
	return names, err
}

// pcscReadStates reads the current state of each reader without waiting.
// The caller holds statesMu.
func pcscReadStates(sctx *scard.Context, names []string) ([]scard.ReaderState, error) {
	if len(names) == 0 {
		return nil, nil
	}
	rs := make([]scard.ReaderState, len(names))
	for i, n := range names {
		rs[i] = scard.ReaderState{Reader: n, CurrentState: scard.StateUnaware}
	}
	// With StateUnaware every reader differs from the caller's idea of it,
	// so this returns at once with every state filled in.
	if err := sctx.GetStatusChange(rs, 0); err != nil {
		return nil, err
	}
	return rs, nil
}

// pcscReaderInfos lists the readers with their states; the caller holds
// statesMu.
func pcscReaderInfos(sctx *scard.Context) ([]reader.Info, error) {
	names, err := pcscListReaders(sctx)
	if err != nil {
		return nil, err
	}
	rs, err := pcscReadStates(sctx, names)
	if err != nil {
		return nil, err
	}
	infos := make([]reader.Info, 0, len(rs))
	for _, r := range rs {
		if r.EventState&scard.StateUnknown != 0 {
			continue // gone meanwhile
		}
		ri := reader.Info{Name: r.Reader, Backend: "pcsc"}
		if pcscPresent(r.EventState) {
			ri.CardPresent = true
			ri.ATR = reader.ATR(slices.Clone(r.Atr))
			ri.InUse = r.EventState&scard.StateExclusive != 0
		}
		infos = append(infos, ri)
	}
	return infos, nil
}

// pcscPresent reports whether a reader state says a card is in the reader.
// EMPTY states still carry the previous card's ATR, so only PRESENT counts.
func pcscPresent(s scard.StateFlag) bool {
	return s&scard.StatePresent != 0 && s&scard.StateEmpty == 0
}

// pcscCounter is the reader's insertion/removal event counter, kept by
// pcsc-lite in the high 16 bits of the event state.
func pcscCounter(s scard.StateFlag) uint16 { return uint16(uint32(s) >> 16) }

// Connect implements reader.Backend. Each Card gets its own PC/SC context, so a
// blocking call on one card never holds up another card or a Watch.
//
// pcscd makes SCardConnect wait while another application holds a
// transaction on the card. Connect returns when ctx is done, but the
// SCardConnect call itself cannot be interrupted: a goroutine waits for it to
// finish and then disconnects and releases the context.
func (b *pcscBackend) Connect(ctx context.Context, name string, opts reader.ConnectOptions) (reader.Card, error) {
	const op = "connect"
	if err := b.checkOpen(op, name); err != nil {
		return nil, err
	}
	if name == "" {
		return nil, &reader.Error{Op: op, Err: reader.ErrReaderNotFound}
	}
	if ctx.Err() != nil {
		return nil, reader.ContextError(op, name, ctx)
	}
	mode, protos, err := pcscConnectParams(opts)
	if err != nil {
		return nil, &reader.Error{Op: op, Reader: name, Err: err}
	}
	c := &pcscCard{
		b:       b,
		reader:  name,
		mode:    mode,
		protos:  protos,
		closing: make(chan struct{}),
	}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil, &reader.Error{Op: op, Reader: name, Err: reader.ErrClosed}
	}
	b.cards[c] = struct{}{}
	b.mu.Unlock()
	pc, _, err := c.handle(ctx, op)
	if err != nil {
		c.Close()
		return nil, err
	}
	c.unref(pc)
	return c, nil
}

func pcscConnectParams(opts reader.ConnectOptions) (scard.ShareMode, scard.Protocol, error) {
	var mode scard.ShareMode
	switch opts.Mode {
	case reader.Shared:
		mode = scard.ShareShared
	case reader.Exclusive:
		mode = scard.ShareExclusive
	default:
		return 0, 0, fmt.Errorf("%w: share mode %d", reader.ErrNotSupported, opts.Mode)
	}
	if len(opts.Protocols) == 0 {
		return mode, scard.ProtocolT0 | scard.ProtocolT1, nil
	}
	var protos scard.Protocol
	for _, p := range opts.Protocols {
		switch p {
		case reader.T0:
			protos |= scard.ProtocolT0
		case reader.T1:
			protos |= scard.ProtocolT1
		default:
			return 0, 0, fmt.Errorf("%w: protocol %v", reader.ErrNotSupported, p)
		}
	}
	return mode, protos, nil
}

// Close implements reader.Backend: it closes the cards connected through this
// backend and ends its Watch streams (their channels close). It is
// idempotent.
func (b *pcscBackend) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	cards := make([]*pcscCard, 0, len(b.cards))
	for c := range b.cards {
		cards = append(cards, c)
	}
	watches := make([]*pcscWatch, 0, len(b.watches))
	for w := range b.watches {
		watches = append(watches, w)
	}
	b.mu.Unlock()
	var errs []error
	for _, c := range cards {
		errs = append(errs, c.Close())
	}
	for _, w := range watches {
		w.cancel()
	}
	for _, w := range watches {
		<-w.done
	}
	return errors.Join(errs...)
}

func (b *pcscBackend) forgetCard(c *pcscCard) {
	b.mu.Lock()
	delete(b.cards, c)
	b.mu.Unlock()
}
