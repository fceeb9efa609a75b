// Package ecardplatform is a demo e-card platform (电子社保卡签发平台): the
// counter page a clerk uses to link a physical social security card, and
// the two endpoints the page needs from the platform — a single-use nonce
// and the verification of the link bundle the card signed (package link).
//
// The page talks to the card through the reader daemon's browser bridge
// (sscd, loopback HTTP); the platform itself never sees the reader nor the
// PIN. It is an example: the nonces live in memory unless Config.Nonces is
// a shared store (link/redisnonce: several instances behind a load
// balancer), and the default roots are the public SIM test root. See
// docs/browser.md and docs/link.md.
package ecardplatform

import (
	"bytes"
	"context"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/sscard/ssc/link"
	"github.com/sscard/ssc/sm"
)

//go:embed static
var staticFS embed.FS

// MaxBody bounds every request body (the bundle is at most
// link.MaxBundleSize, 64 KiB).
const MaxBody = link.MaxBundleSize

// Config configures the platform.
type Config struct {
	// Origin is the platform's own web origin, exactly as browsers send it
	// (scheme://host[:port]); bundles must be bound to it (required).
	Origin string
	// Bridge is the base URL of the reader daemon's browser bridge, e.g.
	// http://127.0.0.1:24800 (required): the page connects there, and the
	// Content-Security-Policy allows it.
	Bridge string
	// Roots are the trusted roots of the cards' signing certificates
	// (required; the SIM root for the software card, simkeys.RootPool).
	Roots *sm.CertPool
	// NonceTTL is the life of a nonce (link.DefaultNonceTTL when 0).
	NonceTTL time.Duration
	// Nonces is where nonces are issued and consumed, with the level each
	// link asked for; nil = an in-memory link.NonceBook (one instance).
	// Instances sharing a redisnonce.Store accept a nonce once between
	// them.
	Nonces link.NonceStore
	// NonceTimeout bounds the nonce store's answer per request (5 s when
	// 0); a store that does not answer refuses the bundle.
	NonceTimeout time.Duration
	// Logf receives one line per verification (nil: none). It never gets
	// a PIN (the platform never sees one).
	Logf func(format string, args ...any)
}

// Result is the answer of POST /api/verify.
type Result struct {
	Verified bool      `json:"verified"`
	Level    int       `json:"level,omitempty"`
	Card     *CardView `json:"card,omitempty"`
	Bank     *BankView `json:"bank,omitempty"`
	// Code and Message say why the bundle was refused: Code is
	// machine-readable (Codes), Message in words a counter clerk
	// understands (Chinese / English).
	Code    string `json:"code,omitempty"`
	Message string `json:"message,omitempty"`
}

// CardView is what the counter shows of a verified card.
type CardView struct {
	CardNumber string `json:"card_number"`
	Name       string `json:"name"`
	SSNMasked  string `json:"ssn_masked"`
	Region     string `json:"region"`
	ExpiryDate string `json:"expiry_date"`
	CardID     string `json:"card_id"`
}

// BankView is what the counter shows of a verified level-2 bank account.
type BankView struct {
	PANMasked string `json:"pan_masked"`
	AID       string `json:"aid"`
	Expiry    string `json:"expiry"`
}

// Codes of a refused Result, one per link error.
const (
	CodeMalformed     = "malformed"
	CodeWrongOrigin   = "wrong_origin"
	CodeNonceUnknown  = "nonce_unknown"
	CodeNonceExpired  = "nonce_expired"
	CodeNonceReplayed = "nonce_replayed"
	CodeUntrusted     = "untrusted"
	CodeCardMismatch  = "card_mismatch"
	CodeBadSignature  = "bad_signature"
	CodeLevelTooLow   = "level_too_low"
	CodeBankBlocked   = "bank_blocked"
	CodeUnavailable   = "unavailable"
	CodeBadRequest    = "bad_request"
	CodeInternal      = "internal"
)

// verifyErrors maps the link errors to codes and clerk messages. The
// specific nonce errors come before link.ErrNonce (they do not wrap it, but
// keep the order meaningful anyway).
var verifyErrors = []struct {
	err     error
	code    string
	message string
}{
	{link.ErrMalformed, CodeMalformed, "卡片数据格式错误 / The card data is malformed — start the link again"},
	{link.ErrOrigin, CodeWrongOrigin, "证明属于其他网站 / The proof was made for another website — do not continue, report it"},
	{link.ErrNonceExpired, CodeNonceExpired, "链接请求已超时 / The link request expired (5 minutes) — start again"},
	{link.ErrNonceReplayed, CodeNonceReplayed, "该证明已使用过 / This proof was already used — start again"},
	{link.ErrNonce, CodeNonceUnknown, "链接请求无效 / This link request is unknown to the platform — start again"},
	{link.ErrUntrusted, CodeUntrusted, "卡片证书不受信任 / The card's certificate is not trusted — the card may not be genuine"},
	{link.ErrCardMismatch, CodeCardMismatch, "证书与卡片不符 / The card's certificate belongs to another card"},
	{link.ErrSignature, CodeBadSignature, "卡片签名无效 / The card's signature is invalid — the data was changed"},
	{link.ErrLevel, CodeLevelTooLow, "签发级别不足 / Level too low — level 2 needs the bank account"},
	{link.ErrBankBlocked, CodeBankBlocked, "银行账户已锁定 / The card's bank account is blocked — level 2 is not possible"},
	{link.ErrNonceStore, CodeUnavailable, "平台暂时无法校验 / The platform cannot check the request now — try again shortly"},
}

// Server is the platform.
type Server struct {
	cfg   Config
	nonce link.NonceStore
	page  *template.Template
	csp   string

	mu       sync.Mutex
	verified int
	refused  int
	last     Result
}

// New checks cfg and makes the platform.
func New(cfg Config) (*Server, error) {
	if err := link.CheckOrigin(cfg.Origin); err != nil {
		return nil, fmt.Errorf("ecardplatform: origin: %w", err)
	}
	if cfg.Roots == nil {
		return nil, errors.New("ecardplatform: no trusted roots")
	}
	bridge, err := bridgeOrigin(cfg.Bridge)
	if err != nil {
		return nil, err
	}
	cfg.Bridge = bridge
	if cfg.NonceTTL <= 0 {
		cfg.NonceTTL = link.DefaultNonceTTL
	}
	if cfg.NonceTimeout <= 0 {
		cfg.NonceTimeout = 5 * time.Second
	}
	if cfg.Nonces == nil {
		cfg.Nonces = link.NewNonceBook(cfg.NonceTTL)
	}
	page, err := template.ParseFS(staticFS, "static/index.html")
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg:   cfg,
		nonce: cfg.Nonces,
		page:  page,
		csp: "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
			"connect-src 'self' " + bridge + "; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
	}
	return s, nil
}

// bridgeOrigin checks the bridge base URL and returns it as an origin
// (scheme://host[:port], no path).
func bridgeOrigin(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("ecardplatform: bridge %q: want http://HOST:PORT", raw)
	}
	return u.Scheme + "://" + u.Host, nil
}

// Origin is the platform's origin.
func (s *Server) Origin() string { return s.cfg.Origin }

// Stats returns how many bundles were verified and refused, and the last
// result.
func (s *Server) Stats() (verified, refused int, last Result) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.verified, s.refused, s.last
}

// Handler serves the counter page (GET /, /static/…), POST /api/nonce and
// POST /api/verify; nothing else.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.handlePage)
	mux.HandleFunc("GET /static/{file}", s.handleStatic)
	mux.HandleFunc("POST /api/nonce", s.handleNonce)
	mux.HandleFunc("POST /api/verify", s.handleVerify)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cache-Control", "no-store")
		mux.ServeHTTP(w, r)
	})
}

func (s *Server) handlePage(w http.ResponseWriter, r *http.Request) {
	var buf bytes.Buffer
	if err := s.page.Execute(&buf, struct{ Bridge, Origin string }{s.cfg.Bridge, s.cfg.Origin}); err != nil {
		http.Error(w, "page", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Security-Policy", s.csp)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write(buf.Bytes())
}

func (s *Server) handleStatic(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	if name == "index.html" || strings.ContainsAny(name, "/\\") {
		http.NotFound(w, r)
		return
	}
	data, err := fs.ReadFile(staticFS, "static/"+name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	ct := mime.TypeByExtension(path.Ext(name))
	switch {
	case strings.HasSuffix(name, ".js"):
		ct = "text/javascript; charset=utf-8"
	case strings.HasSuffix(name, ".css"):
		ct = "text/css; charset=utf-8"
	case ct == "":
		ct = "application/octet-stream"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Security-Policy", "default-src 'none'")
	w.Write(data)
}

// nonceRequest is the optional body of POST /api/nonce.
type nonceRequest struct {
	// Level is the issuance level the link is for (1 by default); the
	// bundle must have at least this level.
	Level int `json:"level"`
}

type nonceResponse struct {
	Nonce   string `json:"nonce"`
	Expires string `json:"expires"`
}

func (s *Server) handleNonce(w http.ResponseWriter, r *http.Request) {
	req := nonceRequest{Level: link.Level1}
	data, ok := readBody(w, r)
	if !ok {
		return
	}
	if len(bytes.TrimSpace(data)) > 0 {
		if err := strictJSON(data, &req); err != nil {
			writeResult(w, http.StatusBadRequest, Result{Code: CodeBadRequest, Message: "请求格式错误 / Bad request: " + err.Error()})
			return
		}
	}
	if req.Level != link.Level1 && req.Level != link.Level2 {
		writeResult(w, http.StatusBadRequest, Result{Code: CodeBadRequest, Message: "签发级别只能是 1 或 2 / The level must be 1 or 2"})
		return
	}
	// The store keeps the level with the nonce, so whichever instance
	// verifies the bundle enforces it.
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.NonceTimeout)
	defer cancel()
	n, err := s.nonce.IssueNonce(ctx, s.cfg.Origin, req.Level, s.cfg.NonceTTL)
	if err != nil {
		if s.cfg.Logf != nil {
			s.cfg.Logf("ecard-platform: nonce: %v", err)
		}
		writeResult(w, http.StatusServiceUnavailable, refusal(err))
		return
	}
	writeJSON(w, http.StatusOK, nonceResponse{Nonce: strings.ToUpper(hex.EncodeToString(n.Value)), Expires: n.Expires.UTC().Format(time.RFC3339)})
}

func (s *Server) handleVerify(w http.ResponseWriter, r *http.Request) {
	data, ok := readBody(w, r)
	if !ok {
		return
	}
	res, status, err := s.verify(r.Context(), data)
	s.mu.Lock()
	if res.Verified {
		s.verified++
	} else {
		s.refused++
	}
	s.last = res
	s.mu.Unlock()
	if s.cfg.Logf != nil {
		if res.Verified {
			s.cfg.Logf("ecard-platform: verified level %d card %s", res.Level, res.Card.CardNumber)
		} else {
			s.cfg.Logf("ecard-platform: refused: %s", res.Code)
			if errors.Is(err, link.ErrNonceStore) {
				s.cfg.Logf("ecard-platform: %v", err)
			}
		}
	}
	writeResult(w, status, res)
}

// verify parses and verifies a bundle; the level the link asked for is
// enforced by the nonce store.
func (s *Server) verify(ctx context.Context, data []byte) (Result, int, error) {
	b, err := link.ParseBundle(data)
	if err != nil {
		return refusal(err), http.StatusUnprocessableEntity, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.NonceTimeout)
	defer cancel()
	v, err := link.VerifyContext(ctx, b, link.Options{Roots: s.cfg.Roots, Origin: s.cfg.Origin, Nonces: s.nonce, MinLevel: link.Level1})
	if errors.Is(err, link.ErrNonceStore) {
		return refusal(err), http.StatusServiceUnavailable, err
	}
	if err != nil {
		return refusal(err), http.StatusUnprocessableEntity, err
	}
	c := v.Bundle.Card
	res := Result{
		Verified: true,
		Level:    v.Bundle.Level,
		Card: &CardView{
			CardNumber: c.CardNumber,
			Name:       c.Name,
			SSNMasked:  mask(c.SSN, 6, 4),
			Region:     c.Region,
			ExpiryDate: c.ExpiryDate,
			CardID:     c.CardID,
		},
	}
	if bk := v.Bundle.Bank; bk != nil {
		res.Bank = &BankView{PANMasked: mask(bk.PAN, 6, 4), AID: bk.AID, Expiry: bk.Expiry}
	}
	return res, http.StatusOK, nil
}

// refusal is the Result of a link error.
func refusal(err error) Result {
	for _, e := range verifyErrors {
		if errors.Is(err, e.err) {
			return Result{Code: e.code, Message: e.message}
		}
	}
	return Result{Code: CodeInternal, Message: "平台内部错误 / Platform error — try again"}
}

// mask keeps the first head and last tail characters of s and stars the
// rest (621799*********4561).
func mask(s string, head, tail int) string {
	if len(s) <= head+tail {
		return strings.Repeat("*", len(s))
	}
	return s[:head] + strings.Repeat("*", len(s)-head-tail) + s[len(s)-tail:]
}

// readBody enforces POST with Content-Type application/json and at most
// MaxBody bytes; it writes the error itself.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		writeResult(w, http.StatusUnsupportedMediaType, Result{Code: CodeBadRequest, Message: "Content-Type must be application/json"})
		return nil, false
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeResult(w, http.StatusRequestEntityTooLarge, Result{Code: CodeBadRequest, Message: fmt.Sprintf("请求过大 / Request larger than %d bytes", MaxBody)})
		} else {
			writeResult(w, http.StatusBadRequest, Result{Code: CodeBadRequest, Message: "请求读取失败 / Could not read the request"})
		}
		return nil, false
	}
	return data, true
}

// strictJSON decodes one JSON object with no unknown fields and nothing
// after it.
func strictJSON(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("trailing data after the JSON object")
	}
	return nil
}

func writeResult(w http.ResponseWriter, status int, res Result) { writeJSON(w, status, res) }

func writeJSON(w http.ResponseWriter, status int, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "internal", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(append(data, '\n'))
}
