package apdu

import (
	"errors"
	"fmt"
	"testing"
)

func TestStatusWordErr(t *testing.T) {
	tests := []struct {
		sw      StatusWord
		is      error // sentinel the error must match
		retries int   // for *AuthError; -2 = must not be an AuthError
	}{
		{0x6A82, ErrNotFound, -2},
		{0x6A83, ErrNotFound, -2},
		{0x6A88, ErrNotFound, -2},
		{0x6982, ErrSecurityStatus, -2},
		{0x6983, ErrBlocked, -2},
		{0x6985, ErrConditionsNotSatisfied, -2},
		{0x6283, ErrAppBlocked, -2},
		{0x6A86, ErrWrongParameters, -2},
		{0x6D00, ErrNotSupported, -2},
		{0x6988, ErrSecureMessaging, -2},
		{0x6981, ErrCommandNotAllowed, -2},
		{0x6700, ErrWrongLength, -2},
		{0x6C10, ErrWrongLength, -2},
		{0x6F00, ErrCardError, -2},
		{0x6581, ErrCardError, -2},
		{0x63C2, ErrWrongPIN, 2},
		{0x63C0, ErrBlocked, 0},
		{0x63C0, ErrWrongPIN, 0},
		{0x6300, ErrWrongPIN, -1},
	}
	for _, tt := range tests {
		err := tt.sw.Err()
		if !errors.Is(err, tt.is) {
			t.Errorf("%s: %v is not %v", tt.sw, err, tt.is)
		}
		wrapped := fmt.Errorf("read: %w", err)
		if sw, ok := StatusOf(wrapped); !ok || sw != tt.sw {
			t.Errorf("%s: StatusOf = %s, %v", tt.sw, sw, ok)
		}
		ae, isAuth := errors.AsType[*AuthError](wrapped)
		switch {
		case tt.retries == -2 && isAuth:
			t.Errorf("%s: unexpected *AuthError", tt.sw)
		case tt.retries != -2 && (!isAuth || ae.Retries != tt.retries):
			t.Errorf("%s: AuthError = %v, want Retries %d", tt.sw, ae, tt.retries)
		}
		if err.Error() == "" || tt.sw.Meaning() == "" {
			t.Errorf("%s: empty message", tt.sw)
		}
	}
	if SWOK.Err() != nil {
		t.Error("9000 is an error")
	}
	if errors.Is(StatusWord(0x63C1).Err(), ErrBlocked) {
		t.Error("63C1 reported blocked")
	}
	if _, ok := StatusOf(errors.New("x")); ok {
		t.Error("StatusOf found a status in a plain error")
	}
}
