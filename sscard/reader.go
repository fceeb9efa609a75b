package sscard

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/sscard/ssc/apdu"
	"github.com/sscard/ssc/reader"
)

// SSSEName is the DF name of the SSSE application: "sx1.sh." + GBK 社会保障
// (a constant: no caller can change the name every session selects).
const SSSEName = "sx1.sh.\xC9\xE7\xBB\xE1\xB1\xA3\xD5\xCF"

// Options configure a Session.
type Options struct {
	// WrapTransport, when set, wraps the card's raw transport (for tracing or
	// counting APDUs).
	WrapTransport func(apdu.Transport) apdu.Transport
	// Trace is passed to the apdu.Transmitter (PIN commands are redacted).
	Trace apdu.Tracer
	// Extended selects extended-length READ BINARY (default: auto).
	Extended ExtendedMode
	// MaxBinary caps EF07/EF08 reads; 0 means DefaultMaxBinary.
	MaxBinary int
	// ATRHistorical overrides the historical bytes taken from the reader's
	// ATR (卡复位信息). Through a contactless reader the ATR is synthesised
	// from the ATQB (8 historical bytes), not the card's 13 contact bytes
	// the ministry strings expect; set them here when known.
	ATRHistorical []byte
}

// ReadOptions select what Read returns.
type ReadOptions struct {
	// Fields to read; 0 means FieldsCardBas (the iReadCardBas set).
	Fields FieldSet
	// AllowPartial makes Read on a 3rd-gen card without HSM authentication
	// return the free fields and list the protected ones in
	// BasicInfo.Unavailable, instead of failing with ErrNeedsHSM.
	AllowPartial bool
	// Fingerprint and Photo also read the binary files EF07 and EF08
	// (protected like EF06 on a 3rd-gen card).
	Fingerprint, Photo bool
}

func (o ReadOptions) fields() FieldSet {
	if o.Fields == 0 {
		return FieldsCardBas
	}
	return o.Fields & FieldsAll
}

// Session is an open SSSE application on one card. It is safe for use by one
// goroutine at a time (calls are serialised).
type Session struct {
	mu      sync.Mutex
	card    reader.Card
	tx      *apdu.Transmitter
	atrHist []byte

	selected    bool   // SSSE is the current application (as far as we know)
	pkiSelected bool   // the PKI ADF is the current application
	version     string // cached spec version
	extMode     ExtendedMode
	maxBin      int
	pending     interface{ Abort() } // *HSMRequest or *WriteSession holding the card
}

// Open selects the SSSE application on card and reads the spec version
// (EF05 record 3), so the generation is known. A card without SSSE gives
// ErrNotSSC; 6283 gives ErrApplicationBlocked.
func Open(ctx context.Context, card reader.Card, opts Options) (*Session, error) {
	var t apdu.Transport = card
	if opts.WrapTransport != nil {
		t = opts.WrapTransport(t)
	}
	s := &Session{card: card, tx: &apdu.Transmitter{Transport: t, Trace: opts.Trace}, extMode: opts.Extended, maxBin: opts.MaxBinary}
	s.tx.Extended = s.extended()
	if opts.ATRHistorical != nil {
		s.atrHist = slices.Clone(opts.ATRHistorical)
	} else if a, err := apdu.ParseATR(card.ATR()); err == nil {
		s.atrHist = slices.Clone(a.Historical)
	}
	err := s.inTransaction(ctx, func() error {
		if err := s.selectSSSE(ctx); err != nil {
			return err
		}
		var info BasicInfo
		return s.readRecord(ctx, &info, &records[2])
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Generation returns 2 or 3, from the spec version read at Open.
func (s *Session) Generation() int {
	g, _ := generationOf(s.version)
	return g
}

// Version returns the spec version read at Open ("1.00", "3.00", ...).
func (s *Session) Version() string { return s.version }

// ATRHistorical returns the historical bytes of the card's ATR.
func (s *Session) ATRHistorical() []byte { return slices.Clone(s.atrHist) }

// Transmitter returns the session's transmitter (for commands this package
// does not cover). Using it can change the selected application.
func (s *Session) Transmitter() *apdu.Transmitter { return s.tx }

// do runs f as one operation on the card: under the session lock, refused
// with ErrBusy while an HSM request holds the card, inside one reader
// transaction.
func (s *Session) do(ctx context.Context, f func() error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pending != nil {
		return ErrBusy
	}
	return s.inTransaction(ctx, f)
}

// doSSSE is do with the SSSE application selected first.
func (s *Session) doSSSE(ctx context.Context, f func() error) error {
	return s.do(ctx, func() error {
		if err := s.ensureSSSE(ctx); err != nil {
			return err
		}
		return f()
	})
}

func (s *Session) inTransaction(ctx context.Context, f func() error) error {
	if err := s.card.BeginTransaction(ctx); err != nil {
		s.selected = false
		return fmt.Errorf("sscard: begin transaction: %w", err)
	}
	err := f()
	if err != nil && !isStatus(err) {
		// Transport failure (removal, reset, cancellation): state unknown.
		s.selected, s.pkiSelected = false, false
	}
	if eerr := s.card.EndTransaction(reader.LeaveCard); eerr != nil && err == nil {
		s.selected = false
		if !errors.Is(eerr, reader.ErrCardRemoved) {
			err = fmt.Errorf("sscard: end transaction: %w", eerr)
		}
	}
	return err
}

func isStatus(err error) bool {
	_, ok := apdu.StatusOf(err)
	return ok || errors.Is(err, ErrMalformedRecord) || errors.Is(err, ErrNeedsHSM)
}

// selectSSSE selects SSSE by name with P2=0C (no FCI). On 6A82 it selects
// the MF 3F00 and retries once.
func (s *Session) selectSSSE(ctx context.Context) error {
	s.selected, s.pkiSelected = false, false
	cmd := apdu.Command{CLA: 0x00, INS: 0xA4, P1: 0x04, P2: 0x0C, Data: []byte(SSSEName)}
	err := s.doSelect(ctx, cmd)
	if errors.Is(err, apdu.ErrNotFound) {
		mf := apdu.Command{CLA: 0x00, INS: 0xA4, P1: 0x00, P2: 0x0C, Data: []byte{0x3F, 0x00}}
		if err2 := s.doSelect(ctx, mf); err2 == nil {
			err = s.doSelect(ctx, cmd)
		}
	}
	if err != nil {
		if isStatus(err) {
			return selectError(err)
		}
		return fmt.Errorf("sscard: select SSSE: %w", err)
	}
	s.selected = true
	return nil
}

// doSelect sends a SELECT; 9000 and 61xx (answered by the transmitter) are
// success.
func (s *Session) doSelect(ctx context.Context, cmd apdu.Command) error {
	resp, err := s.tx.Transmit(ctx, cmd)
	if err != nil {
		return err
	}
	if resp.SW.SW1() == 0x61 {
		return nil
	}
	return resp.Err()
}

// ensureSSSE selects SSSE unless it is known to be selected.
func (s *Session) ensureSSSE(ctx context.Context) error {
	if s.selected {
		return nil
	}
	return s.selectSSSE(ctx)
}

// readRecord reads one record by SFI and record number with its exact
// length as Le and decodes it into info.
func (s *Session) readRecord(ctx context.Context, info *BasicInfo, d *recordDef) error {
	cmd := apdu.Command{CLA: 0x00, INS: 0xB2, P1: d.rec, P2: d.sfi<<3 | 4, Ne: d.recordLen()}
	data, err := s.tx.Do(ctx, cmd)
	if err != nil {
		if errors.Is(err, apdu.ErrSecurityStatus) {
			return fmt.Errorf("%w: %s (%w)", ErrNeedsHSM, d.name, err)
		}
		return fmt.Errorf("sscard: read %s (SFI %d record %d): %w", d.name, d.sfi, d.rec, err)
	}
	if err := d.decodeTLV(info, data); err != nil {
		return err
	}
	if d.field == FieldVersion {
		s.version = info.Version
	}
	return nil
}

// Read reads the requested fields. On a 3rd-gen card the protected fields
// (EF05 tag 07, EF06) need HSM authentication: Read fails with ErrNeedsHSM
// before reading anything, unless opts.AllowPartial is set; use BeginHSM or
// ReadWithHSM for them. The spec version is always reported (from Open).
func (s *Session) Read(ctx context.Context, opts ReadOptions) (*BasicInfo, error) {
	fields := opts.fields()
	info := &BasicInfo{ATRHistorical: slices.Clone(s.atrHist)}
	// The generation is fixed at Open: no card I/O or lock needed to refuse.
	if !opts.AllowPartial && s.needsHSM(opts) {
		return nil, fmt.Errorf("%w: %s", ErrNeedsHSM, namesOf(fields&^FieldsFree))
	}
	err := s.doSSSE(ctx, func() error {
		partial := s.Generation() == 3 && opts.AllowPartial
		if err := s.readFields(ctx, info, fields, partial, false); err != nil {
			return err
		}
		// EF07/EF08 need external authentication on both generations.
		return s.readFiles(ctx, info, opts, opts.AllowPartial)
	})
	if err != nil {
		return nil, err
	}
	return info, nil
}

// readFields reads the records of fields into info. The version comes from
// the session cache when known. With partial, protected fields are listed
// as unavailable instead of read; with onlyProtected, free fields are skipped.
func (s *Session) readFields(ctx context.Context, info *BasicInfo, fields FieldSet, partial, onlyProtected bool) error {
	if s.version != "" {
		info.Version = s.version
		info.Generation, _ = generationOf(s.version)
	}
	for i := range records {
		d := &records[i]
		if fields&d.field == 0 || (onlyProtected && !d.protected) {
			continue
		}
		if d.field == FieldVersion && s.version != "" {
			continue
		}
		if partial && d.protected {
			info.Unavailable = append(info.Unavailable, d.name)
			continue
		}
		if err := s.readRecord(ctx, info, d); err != nil {
			return err
		}
	}
	return nil
}

func namesOf(fields FieldSet) []string {
	var out []string
	for _, d := range records {
		if fields&d.field != 0 {
			out = append(out, d.name)
		}
	}
	return out
}

// Close ends the session (the card connection stays open). An HSM request or
// a write session in progress is aborted.
func (s *Session) Close() error {
	s.mu.Lock()
	req := s.pending
	s.mu.Unlock()
	if req != nil {
		req.Abort()
	}
	return nil
}

// needsHSM reports whether opts need external authentication: protected
// EF05/EF06 fields on a 3rd-gen card, EF07/EF08 on every card.
func (s *Session) needsHSM(opts ReadOptions) bool {
	return (s.Generation() == 3 && opts.fields()&^FieldsFree != 0) || opts.Fingerprint || opts.Photo
}

// readFiles reads EF07/EF08 when requested (or lists them as unavailable).
func (s *Session) readFiles(ctx context.Context, info *BasicInfo, opts ReadOptions, partial bool) error {
	for _, f := range []struct {
		want bool
		sfi  byte
		name string
		dst  *[]byte
	}{{opts.Fingerprint, SFIFingerprint, "fingerprint", &info.Fingerprint}, {opts.Photo, SFIPhoto, "photo", &info.Photo}} {
		if !f.want {
			continue
		}
		if partial {
			info.Unavailable = append(info.Unavailable, f.name)
			continue
		}
		b, err := s.readBinary(ctx, f.sfi, s.maxBin)
		if err != nil {
			return err
		}
		*f.dst = b
	}
	return nil
}
