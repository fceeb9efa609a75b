package sscd

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/sscard/ssc/link"
)

// maxResponse caps a JSON answer read by the client (a photo in BasicInfo
// is at most tens of KiB).
const maxResponse = 8 << 20

// Client talks to sscd over its Unix socket. It is safe for concurrent use.
type Client struct {
	socket string
	hc     *http.Client
}

// Dial returns a client of the daemon listening on socketPath (DefaultSocket
// when empty). It does not connect yet: every request opens (or reuses) a
// connection to the socket, and fails with an error wrapping the dial error
// when the daemon is not there.
func Dial(socketPath string) *Client {
	if socketPath == "" {
		socketPath = DefaultSocket
	}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socketPath)
		},
		MaxIdleConnsPerHost: 16,
	}
	return &Client{socket: socketPath, hc: &http.Client{Transport: tr}}
}

// Close releases idle connections.
func (c *Client) Close() error {
	c.hc.CloseIdleConnections()
	return nil
}

// Version returns the daemon and API versions.
func (c *Client) Version(ctx context.Context) (*Version, error) {
	var v Version
	return &v, c.do(ctx, http.MethodGet, "/v1/version", nil, nil, &v)
}

// Health reports whether the daemon serves and what it sees.
func (c *Client) Health(ctx context.Context) (*Health, error) {
	var h Health
	return &h, c.do(ctx, http.MethodGet, "/v1/health", nil, nil, &h)
}

// Readers lists the readers and their cards.
func (c *Client) Readers(ctx context.Context) ([]Reader, error) {
	var rs []Reader
	return rs, c.do(ctx, http.MethodGet, "/v1/readers", nil, nil, &rs)
}

// Info reads the basic information of the card in readerName as JSON.
func (c *Client) Info(ctx context.Context, readerName string, opts InfoOptions) (*BasicInfo, error) {
	var info BasicInfo
	q := infoQuery(opts, FormatJSON)
	return &info, c.do(ctx, http.MethodGet, readerPath(readerName, "info"), q, nil, &info)
}

// InfoBas reads the basic information as the ministry iReadCardBas string,
// with the terminal and device numbers configured in the daemon.
func (c *Client) InfoBas(ctx context.Context, readerName string, opts InfoOptions) (string, error) {
	var b strings.Builder
	if err := c.do(ctx, http.MethodGet, readerPath(readerName, "info"), infoQuery(opts, FormatBas), nil, &b); err != nil {
		return "", err
	}
	return b.String(), nil
}

func infoQuery(opts InfoOptions, format string) url.Values {
	q := cardQuery(opts.CardOptions)
	q.Set("format", format)
	if opts.Partial {
		q.Set("partial", "true")
	}
	if opts.Fresh {
		q.Set("fresh", "true")
	}
	if opts.AllFields {
		q.Set("fields", "all")
	}
	if opts.NoHSM {
		q.Set("hsm", "false")
	}
	return q
}

// HSMStep1 starts the HSM two-step read on the card in readerName. The card
// stays reserved for this session until HSMStep2 or the session expires.
func (c *Client) HSMStep1(ctx context.Context, readerName string, opts HSMStep1Options) (*HSMStep1, error) {
	var st HSMStep1
	q := cardQuery(opts.CardOptions)
	if opts.AllFields {
		q.Set("fields", "all")
	}
	return &st, c.do(ctx, http.MethodPost, readerPath(readerName, "hsm/step1"), q, struct{}{}, &st)
}

// HSMAbort ends an HSM session without step 2 and releases the card.
func (c *Client) HSMAbort(ctx context.Context, session string) error {
	return c.do(ctx, http.MethodDelete, "/v1/hsm/"+url.PathEscape(session), nil, nil, &struct{}{})
}

// HSMStep2 completes the session with the HSM's RESULT1|RESULT2| line and
// returns the card's basic information.
func (c *Client) HSMStep2(ctx context.Context, session, result string) (*BasicInfo, error) {
	var info BasicInfo
	p := "/v1/hsm/" + url.PathEscape(session) + "/step2"
	return &info, c.do(ctx, http.MethodPost, p, nil, HSMStep2Request{Result: result}, &info)
}

// PINStatus reports the tries left of the SSSE PIN.
func (c *Client) PINStatus(ctx context.Context, readerName string, opts CardOptions) (*PINStatus, error) {
	var st PINStatus
	return &st, c.do(ctx, http.MethodGet, readerPath(readerName, "pin"), cardQuery(opts), nil, &st)
}

// VerifyPIN verifies the SSSE PIN (req.PIN, or on the reader's keypad with
// req.PINPad). A wrong PIN gives an *Error matching ErrWrongPIN whose SW
// (63Cx) carries the tries left.
func (c *Client) VerifyPIN(ctx context.Context, readerName string, req VerifyPINRequest, opts CardOptions) (*VerifyPINResult, error) {
	var res VerifyPINResult
	return &res, c.do(ctx, http.MethodPost, readerPath(readerName, "pin/verify"), cardQuery(opts), req, &res)
}

// ChangePIN changes the SSSE PIN (req.Old and req.New, or both on the
// reader's keypad with req.PINPad). Like VerifyPIN it refuses the last try
// (ErrPINLastTry, nothing sent) unless req.Force; every PIN request may
// answer ErrPINRateLimited (Error.RetryAfter: seconds to wait).
func (c *Client) ChangePIN(ctx context.Context, readerName string, req ChangePINRequest, opts CardOptions) (*ChangePINResult, error) {
	var res ChangePINResult
	return &res, c.do(ctx, http.MethodPost, readerPath(readerName, "pin/change"), cardQuery(opts), req, &res)
}

// Link builds the link bundle of the card in readerName for the e-card
// platform: the card's identity (and bank account for level 2) signed by
// the card over the origin and nonce. Verify it with package link. The PKI
// PIN's last try is refused (ErrPINLastTry) unless req.Force.
func (c *Client) Link(ctx context.Context, readerName string, req LinkRequest, opts CardOptions) (*link.Bundle, error) {
	var b link.Bundle
	return &b, c.do(ctx, http.MethodPost, readerPath(readerName, "link"), cardQuery(opts), req, &b)
}

// Issue writes the holder and card data to the card in readerName
// (counter issuance) with the daemon's key system, and reads it back.
func (c *Client) Issue(ctx context.Context, readerName string, req IssueRequest, opts CardOptions) (*IssueResult, error) {
	var res IssueResult
	return &res, c.do(ctx, http.MethodPost, readerPath(readerName, "issue"), cardQuery(opts), req, &res)
}

// IssueStep1 starts a write session (counter issuance in the ministry's
// multi-step form) on the card in readerName: the data is validated, the
// card checked to be the one it is for, and the Step-1 string for the
// read-key system returned. The card stays reserved for the session until
// IssueStep3, IssueAbort or the session expires.
func (c *Client) IssueStep1(ctx context.Context, readerName string, req IssueRequest, opts CardOptions) (*IssueStep1, error) {
	var st IssueStep1
	return &st, c.do(ctx, http.MethodPost, readerPath(readerName, "issue/step1"), cardQuery(opts), req, &st)
}

// IssueStep2 continues a write session with the read-key answer
// RESULT1|RESULT2| and returns the write-key request.
func (c *Client) IssueStep2(ctx context.Context, session, key string) (*IssueStep2, error) {
	var st IssueStep2
	p := "/v1/issue/" + url.PathEscape(session) + "/step2"
	return &st, c.do(ctx, http.MethodPost, p, nil, IssueKeyRequest{Key: key}, &st)
}

// IssueStep3 finishes a write session with the write-key answer RESULT|:
// the card is written, read back and compared, then reset.
func (c *Client) IssueStep3(ctx context.Context, session, key string) (*IssueResult, error) {
	var res IssueResult
	p := "/v1/issue/" + url.PathEscape(session) + "/step3"
	return &res, c.do(ctx, http.MethodPost, p, nil, IssueKeyRequest{Key: key}, &res)
}

// IssueAbort ends a write session before step 3 and releases the card.
func (c *Client) IssueAbort(ctx context.Context, session string) error {
	return c.do(ctx, http.MethodDelete, "/v1/issue/"+url.PathEscape(session), nil, nil, &struct{}{})
}

// Update writes some fields of the issued card in readerName (a partial
// write) with the daemon's key system, and reads them back.
func (c *Client) Update(ctx context.Context, readerName string, req UpdateRequest, opts CardOptions) (*IssueResult, error) {
	var res IssueResult
	return &res, c.do(ctx, http.MethodPost, readerPath(readerName, "update"), cardQuery(opts), req, &res)
}

// UpdateStep1 starts a partial write in the ministry's multi-step form
// (req.Fields names the fields); UpdateStep2 gives the values with the
// read-key answer, IssueStep3 finishes it.
func (c *Client) UpdateStep1(ctx context.Context, readerName string, req UpdateRequest, opts CardOptions) (*IssueStep1, error) {
	var st IssueStep1
	return &st, c.do(ctx, http.MethodPost, readerPath(readerName, "update/step1"), cardQuery(opts), req, &st)
}

// UpdateStep2 continues an update session with the read-key answer and the
// new values, and returns the write-key request.
func (c *Client) UpdateStep2(ctx context.Context, session, key string, values map[string]string) (*IssueStep2, error) {
	var st IssueStep2
	p := "/v1/issue/" + url.PathEscape(session) + "/step2"
	return &st, c.do(ctx, http.MethodPost, p, nil, IssueKeyRequest{Key: key, Values: values}, &st)
}

// ResetPIN sets the SSSE PIN of the card in readerName to req.NewPIN and
// resets its try counter, with the daemon's key system (update key).
func (c *Client) ResetPIN(ctx context.Context, readerName string, req PINResetRequest, opts CardOptions) (*PINResetResult, error) {
	var res PINResetResult
	return &res, c.do(ctx, http.MethodPost, readerPath(readerName, "pin/reset"), cardQuery(opts), req, &res)
}

// ResetPINStep1 starts a PIN reset in the ministry's multi-step form: the
// Step-1 string for the read key; IssueStep2 and IssueStep3 continue it
// (the answer of step 3 names no field).
func (c *Client) ResetPINStep1(ctx context.Context, readerName string, req PINResetRequest, opts CardOptions) (*IssueStep1, error) {
	var st IssueStep1
	return &st, c.do(ctx, http.MethodPost, readerPath(readerName, "pin/reset/step1"), cardQuery(opts), req, &st)
}

// PKISign has the PKI application of the card in readerName sign
// req.Data after the PKI PIN; the PIN's last try is refused
// (ErrPINLastTry) unless req.Force.
func (c *Client) PKISign(ctx context.Context, readerName string, req PKISignRequest, opts CardOptions) (*PKISignature, error) {
	var res PKISignature
	return &res, c.do(ctx, http.MethodPost, readerPath(readerName, "pki/sign"), cardQuery(opts), req, &res)
}

// PKICertificate reads a certificate of the card's PKI application:
// which is "sign" or "encrypt".
func (c *Client) PKICertificate(ctx context.Context, readerName, which string, opts CardOptions) (*PKICertificate, error) {
	var res PKICertificate
	q := cardQuery(opts)
	q.Set("which", which)
	return &res, c.do(ctx, http.MethodGet, readerPath(readerName, "pki/certificate"), q, nil, &res)
}

// PersonalisePKI personalises the PKI application of the card in
// readerName with the daemon's certificate authority (pki_ca), or with the
// delivery the request carries: signing key, both certificates, enveloped
// encryption key pair.
func (c *Client) PersonalisePKI(ctx context.Context, readerName string, req PKIPersonaliseRequest, opts CardOptions) (*PKIPersonaliseResult, error) {
	var res PKIPersonaliseResult
	return &res, c.do(ctx, http.MethodPost, readerPath(readerName, "pki/personalise"), cardQuery(opts), req, &res)
}

// APDU sends raw command APDUs in one transaction (administrators only;
// the daemon answers disabled unless configured).
func (c *Client) APDU(ctx context.Context, readerName string, req APDURequest, opts CardOptions) (*APDUResponse, error) {
	var res APDUResponse
	return &res, c.do(ctx, http.MethodPost, readerPath(readerName, "apdu"), cardQuery(opts), req, &res)
}

// Metrics returns the daemon's Prometheus metrics (text exposition format).
func (c *Client) Metrics(ctx context.Context) (string, error) {
	var b strings.Builder
	err := c.do(ctx, http.MethodGet, "/metrics", nil, nil, &b)
	return b.String(), err
}

func readerPath(name, op string) string {
	return "/v1/readers/" + url.PathEscape(name) + "/" + op
}

func cardQuery(o CardOptions) url.Values {
	q := url.Values{}
	if o.Insertion != 0 {
		q.Set("insertion", strconv.FormatUint(o.Insertion, 10))
	}
	return q
}

// request builds a request for the daemon; the host part is a placeholder,
// the transport always dials the socket.
func (c *Client) request(ctx context.Context, method, path string, q url.Values, body any) (*http.Request, error) {
	u := "http://sscd" + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("sscd: encode request: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, fmt.Errorf("sscd: %w", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, nil
}

// do runs one request; out is decoded from JSON, or receives the text body
// when it is a *strings.Builder.
func (c *Client) do(ctx context.Context, method, path string, q url.Values, body, out any) error {
	req, err := c.request(ctx, method, path, q, body)
	if err != nil {
		return err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("sscd: %s %s: %w", method, path, ctx.Err())
		}
		return fmt.Errorf("sscd: %s %s (socket %s): %w", method, path, c.socket, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return fmt.Errorf("sscd: %s %s: read answer: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		return decodeError(resp.StatusCode, data)
	}
	if sb, ok := out.(*strings.Builder); ok {
		sb.Write(data)
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("sscd: %s %s: decode answer: %w", method, path, err)
	}
	return nil
}

// decodeError turns an error answer into *Error; a body that is not an
// envelope (a proxy, an old daemon) becomes an internal error quoting it.
func decodeError(status int, data []byte) error {
	var env Envelope
	if err := json.Unmarshal(data, &env); err != nil || env.Error == nil || env.Error.Code == "" {
		if len(data) > 200 {
			data = data[:200]
		}
		return &Error{Code: CodeInternal, Message: fmt.Sprintf("HTTP %d: %q", status, data), Status: status}
	}
	env.Error.Status = status
	return env.Error
}

// IsCode reports whether err is an *Error with code.
func IsCode(err error, code Code) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}
