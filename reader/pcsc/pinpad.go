//go:build !nopcsc && (cgo || windows)

package pcsc

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/ebfe/scard"
	"github.com/sscard/ssc/ccid"
	"github.com/sscard/ssc/reader"
)

// PC/SC part 10 (v2.02.09) secure PIN entry through SCardControl: the
// reader driver lists its features (tag → IOCTL) in answer to
// CM_IOCTL_GET_FEATURE_REQUEST; FEATURE_VERIFY_PIN_DIRECT and
// FEATURE_MODIFY_PIN_DIRECT take a PIN_VERIFY_STRUCTURE /
// PIN_MODIFY_STRUCTURE and return the card's response. libccid offers
// them for readers with a keypad (GemPC PinPad over libccidtwin, USB CCID
// PIN pads); vpcd has no SCardControl at all.

// ioctlGetFeatureRequest is CM_IOCTL_GET_FEATURE_REQUEST, SCARD_CTL_CODE(3400).
var ioctlGetFeatureRequest = scard.CtlCode(3400)

// Feature tags (PC/SC part 10 §2.3).
const (
	featureVerifyPINDirect byte = 0x06
	featureModifyPINDirect byte = 0x07
)

var _ reader.PINPad = (*pcscCard)(nil)

// parseFeatures decodes the answer to CM_IOCTL_GET_FEATURE_REQUEST: TLVs
// of a one-byte tag, a length of 4 and the big-endian IOCTL code. Errors
// wrap reader.ErrNotSupported (the driver's answer is unusable).
func parseFeatures(b []byte) (map[byte]uint32, error) {
	feats := make(map[byte]uint32)
	for len(b) > 0 {
		if len(b) < 2 {
			return nil, fmt.Errorf("%w: feature list truncated after tag 0x%02X", reader.ErrNotSupported, b[0])
		}
		tag, n := b[0], int(b[1])
		if n != 4 || len(b) < 2+n {
			return nil, fmt.Errorf("%w: feature 0x%02X: length %d (%d bytes left), want 4",
				reader.ErrNotSupported, tag, n, len(b)-2)
		}
		feats[tag] = uint32(b[2])<<24 | uint32(b[3])<<16 | uint32(b[4])<<8 | uint32(b[5])
		b = b[6:]
	}
	return feats, nil
}

// control sends one SCardControl on the card's handle.
func (c *pcscCard) control(ctx context.Context, op string, code uint32, in []byte) ([]byte, error) {
	if ctx.Err() != nil {
		return nil, reader.ContextError(op, c.reader, ctx)
	}
	pc, h, err := c.handle(ctx, op)
	if err != nil {
		return nil, err
	}
	defer c.unref(pc)
	out, err := h.Control(code, in)
	if err != nil {
		return nil, c.opErr(op, pc, err)
	}
	return bytes.Clone(out), nil
}

// features asks the driver for its part 10 features. A driver without
// SCardControl (vpcd) or without features answers an empty map.
func (c *pcscCard) features(ctx context.Context, op string) (map[byte]uint32, error) {
	out, err := c.control(ctx, op, ioctlGetFeatureRequest, nil)
	if errors.Is(err, reader.ErrNotSupported) {
		return map[byte]uint32{}, nil
	}
	if err != nil {
		return nil, err
	}
	feats, err := parseFeatures(out)
	if err != nil {
		return nil, &reader.Error{Op: op, Reader: c.reader, Err: err}
	}
	return feats, nil
}

// PINPadFeatures implements reader.PINPad: it asks the driver every time (a local
// round trip to pcscd). A reader without a keypad reports no features and
// no error.
func (c *pcscCard) PINPadFeatures(ctx context.Context) (reader.PINPadFeatures, error) {
	feats, err := c.features(ctx, "PIN pad features")
	if err != nil {
		return reader.PINPadFeatures{}, err
	}
	_, v := feats[featureVerifyPINDirect]
	_, m := feats[featureModifyPINDirect]
	return reader.PINPadFeatures{Verify: v, Modify: m}, nil
}

// VerifyPINPad implements reader.PINPad with FEATURE_VERIFY_PIN_DIRECT. The
// SCardControl call cannot be interrupted: ctx is checked before, and the
// entry ends on the reader's own timeout (v.TimeOut).
func (c *pcscCard) VerifyPINPad(ctx context.Context, v ccid.PINVerify) ([]byte, error) {
	const op = "verify PIN on the PIN pad"
	if len(v.APDU) < 4 {
		return nil, &reader.Error{Op: op, Reader: c.reader, Err: fmt.Errorf("%w: %d-byte APDU template", reader.ErrInvalidCommand, len(v.APDU))}
	}
	return c.pinPad(ctx, op, featureVerifyPINDirect, v.PCSC())
}

// ModifyPINPad implements reader.PINPad with FEATURE_MODIFY_PIN_DIRECT.
func (c *pcscCard) ModifyPINPad(ctx context.Context, m ccid.PINModify) ([]byte, error) {
	const op = "change PIN on the PIN pad"
	if len(m.APDU) < 4 {
		return nil, &reader.Error{Op: op, Reader: c.reader, Err: fmt.Errorf("%w: %d-byte APDU template", reader.ErrInvalidCommand, len(m.APDU))}
	}
	return c.pinPad(ctx, op, featureModifyPINDirect, m.PCSC())
}

func (c *pcscCard) pinPad(ctx context.Context, op string, feature byte, structure []byte) ([]byte, error) {
	feats, err := c.features(ctx, op)
	if err != nil {
		return nil, err
	}
	code, ok := feats[feature]
	if !ok {
		return nil, &reader.Error{Op: op, Reader: c.reader, Err: reader.ErrNoPINPad}
	}
	rsp, err := c.control(ctx, op, code, structure)
	if err != nil {
		return nil, err
	}
	if err := pinPadStatus(rsp); err != nil {
		return nil, &reader.Error{Op: op, Reader: c.reader, Err: err}
	}
	return rsp, nil
}

// pinPadStatus maps the status words a PIN pad (not the card) answers
// (PC/SC part 10 §2.5.2; libccid turns CCID bError EF / F0 into them).
// Others (64 02 new PINs differ, 64 03 wrong PIN length, 6B 80 bad
// structure) are returned as the response for the caller to judge.
func pinPadStatus(rsp []byte) error {
	if len(rsp) != 2 || rsp[0] != 0x64 {
		return nil
	}
	switch rsp[1] {
	case 0x00:
		return reader.ErrPINPadTimeout
	case 0x01:
		return reader.ErrPINPadCancelled
	}
	return nil
}
