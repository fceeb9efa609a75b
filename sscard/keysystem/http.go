package keysystem

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/sscard/ssc/sscard"
)

// HTTP is a key system reached over HTTP. Protocol: POST URL with
// Content-Type "text/plain; charset=utf-8" and the Step-1 string as body;
// a 2xx answer's body starts with the line "RESULT1|RESULT2|" (32 uppercase
// or lowercase hex characters each); anything after the first line is
// ignored. A non-2xx status is an error (the first 200 bytes of the body
// are quoted). It also holds the write key (sscard.WriteKeyHSM,
// AuthorizeWrite): the write-key request goes to WriteURL, or to URL when
// that is empty.
type HTTP struct {
	URL      string
	WriteURL string       // write-key requests; "" means URL
	Client   *http.Client // nil: http.DefaultClient
}

var (
	_ sscard.HSM         = HTTP{}
	_ sscard.WriteKeyHSM = HTTP{}
)

// Authenticate implements sscard.HSM.
func (h HTTP) Authenticate(ctx context.Context, st sscard.Step1) (sscard.Step2Input, error) {
	line, err := h.post(ctx, h.URL, st.String())
	if err != nil {
		return sscard.Step2Input{}, err
	}
	return sscard.ParseStep2Input(line)
}

// AuthorizeWrite implements sscard.WriteKeyHSM (SIM protocol): the 6-field
// request is POSTed as text/plain to WriteURL (URL when empty; a key
// system tells the read and write requests apart by their field count, 8
// or 6), and a 2xx answer's first line is RESULT|.
func (h HTTP) AuthorizeWrite(ctx context.Context, req sscard.WriteKeyRequest) (sscard.WriteKeyAnswer, error) {
	u := h.WriteURL
	if u == "" {
		u = h.URL
	}
	line, err := h.post(ctx, u, req.String())
	if err != nil {
		return sscard.WriteKeyAnswer{}, err
	}
	return sscard.ParseWriteKeyAnswer(line)
}

// post sends body to u and returns the first line of a 2xx answer, trimmed.
func (h HTTP) post(ctx context.Context, u, body string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "text/plain; charset=utf-8")
	c := h.Client
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	lr := io.LimitReader(resp.Body, 4096)
	if resp.StatusCode/100 != 2 {
		msg, _ := io.ReadAll(io.LimitReader(lr, 200))
		return "", fmt.Errorf("HTTP HSM: %s: %q", resp.Status, msg)
	}
	line, err := bufio.NewReader(lr).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", err
	}
	return strings.TrimSpace(line), nil
}
