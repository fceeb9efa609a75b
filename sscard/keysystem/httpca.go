package keysystem

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/sscard/ssc/sm"
	"github.com/sscard/ssc/sscard"
)

// CAError is a failed CA request: the HTTP status (0 when the request did
// not get an answer, or the answer was unreadable) and what the CA said.
// It wraps sscard.ErrCA.
type CAError struct {
	URL        string
	StatusCode int
	Message    string // the start of the CA's answer, quoted as received
	Err        error  // the cause, if any
}

func (e *CAError) Error() string {
	s := fmt.Sprintf("%v: %s", sscard.ErrCA, e.URL)
	if e.StatusCode != 0 {
		s += fmt.Sprintf(": HTTP %d", e.StatusCode)
	}
	if e.Message != "" {
		s += fmt.Sprintf(": %q", e.Message)
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns sscard.ErrCA and the cause.
func (e *CAError) Unwrap() []error {
	if e.Err == nil {
		return []error{sscard.ErrCA}
	}
	return []error{sscard.ErrCA, e.Err}
}

// CARequest is the JSON request of the SIM CA protocol (HTTPCA): hex
// card id, the holder's card number, SSN, name and dates (YYYYMMDD), and
// the signing public key 04 || X || Y in hex.
type CARequest struct {
	CardID           string `json:"card_id"`
	CardNumber       string `json:"card_number"`
	SSN              string `json:"ssn"`
	Name             string `json:"name"`
	IssueDate        string `json:"issue_date"`
	ExpiryDate       string `json:"expiry_date"`
	SigningPublicKey string `json:"signing_public_key"`
}

// MarshalCARequest returns the JSON request of req.
func MarshalCARequest(req sscard.CertRequest) ([]byte, error) {
	if req.Holder == nil {
		return nil, sscard.ErrNotIssued
	}
	q, err := sm.MarshalPublicKey(req.SigningKey)
	if err != nil {
		return nil, err
	}
	h := req.Holder
	return json.Marshal(CARequest{
		CardID: strings.ToUpper(hex.EncodeToString(req.CardID)), CardNumber: h.CardNumber, SSN: h.SSN, Name: h.Name,
		IssueDate: h.IssueDate, ExpiryDate: h.ExpiryDate, SigningPublicKey: strings.ToUpper(hex.EncodeToString(q)),
	})
}

// ErrCARequest is matched by every error of ParseCARequest. Its messages
// name the field, never its value (the request carries holder data).
var ErrCARequest = errors.New("keysystem: malformed CA request")

// ParseCARequest parses the JSON request of the SIM CA protocol: one JSON
// object with no unknown fields and nothing after it.
func ParseCARequest(b []byte) (sscard.CertRequest, error) {
	var j CARequest
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		return sscard.CertRequest{}, fmt.Errorf("%w: %w", ErrCARequest, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return sscard.CertRequest{}, fmt.Errorf("%w: data after the request object", ErrCARequest)
	}
	id, err := hex.DecodeString(j.CardID)
	if err != nil || len(id) != sm.CardIDSize {
		return sscard.CertRequest{}, fmt.Errorf("%w: card_id: want %d bytes in hex", ErrCARequest, sm.CardIDSize)
	}
	q, err := hex.DecodeString(j.SigningPublicKey)
	if err != nil {
		return sscard.CertRequest{}, fmt.Errorf("%w: signing_public_key: not hex", ErrCARequest)
	}
	pub, err := sm.ParsePublicKey(q)
	if err != nil {
		return sscard.CertRequest{}, fmt.Errorf("%w: signing_public_key: %w", ErrCARequest, err)
	}
	return sscard.CertRequest{CardID: id, SigningKey: pub, Holder: &sscard.BasicInfo{
		CardID: id, CardNumber: j.CardNumber, SSN: j.SSN, Name: j.Name, IssueDate: j.IssueDate, ExpiryDate: j.ExpiryDate,
	}}, nil
}

// Limits of the SIM CA protocol.
const (
	maxCARequest = 4096
	maxCAAnswer  = 64 << 10
)

// HTTPCA is a CA reached over HTTP with the SIM protocol (no public
// provincial API): POST URL, Content-Type application/json, the request of
// CARequest; a 2xx answer is application/json {"QMZS","JMZS","JMMY"}
// (base64), at most 64 KiB. Failures are *CAError (sscard.ErrCA); a malformed
// delivery is a *sscard.CADeliveryError (sscard.ErrCADelivery).
type HTTPCA struct {
	URL    string
	Client *http.Client // nil: http.DefaultClient
}

var _ sscard.CertIssuer = HTTPCA{}

// Issue implements sscard.CertIssuer.
func (h HTTPCA) Issue(ctx context.Context, req sscard.CertRequest) (*sscard.CADelivery, error) {
	body, err := MarshalCARequest(req)
	if err != nil {
		return nil, err
	}
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, h.URL, bytes.NewReader(body))
	if err != nil {
		return nil, &CAError{URL: h.URL, Err: err}
	}
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Accept", "application/json")
	c := h.Client
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(r)
	if err != nil {
		return nil, &CAError{URL: h.URL, Err: err}
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
		return nil, &CAError{URL: h.URL, StatusCode: resp.StatusCode, Message: strings.TrimSpace(string(msg))}
	}
	if mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return nil, &CAError{URL: h.URL, StatusCode: resp.StatusCode, Err: fmt.Errorf("answer of type %q, want application/json", resp.Header.Get("Content-Type"))}
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxCAAnswer+1))
	if err != nil {
		return nil, &CAError{URL: h.URL, StatusCode: resp.StatusCode, Err: err}
	}
	if len(b) > maxCAAnswer {
		return nil, &CAError{URL: h.URL, StatusCode: resp.StatusCode, Err: fmt.Errorf("answer longer than %d bytes", maxCAAnswer)}
	}
	return sscard.ParseCADeliveryJSON(b)
}
