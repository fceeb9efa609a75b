package reader

import (
	"context"
	"errors"

	"github.com/sscard/ssc/ccid"
)

// PINPad is implemented by the Cards of readers that take the PIN on their
// own keypad, so it never passes through the host: serial GemPC PinPad
// readers (CCID PC_to_RDR_Secure) and PC/SC readers that offer PC/SC part
// 10 FEATURE_VERIFY_PIN_DIRECT / FEATURE_MODIFY_PIN_DIRECT. Use
// errors.As/type assertion on a Card; a Card of a reader without a keypad
// may implement it and answer ErrNoPINPad.
type PINPad interface {
	// PINPadFeatures reports what the reader's keypad can do.
	PINPadFeatures(ctx context.Context) (PINPadFeatures, error)
	// VerifyPINPad has the reader collect the PIN on its keypad, insert it
	// into v.APDU and send the command to the card; it returns the card's
	// response (data + SW). A cancelled or timed-out entry is an error
	// matching ErrPINPadCancelled / ErrPINPadTimeout.
	VerifyPINPad(ctx context.Context, v ccid.PINVerify) ([]byte, error)
	// ModifyPINPad is VerifyPINPad for a PIN change.
	ModifyPINPad(ctx context.Context, m ccid.PINModify) ([]byte, error)
}

// PINPadFeatures says what a keypad supports.
type PINPadFeatures struct {
	Verify bool `json:"verify"`
	Modify bool `json:"modify"`
}

// PIN pad errors.
var (
	ErrNoPINPad        = errors.New("reader: the reader has no PIN pad")
	ErrPINPadCancelled = errors.New("reader: PIN entry cancelled on the PIN pad")
	ErrPINPadTimeout   = errors.New("reader: PIN entry timed out on the PIN pad")
)
