package sscd

import (
	"errors"
	"fmt"
	"testing"

	"github.com/sscard/ssc/apdu"
	"github.com/sscard/ssc/reader"
	"github.com/sscard/ssc/sscard"
)

// daemonOnly are the codes without an SDK sentinel, and why.
var daemonOnly = map[Code]string{
	CodeBadRequest:       "generic: many causes (body, query, write info, cardlink.ErrRequest)",
	CodeForbidden:        "the daemon's access control",
	CodeNotFound:         "HTTP routing",
	CodeMethodNotAllowed: "HTTP routing",
	CodeBusy:             "the daemon's queue, or a sharing violation",
	CodeCardError:        "generic: the card refused; the SDK error comes from sw",
	CodeSessionNotFound:  "the daemon's HSM and write sessions",
	CodeBankAppMissing:   "cardlink.ErrNoBankApp: sscd does not import link/cardlink",
	CodeDisabled:         "the daemon's configuration",
	CodeOriginNotAllowed: "the browser bridge",
	CodeBadHost:          "the browser bridge",
	CodeIssueFailed:      "an sscard.IssueError the client cannot rebuild; the message says the step",
	CodePINRateLimited:   "the daemon's PIN rate limit per card insertion",
	CodeTooMany:          "the daemon's connection caps",
	CodeInternal:         "a bug",

	CodeBankAppUnsupported: "*pboc.UnsupportedError: sscd does not import pboc (it matches ErrBankAppMissing, the code it refines)",
}

// TestSDKErrorsCover checks that every code is either mapped to SDK
// sentinels or listed as daemon-only, never both.
func TestSDKErrorsCover(t *testing.T) {
	for code := range sentinels {
		_, mapped := sdkErrors[code]
		_, only := daemonOnly[code]
		if mapped == only {
			t.Errorf("%s: mapped %v, daemon-only %v: want exactly one", code, mapped, only)
		}
	}
	for code := range sdkErrors {
		if _, ok := sentinels[code]; !ok {
			t.Errorf("%s mapped but not a code", code)
		}
	}
	for code := range daemonOnly {
		if _, ok := sentinels[code]; !ok {
			t.Errorf("%s daemon-only but not a code", code)
		}
	}
	for code := range sentinels {
		if _, ok := statuses[code]; !ok {
			t.Errorf("%s has no HTTP status", code)
		}
	}
}

func TestSDKErrorsIs(t *testing.T) {
	for code, errs := range sdkErrors {
		err := fmt.Errorf("op: %w", &Error{Code: code, Message: "m"})
		for _, s := range errs {
			if !errors.Is(err, s) {
				t.Errorf("%s does not match %v", code, s)
			}
		}
		if !errors.Is(err, sentinels[code]) {
			t.Errorf("%s no longer matches its sscd sentinel", code)
		}
	}
	tests := []struct {
		name string
		err  *Error
		is   []error
		not  []error
	}{
		{"last try", &Error{Code: CodePINLastTry}, []error{sscard.ErrPINLastTry, ErrPINLastTry}, []error{sscard.ErrPINBlocked, apdu.ErrBlocked}},
		{"blocked", &Error{Code: CodePINBlocked, SW: "6983"}, []error{sscard.ErrPINBlocked, apdu.ErrBlocked}, []error{apdu.ErrWrongPIN}},
		{"needs HSM", &Error{Code: CodeNeedsHSM, SW: "6982"}, []error{sscard.ErrNeedsHSM, apdu.ErrSecurityStatus}, []error{sscard.ErrHSM}},
		{"PIN format", &Error{Code: CodePINFormat}, []error{sscard.ErrPINFormat, ErrPINFormat}, []error{ErrBadRequest}},
		{"keypad cancelled", &Error{Code: CodePINPadCancelled}, []error{reader.ErrPINPadCancelled}, []error{reader.ErrPINPadTimeout, ErrCardError}},
		{"card error with sw", &Error{Code: CodeCardError, SW: "6A82"}, []error{apdu.ErrNotFound, ErrCardError}, []error{apdu.ErrBlocked}},
		{"card error without sw", &Error{Code: CodeCardError}, []error{ErrCardError}, []error{apdu.ErrCardError}},
		{"bad sw", &Error{Code: CodeCardError, SW: "zz"}, nil, []error{apdu.ErrCardError}},
		{"unknown code", &Error{Code: "from_the_future"}, []error{ErrInternal}, []error{sscard.ErrHSM}},
		// A finer code keeps matching the broader one it refines, not the reverse.
		{"bank app unsupported", &Error{Code: CodeBankAppUnsupported}, []error{ErrBankAppUnsupported, ErrBankAppMissing}, []error{ErrBankAppBlocked, ErrInternal}},
		{"bank app missing", &Error{Code: CodeBankAppMissing}, []error{ErrBankAppMissing}, []error{ErrBankAppUnsupported}},
	}
	for _, tt := range tests {
		for _, s := range tt.is {
			if !errors.Is(tt.err, s) {
				t.Errorf("%s: does not match %v", tt.name, s)
			}
		}
		for _, s := range tt.not {
			if errors.Is(tt.err, s) {
				t.Errorf("%s: matches %v", tt.name, s)
			}
		}
	}
}

// TestSDKErrorsWrongPIN checks that wrong_pin gives the *apdu.AuthError of
// its status word, with the tries left.
func TestSDKErrorsWrongPIN(t *testing.T) {
	tests := []struct {
		sw      string
		retries int
		blocked bool
	}{
		{"63C2", 2, false},
		{"63C0", 0, true},
		{"6300", -1, false},
	}
	for _, tt := range tests {
		err := fmt.Errorf("verify: %w", &Error{Code: CodeWrongPIN, SW: tt.sw})
		var ae *apdu.AuthError
		if !errors.As(err, &ae) || ae.Retries != tt.retries || ae.SW.String() != tt.sw {
			t.Errorf("%s: %#v", tt.sw, ae)
		}
		if !errors.Is(err, apdu.ErrWrongPIN) || errors.Is(err, apdu.ErrBlocked) != tt.blocked {
			t.Errorf("%s: ErrWrongPIN/ErrBlocked", tt.sw)
		}
	}
	if errors.As(&Error{Code: CodeWrongPIN}, new(*apdu.AuthError)) {
		t.Error("an AuthError without a status word")
	}
}

// TestSDKErrorsNoAliasing checks that Unwrap results do not share the
// table's storage: one error's status word never shows in another's.
func TestSDKErrorsNoAliasing(t *testing.T) {
	first := (&Error{Code: CodeNeedsHSM, SW: "6982"}).Unwrap()
	_ = (&Error{Code: CodeNeedsHSM, SW: "6A82"}).Unwrap()
	if sw, ok := apdu.StatusOf(first[len(first)-1]); !ok || sw != apdu.SWSecurityStatus {
		t.Errorf("first error's status word became %v", first[len(first)-1])
	}
	if n := len(sdkErrors[CodeNeedsHSM]); n != 1 {
		t.Errorf("table entry has %d errors", n)
	}
}
