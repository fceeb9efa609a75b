package sscard

import (
	"context"
	"errors"
	"fmt"

	"github.com/sscard/ssc/apdu"
	"github.com/sscard/ssc/reader"
)

// SFIs of the SSSE binary files.
const (
	SFIFingerprint = 7 // EF07
	SFIPhoto       = 8 // EF08
)

// DefaultMaxBinary caps the size of a binary file read (EF07/EF08).
const DefaultMaxBinary = 64 << 10

// ErrFileTooLarge: a binary file exceeds the size cap.
var ErrFileTooLarge = errors.New("sscard: binary file exceeds the size cap")

// ExtendedMode says whether READ BINARY uses extended Le.
type ExtendedMode int

// Extended-length modes.
const (
	// ExtendedAuto: extended Le when the ATR announces extended lengths and
	// the link is T=1 (T=0 readers cannot carry extended APDUs).
	ExtendedAuto ExtendedMode = iota
	ExtendedOn
	ExtendedOff
)

func (s *Session) extended() bool {
	switch s.extMode {
	case ExtendedOn:
		return true
	case ExtendedOff:
		return false
	}
	if s.card.Protocol() != reader.T1 {
		return false
	}
	a, err := apdu.ParseATR(s.card.ATR())
	return err == nil && a.ExtendedLength()
}

// readBinary reads a whole binary EF by SFI in the largest chunks the link
// allows: the first READ BINARY addresses the file by SFI (making it
// current), the next ones by offset. It stops at end of file (6282, 6B00 at
// a non-zero offset, or a short read) and fails beyond max bytes.
func (s *Session) readBinary(ctx context.Context, sfi byte, max int) ([]byte, error) {
	if max <= 0 {
		max = DefaultMaxBinary
	}
	chunk, ext := apdu.MaxShortNe, false
	if s.extended() {
		chunk, ext = apdu.MaxExtendedNe, true
	}
	var out []byte
	for {
		off := len(out)
		if off > 0x7FFF {
			return nil, fmt.Errorf("%w: offset %d beyond READ BINARY range", ErrFileTooLarge, off)
		}
		cmd := apdu.Command{CLA: 0x00, INS: 0xB0, P1: byte(off >> 8), P2: byte(off), Ne: chunk, Extended: ext}
		if off == 0 {
			cmd.P1, cmd.P2 = 0x80|sfi, 0
		}
		resp, err := s.tx.Transmit(ctx, cmd)
		if err != nil {
			return nil, fmt.Errorf("sscard: read binary SFI %d: %w", sfi, err)
		}
		switch {
		case resp.SW == apdu.SWOK:
		case resp.SW == apdu.SWEndOfFile:
			out = append(out, resp.Data...)
			return capped(out, max)
		case resp.SW == apdu.SWWrongP1P2 && off > 0:
			return capped(out, max)
		default:
			err := resp.Err()
			if errors.Is(err, apdu.ErrSecurityStatus) {
				return nil, fmt.Errorf("%w: binary SFI %d (%w)", ErrNeedsHSM, sfi, err)
			}
			return nil, fmt.Errorf("sscard: read binary SFI %d: %w", sfi, err)
		}
		out = append(out, resp.Data...)
		if len(out) > max {
			return nil, fmt.Errorf("%w: more than %d bytes", ErrFileTooLarge, max)
		}
		if len(resp.Data) < chunk || len(resp.Data) == 0 {
			return out, nil
		}
	}
}

func capped(b []byte, max int) ([]byte, error) {
	if len(b) > max {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrFileTooLarge, max)
	}
	return b, nil
}
