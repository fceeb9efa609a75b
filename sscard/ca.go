package sscard

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/sscard/ssc/sm"
	"github.com/sscard/ssc/sm/simkeys"
)

// The certification authority of the PKI personalisation (docs/issuance.md,
// "The encryption key pair and certificate — the contract"): it delivers
// QMZS (the signing certificate), JMZS (the encryption certificate) and JMMY
// (the encryption key pair enveloped for the card's signing key).

// Errors of the CA and of its delivery.
var (
	// ErrCADelivery is wrapped by every *CADeliveryError: a QMZS, JMZS or
	// JMMY that is not base64, not an SM2 certificate or not an enveloped
	// key blob, or a delivery that does not fit together.
	ErrCADelivery = errors.New("sscard: malformed CA delivery")
	// ErrCA is wrapped by every *CAError: the CA refused or failed.
	ErrCA = errors.New("sscard: certificate authority error")
)

// CADeliveryError names the delivery field at fault (QMZS, JMZS, JMMY).
type CADeliveryError struct {
	Field string
	Err   error
}

func (e *CADeliveryError) Error() string {
	return fmt.Sprintf("%v: %s: %v", ErrCADelivery, e.Field, e.Err)
}

// Unwrap returns ErrCADelivery and the cause.
func (e *CADeliveryError) Unwrap() []error { return []error{ErrCADelivery, e.Err} }

// CAError is a failed CA request: the HTTP status (0 when the request did
// not get an answer, or the answer was unreadable) and what the CA said.
type CAError struct {
	URL        string
	StatusCode int
	Message    string // the start of the CA's answer, quoted as received
	Err        error  // the cause, if any
}

func (e *CAError) Error() string {
	s := fmt.Sprintf("%v: %s", ErrCA, e.URL)
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

// Unwrap returns ErrCA and the cause.
func (e *CAError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrCA}
	}
	return []error{ErrCA, e.Err}
}

// CADelivery is what the CA delivers for a card: DER certificates and the
// 388-byte enveloped key blob. Its JSON form is {"QMZS","JMZS","JMMY"}, each
// base64 (the --delivery FILE form).
type CADelivery struct {
	SigningCert    []byte // QMZS, DER X.509 SM2
	EncryptionCert []byte // JMZS, DER X.509 SM2
	EnvelopedKey   []byte // JMMY, GM/T 0016 ENVELOPEDKEYBLOB (sm.ParseEnvelopedKey)
}

// caDeliveryJSON is the JSON form of a delivery.
type caDeliveryJSON struct {
	QMZS string `json:"QMZS"`
	JMZS string `json:"JMZS"`
	JMMY string `json:"JMMY"`
}

// maxDeliveryField bounds one base64 field of a delivery (a certificate
// fits EF 0018/0019, 2048 bytes).
const maxDeliveryField = 8192

// ParseCADelivery decodes the three base64 strings of a CA delivery
// (whitespace, line breaks included, is ignored) and checks them: QMZS and
// JMZS must be SM2 certificates, JMMY an enveloped key blob. Errors are
// *CADeliveryError naming the field.
func ParseCADelivery(qmzs, jmzs, jmmy string) (*CADelivery, error) {
	var d CADelivery
	for _, f := range []struct {
		name string
		in   string
		out  *[]byte
	}{{"QMZS", qmzs, &d.SigningCert}, {"JMZS", jmzs, &d.EncryptionCert}, {"JMMY", jmmy, &d.EnvelopedKey}} {
		b, err := decodeBase64Field(f.in)
		if err != nil {
			return nil, &CADeliveryError{Field: f.name, Err: err}
		}
		*f.out = b
	}
	if err := d.Check(); err != nil {
		return nil, err
	}
	return &d, nil
}

func decodeBase64Field(s string) ([]byte, error) {
	clean := strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\r', '\n':
			return -1
		}
		return r
	}, s)
	if clean == "" {
		return nil, errors.New("empty")
	}
	if len(clean) > maxDeliveryField {
		return nil, fmt.Errorf("%d base64 characters, at most %d", len(clean), maxDeliveryField)
	}
	b, err := base64.StdEncoding.DecodeString(clean)
	if err != nil {
		return nil, fmt.Errorf("not base64: %w", err)
	}
	return b, nil
}

// Check parses the three parts: both certificates must be SM2 certificates
// (DER) that fit a certificate EF, the blob must parse. It returns a
// *CADeliveryError naming the part.
func (d *CADelivery) Check() error {
	for _, f := range []struct {
		name string
		der  []byte
	}{{"QMZS", d.SigningCert}, {"JMZS", d.EncryptionCert}} {
		c, err := sm.DecodeCertificate(f.der)
		if err == nil {
			_, err = sm.CertificatePublicKey(c)
		}
		if err == nil && len(f.der) > 2048 {
			err = fmt.Errorf("%d bytes, a certificate EF holds 2048", len(f.der))
		}
		if err != nil {
			return &CADeliveryError{Field: f.name, Err: err}
		}
	}
	if _, err := sm.ParseEnvelopedKey(d.EnvelopedKey); err != nil {
		return &CADeliveryError{Field: "JMMY", Err: err}
	}
	return nil
}

// Envelope parses the enveloped key blob (JMMY).
func (d *CADelivery) Envelope() (*sm.EnvelopedKey, error) {
	env, err := sm.ParseEnvelopedKey(d.EnvelopedKey)
	if err != nil {
		return nil, &CADeliveryError{Field: "JMMY", Err: err}
	}
	return env, nil
}

// keys returns the keys of the delivery: QMZS's, JMZS's and JMMY's public
// key, checking that JMZS certifies the enveloped key.
func (d *CADelivery) keys() (sign, enc *ecdsa.PublicKey, env *sm.EnvelopedKey, err error) {
	if err := d.Check(); err != nil {
		return nil, nil, nil, err
	}
	pub := func(der []byte) *ecdsa.PublicKey {
		c, _ := sm.DecodeCertificate(der)
		k, _ := sm.CertificatePublicKey(c)
		return k
	}
	sign, enc = pub(d.SigningCert), pub(d.EncryptionCert)
	env, err = d.Envelope()
	if err != nil {
		return nil, nil, nil, err
	}
	if !enc.Equal(env.PublicKey) {
		return nil, nil, nil, &CADeliveryError{Field: "JMZS", Err: fmt.Errorf("%w: the encryption certificate does not certify the enveloped key (JMMY)", ErrKeyMismatch)}
	}
	return sign, enc, env, nil
}

// MarshalJSON gives {"QMZS","JMZS","JMMY"} in base64.
func (d CADelivery) MarshalJSON() ([]byte, error) {
	e := base64.StdEncoding
	return json.Marshal(caDeliveryJSON{QMZS: e.EncodeToString(d.SigningCert), JMZS: e.EncodeToString(d.EncryptionCert), JMMY: e.EncodeToString(d.EnvelopedKey)})
}

// UnmarshalJSON reads {"QMZS","JMZS","JMMY"} with ParseCADelivery.
func (d *CADelivery) UnmarshalJSON(b []byte) error {
	var j caDeliveryJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return &CADeliveryError{Field: "JSON", Err: err}
	}
	p, err := ParseCADelivery(j.QMZS, j.JMZS, j.JMMY)
	if err != nil {
		return err
	}
	*d = *p
	return nil
}

// ParseCADeliveryJSON parses the JSON form of a delivery (the --delivery
// FILE form); unknown members are ignored, trailing data is an error.
func ParseCADeliveryJSON(b []byte) (*CADelivery, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	var d CADelivery
	if err := dec.Decode(&d); err != nil {
		var de *CADeliveryError
		if errors.As(err, &de) {
			return nil, err
		}
		return nil, &CADeliveryError{Field: "JSON", Err: err}
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, &CADeliveryError{Field: "JSON", Err: errors.New("data after the delivery object")}
	}
	return &d, nil
}

// CertRequest is what a CA needs for a card: its identification code, its
// signing public key (EF 0012) and the holder (name, card number, dates).
type CertRequest struct {
	CardID     []byte
	SigningKey *ecdsa.PublicKey
	Holder     *BasicInfo
}

// CertIssuer is the certification authority of the provincial platform:
// it certifies the card's signing key and delivers the encryption pair.
// SIMCA is the SIM one, HTTPCA one reached over HTTP.
type CertIssuer interface {
	Issue(ctx context.Context, req CertRequest) (*CADelivery, error)
}

// SIMCA is the SIM test CA: the signing certificate is
// simkeys.HolderCertificate (subject C=CN, CN=holder name,
// SERIALNUMBER=card number, valid from the issue date 00:00 UTC to the end
// of the expiry date), the encryption certificate
// simkeys.HolderEncryptionCertificate for the SIM encryption key
// (simkeys.EncryptionKey), enveloped with simkeys.EnvelopedKey for the
// request's signing key.
type SIMCA struct{}

// Issue implements CertIssuer.
func (SIMCA) Issue(_ context.Context, req CertRequest) (*CADelivery, error) {
	h := req.Holder
	if h == nil || h.Name == "" || h.CardNumber == "" {
		return nil, ErrNotIssued
	}
	if req.SigningKey == nil {
		return nil, fmt.Errorf("%w: no signing key", sm.ErrSM2PublicKey)
	}
	issued, err := time.Parse("20060102", h.IssueDate)
	if err != nil {
		return nil, fmt.Errorf("sscard: issue date %q: %w", h.IssueDate, err)
	}
	expires, err := time.Parse("20060102", h.ExpiryDate)
	if err != nil {
		return nil, fmt.Errorf("sscard: expiry date %q: %w", h.ExpiryDate, err)
	}
	sign, err := simkeys.HolderCertificate(req.CardID, req.SigningKey, h.Name, h.CardNumber, issued, expires)
	if err != nil {
		return nil, err
	}
	enc, err := simkeys.HolderEncryptionCertificate(req.CardID, nil, h.Name, h.CardNumber, issued, expires)
	if err != nil {
		return nil, err
	}
	env, err := simkeys.EnvelopedKey(req.CardID, req.SigningKey)
	if err != nil {
		return nil, err
	}
	blob, err := env.Marshal()
	if err != nil {
		return nil, err
	}
	return &CADelivery{SigningCert: sign, EncryptionCert: enc, EnvelopedKey: blob}, nil
}

// CARequestJSON is the JSON request of the SIM CA protocol (HTTPCA): hex
// card id, the holder's card number, SSN, name and dates (YYYYMMDD), and
// the signing public key 04 || X || Y in hex.
type CARequestJSON struct {
	CardID           string `json:"card_id"`
	CardNumber       string `json:"card_number"`
	SSN              string `json:"ssn"`
	Name             string `json:"name"`
	IssueDate        string `json:"issue_date"`
	ExpiryDate       string `json:"expiry_date"`
	SigningPublicKey string `json:"signing_public_key"`
}

// MarshalCARequest returns the JSON request of req.
func MarshalCARequest(req CertRequest) ([]byte, error) {
	if req.Holder == nil {
		return nil, ErrNotIssued
	}
	q, err := sm.MarshalPublicKey(req.SigningKey)
	if err != nil {
		return nil, err
	}
	h := req.Holder
	return json.Marshal(CARequestJSON{
		CardID: strings.ToUpper(hex.EncodeToString(req.CardID)), CardNumber: h.CardNumber, SSN: h.SSN, Name: h.Name,
		IssueDate: h.IssueDate, ExpiryDate: h.ExpiryDate, SigningPublicKey: strings.ToUpper(hex.EncodeToString(q)),
	})
}

// ParseCARequest parses the JSON request of the SIM CA protocol.
func ParseCARequest(b []byte) (CertRequest, error) {
	var j CARequestJSON
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		return CertRequest{}, fmt.Errorf("sscard: CA request: %w", err)
	}
	id, err := hex.DecodeString(j.CardID)
	if err != nil || len(id) != sm.CardIDSize {
		return CertRequest{}, fmt.Errorf("sscard: CA request: card_id %q: want %d bytes in hex", j.CardID, sm.CardIDSize)
	}
	q, err := hex.DecodeString(j.SigningPublicKey)
	if err != nil {
		return CertRequest{}, fmt.Errorf("sscard: CA request: signing_public_key: %w", err)
	}
	pub, err := sm.ParsePublicKey(q)
	if err != nil {
		return CertRequest{}, fmt.Errorf("sscard: CA request: signing_public_key: %w", err)
	}
	return CertRequest{CardID: id, SigningKey: pub, Holder: &BasicInfo{
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
// CARequestJSON; a 2xx answer is application/json {"QMZS","JMZS","JMMY"}
// (base64), at most 64 KiB. Failures are *CAError (ErrCA); a malformed
// delivery is a *CADeliveryError (ErrCADelivery).
type HTTPCA struct {
	URL    string
	Client *http.Client // nil: http.DefaultClient
}

// Issue implements CertIssuer.
func (h HTTPCA) Issue(ctx context.Context, req CertRequest) (*CADelivery, error) {
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
	return ParseCADeliveryJSON(b)
}

// NewCAHandler serves the SIM CA protocol of HTTPCA with ca (for example
// SIMCA{}): POST application/json only (405, 415 otherwise), requests of
// at most 4 KiB (413), a malformed request 400, a CA failure 422 with its
// message.
func NewCAHandler(ca CertIssuer) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "POST only", http.StatusMethodNotAllowed)
			return
		}
		if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
			http.Error(w, "application/json only", http.StatusUnsupportedMediaType)
			return
		}
		b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxCARequest))
		if err != nil {
			http.Error(w, "request too large", http.StatusRequestEntityTooLarge)
			return
		}
		req, err := ParseCARequest(b)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		d, err := ca.Issue(r.Context(), req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnprocessableEntity)
			return
		}
		out, err := json.Marshal(d)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(append(out, '\n'))
	})
}
