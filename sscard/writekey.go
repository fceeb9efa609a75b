package sscard

import (
	"context"
	"fmt"
	"strings"
)

// WriteKeyRequest is what the key system needs to authorize a write
// session (docs/issuance.md, the write session; SIM layout):
//
//	region|ATRhist|alg|cardID|KEYFAC|ODATA|
//
// KEYFAC (Factor) is the card's most recent challenge, the process factor
// of the write key (kid 04); ODATA (Orig) the challenge before it, the
// original data the cryptogram covers. All hex uppercase.
type WriteKeyRequest struct {
	Region        string   `json:"region"`
	ATRHistorical HexBytes `json:"atr_historical"`
	Algorithm     string   `json:"algorithm"` // "03" SM4
	CardID        HexBytes `json:"card_id"`
	Factor        HexBytes `json:"factor"` // KEYFAC, 8 bytes
	Orig          HexBytes `json:"orig"`   // ODATA, 8 bytes
}

// String formats the 6-field write-key request (uppercase hex, trailing "|").
func (r WriteKeyRequest) String() string {
	return strings.Join([]string{r.Region, upperHex(r.ATRHistorical), r.Algorithm, upperHex(r.CardID),
		upperHex(r.Factor), upperHex(r.Orig)}, "|") + "|"
}

// ParseWriteKeyRequest parses a write-key request of 6 fields. Errors are
// *FormatError (ErrMinistryFormat) naming the field.
func ParseWriteKeyRequest(str string) (WriteKeyRequest, error) {
	const format = "WriteKeyRequest"
	f, err := splitFields(format, str, 6)
	if err != nil {
		return WriteKeyRequest{}, err
	}
	fe := func(field, reason string) error { return &FormatError{Format: format, Field: field, Reason: reason} }
	r := WriteKeyRequest{Region: f[0], Algorithm: f[2]}
	if len(r.Region) != 6 || !isDigits(r.Region) {
		return WriteKeyRequest{}, fe("region", "want 6 digits")
	}
	if len(r.Algorithm) != 2 || !isDigits(r.Algorithm) {
		return WriteKeyRequest{}, fe("algorithm", "want 2 digits")
	}
	if r.ATRHistorical, err = hexField(f[1], -1); err != nil {
		return WriteKeyRequest{}, fe("atr_historical", err.Error())
	}
	if r.CardID, err = hexField(f[3], 16); err != nil {
		return WriteKeyRequest{}, fe("card_id", err.Error())
	}
	if r.Factor, err = hexField(f[4], 8); err != nil {
		return WriteKeyRequest{}, fe("factor", err.Error())
	}
	if r.Orig, err = hexField(f[5], 8); err != nil {
		return WriteKeyRequest{}, fe("orig", err.Error())
	}
	return r, nil
}

// WriteKeyAnswer is the key system's answer to a WriteKeyRequest:
// RESULT| with RESULT = C||ODATA (16 bytes), C the write-key (kid 04)
// cryptogram over ODATA with the process factor KEYFAC.
type WriteKeyAnswer struct {
	Result [16]byte `json:"-"`
}

// String formats RESULT| in uppercase hex.
func (a WriteKeyAnswer) String() string { return upperHex(a.Result[:]) + "|" }

// ParseWriteKeyAnswer parses RESULT| (32 hex characters; a trailing line
// end is ignored).
func ParseWriteKeyAnswer(s string) (WriteKeyAnswer, error) {
	const format = "WriteKeyAnswer"
	var a WriteKeyAnswer
	f, err := splitFields(format, strings.TrimRight(s, "\r\n"), 1)
	if err != nil {
		return a, err
	}
	if len(f[0]) != 32 {
		return a, &FormatError{Format: format, Field: "RESULT", Reason: fmt.Sprintf("%d characters, want 32", len(f[0]))}
	}
	b, err := hexField(f[0], 16)
	if err != nil {
		return a, &FormatError{Format: format, Field: "RESULT", Reason: err.Error()}
	}
	copy(a.Result[:], b)
	return a, nil
}

// WriteKeyHSM is the key system holding the write key (kid 04): it
// answers a write session's WriteKeyRequest. keysystem.SIM for software
// cards, keysystem.HTTP for a key system over HTTP.
type WriteKeyHSM interface {
	AuthorizeWrite(ctx context.Context, req WriteKeyRequest) (WriteKeyAnswer, error)
}
