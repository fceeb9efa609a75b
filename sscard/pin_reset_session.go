package sscard

import (
	"context"
	"fmt"
	"slices"
)

// BeginResetPIN is step 1 of a PIN reset in the ministry's multi-step form
// (iReloadPIN_HSM / iUnblockPIN_HSM): a write session whose step 3 sets
// the SSSE PIN to newPIN and resets its try counter instead of writing
// records. Step 1 and 2 are those of BeginUpdate — the read-key Step-1
// string, then INTERNAL and EXTERNAL AUTHENTICATE with the read key
// (nothing is read: a PIN reset needs no holder data) and the write-key
// request —; Write then sends EXTERNAL AUTHENTICATE kid 04 and RESET RETRY
// COUNTER, and reports no field written. The card identification code is
// checked when cardID is not nil. newPIN's format is checked before the
// card is touched. The PIN never reaches the journal or an error.
func (s *Session) BeginResetPIN(ctx context.Context, cardID HexBytes, newPIN string, opts WriteOptions) (*WriteSession, error) {
	n, err := encodePIN(newPIN)
	if err != nil {
		return nil, err
	}
	return s.beginWrite(ctx, &WriteSession{w: &WriteInfo{CardID: slices.Clone(cardID)}, opts: opts,
		cardID: upperHex(cardID), newPIN: n[:]})
}

// ResetPINWith is a PIN reset begun and completed in this process with the
// key systems of opts (the read key, then the write key): BeginResetPIN
// and its steps 2 and 3.
func ResetPINWith(ctx context.Context, s *Session, cardID HexBytes, newPIN string, opts IssueOptions) error {
	if opts.HSM == nil || opts.WriteKey == nil {
		return fmt.Errorf("%w: a PIN reset needs the read-key HSM and the write-key system", ErrHSM)
	}
	ws, err := s.BeginResetPIN(ctx, cardID, newPIN, WriteOptions{Journal: opts.Journal})
	if err != nil {
		return err
	}
	_, err = ws.run(ctx, opts)
	return err
}

// resetPIN is step 3 of a PIN reset, after EXTERNAL AUTHENTICATE kid 04;
// the caller holds the transaction with SSSE selected.
func (ws *WriteSession) resetPIN(ctx context.Context) error {
	data := ws.newPIN
	ws.newPIN = nil // presentPIN clears it
	return ws.s.presentPIN(ctx, pinAttempt{ref: pinRefSSSE, cmd: pinReset, op: "reset PIN", data: data})
}

// WriteKeyAuthorizer is the Authorizer of ResetPIN backed by a key system
// holding the update key (kid 04): it asks for the EXTERNAL AUTHENTICATE
// cryptogram in the write-key request format of issuance.
type WriteKeyAuthorizer struct {
	HSM WriteKeyHSM
	// ATRHistorical goes into the request (Session.ATRHistorical).
	ATRHistorical []byte
}

// ExternalAuthCryptogram implements Authorizer.
func (a WriteKeyAuthorizer) ExternalAuthCryptogram(ctx context.Context, kid byte, cardID, factor, orig []byte) ([8]byte, error) {
	var c [8]byte
	if kid != KidUpdate {
		return c, fmt.Errorf("sscard: key %02X is not the update key", kid)
	}
	ans, err := a.HSM.AuthorizeWrite(ctx, WriteKeyRequest{Region: fmt.Sprintf("%X", cardID[:min(3, len(cardID))]),
		ATRHistorical: a.ATRHistorical, Algorithm: AlgSM4, CardID: cardID, Factor: factor, Orig: orig})
	if err != nil {
		return c, err
	}
	if string(ans.Result[8:]) != string(orig) {
		return c, ErrHSMAnswer
	}
	copy(c[:], ans.Result[:8])
	return c, nil
}
