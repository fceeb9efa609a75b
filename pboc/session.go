package pboc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/sscard/ssc/apdu"
	"github.com/sscard/ssc/reader"
	"github.com/sscard/ssc/sm"
)

// Interface is how the card is reached; it decides PSE vs PPSE and the
// qPBOC flow.
type Interface int

const (
	// AutoInterface decides from the ATR: a PC/SC part 3 contactless ATR
	// (3B 8n 80 01 ...) means Contactless.
	AutoInterface Interface = iota
	Contact
	Contactless
)

func (i Interface) String() string {
	switch i {
	case Contact:
		return "contact"
	case Contactless:
		return "contactless"
	}
	return "auto"
}

// Options configure a Session.
type Options struct {
	// Terminal supplies the PDOL/DDOL data. For Contactless a zero TTQ
	// means DefaultContactlessTTQ (26000000: qPBOC, online PIN and
	// signature supported).
	Terminal Terminal
	// AIDs is the terminal's AID list; nil means DefaultAIDs().
	AIDs      []TerminalAID
	Interface Interface
	// Confirm is asked before choosing an application whose priority
	// indicator requires cardholder confirmation; nil means such
	// applications are never chosen automatically.
	Confirm func(Candidate) bool
	// CAKeys is the payment-system CA public key table for ODA; nil means
	// ODA fails with sm.ErrCAKeyNotFound (pass simkeys.CAKeyTable() for the
	// software card).
	CAKeys *sm.CAKeyTable
	// ODATime is the date certificates are checked against; zero = now.
	ODATime time.Time
	// WrapTransport wraps the card's transport (tracing, counting).
	WrapTransport func(apdu.Transport) apdu.Transport
	Trace         apdu.Tracer
}

// Candidate is one application found on the card.
type Candidate struct {
	DirectoryEntry
	Name    string `json:"name,omitempty"` // AIDName
	FCI     *FCI   `json:"fci,omitempty"`  // from the final SELECT
	Blocked bool   `json:"blocked"`        // SELECT answered 6283
	// Source is "PSE", "PPSE" or "AID list".
	Source string `json:"source"`
}

// CandidateList is the result of application selection.
type CandidateList struct {
	// Method is "PSE", "PPSE" or "AID list".
	Method string `json:"method"`
	// Fallback says why the directory method was not used ("" if it was).
	Fallback string `json:"fallback,omitempty"`
	// Candidates are selectable applications in priority order.
	Candidates []Candidate `json:"candidates"`
	// Blocked are applications that answered 6283.
	Blocked []Candidate `json:"blocked,omitempty"`
	// Skipped says why matching applications were left out (not found at
	// the final SELECT, malformed FCI, ...), one line each.
	Skipped []string `json:"skipped,omitempty"`
	// Directory is every application entry of the card's PSE or PPSE as
	// read, supported or not (empty when there is no usable directory).
	Directory []DirectoryEntry `json:"directory,omitempty"`
	// Unsupported are the Directory entries outside the terminal's AID
	// list.
	Unsupported []DirectoryEntry `json:"unsupported,omitempty"`
}

// Record is one record read through the AFL.
type Record struct {
	SFI    byte          `json:"sfi"`
	Number byte          `json:"number"`
	ODA    bool          `json:"oda"` // part of the static data to be authenticated
	Raw    apdu.HexBytes `json:"raw"`
}

// Reading is the outcome of Read.
type Reading struct {
	Interface   string        `json:"interface"`
	Application Candidate     `json:"application"`
	PDOLData    apdu.HexBytes `json:"pdol_data"`
	GPO         *GPOResponse  `json:"gpo"`
	// Outcome is the card's decision when the GPO answer carries a
	// cryptogram (qPBOC); nil otherwise.
	Outcome *Outcome `json:"outcome,omitempty"`
	Records []Record `json:"records"`
	Account *Account `json:"account"`
	// StaticData is the static data to be authenticated (AFL-flagged
	// records, then the AIP when 9F4A says so).
	StaticData apdu.HexBytes `json:"static_data"`
	// Objects are all primitive and constructed objects of the records and
	// the format 2 GPO answer, in order.
	Objects []apdu.TLV `json:"-"`
	// ODA is set when ReadOptions.ODA was true.
	ODA *ODAResult `json:"oda,omitempty"`
}

// ReadOptions tune Read.
type ReadOptions struct {
	// AID selects this application (exact); nil means the first candidate
	// of Applications.
	AID []byte
	// ODA also performs offline data authentication; its failure is
	// reported in Reading.ODA and as the error (the reading is returned
	// too).
	ODA bool
}

// ODAResult reports offline data authentication.
type ODAResult struct {
	Method     string         `json:"method"` // "SDA", "DDA", "fDDA"
	CAIndex    byte           `json:"ca_index"`
	RID        apdu.HexBytes  `json:"rid"`
	IssuerCert *sm.IssuerCert `json:"-"`
	ICCCert    *sm.ICCCert    `json:"-"`
	// DynamicNumber is the ICC dynamic number of DDA/fDDA.
	DynamicNumber apdu.HexBytes `json:"dynamic_number,omitempty"`
	OK            bool          `json:"ok"`
	Error         string        `json:"error,omitempty"`
}

// Balance is the e-cash state (GET DATA).
type Balance struct {
	Balance        uint64  `json:"balance"`                   // 9F79, minor units
	Limit          *uint64 `json:"limit,omitempty"`           // 9F77
	SingleLimit    *uint64 `json:"single_limit,omitempty"`    // 9F78
	ResetThreshold *uint64 `json:"reset_threshold,omitempty"` // 9F6D
	Currency       string  `json:"currency,omitempty"`        // 9F51 / 9F42 when available
}

// Counters are the application's counters (GET DATA); -1 = not available (6A88).
type Counters struct {
	ATC           int `json:"atc"`             // 9F36
	LastOnlineATC int `json:"last_online_atc"` // 9F13
	PINTries      int `json:"pin_tries"`       // 9F17
}

// Bounds on what a card can make the terminal do: a hostile or broken card
// must not keep it reading forever.
const (
	maxDirectoryRecords = 32  // PSE directory records
	maxNextOccurrence   = 16  // SELECT next occurrence rounds per terminal AID
	maxAFLRecords       = 255 // records read through the AFL, all entries together
)

// Session reads the payment application of one card. Safe for use by one
// goroutine at a time (calls are serialised).
//
// The session remembers the application the card has selected: Read
// leaves it selected, so GetData, Balance, Counters, Log and ODA (DDA)
// that follow work on it; when none is selected they run application
// selection and select the first candidate.
type Session struct {
	mu    sync.Mutex
	card  reader.Card
	tx    *apdu.Transmitter
	opts  Options
	iface Interface // resolved: Contact or Contactless

	cands *CandidateList // last application selection
	// cur is the application the card has selected as far as we know (nil
	// when unknown); gpo says GPO already ran in it, which cards refuse a
	// second time (6985) until the application is selected again.
	cur *Candidate
	gpo bool
	// stale: s.cur was selected in an earlier transaction; another
	// application may have selected something else since, so it is
	// selected again before use.
	stale bool
	// acc is the account of the last Read (its currency completes Balance).
	acc *Account
	// linkLost is set when the transport failed during the current
	// operation: what the card has selected is unknown then.
	linkLost bool
}

// NewSession prepares a session on card; nothing is sent yet.
func NewSession(card reader.Card, opts Options) *Session {
	s := &Session{card: card, opts: opts, iface: opts.Interface}
	var t apdu.Transport = card
	if opts.WrapTransport != nil {
		t = opts.WrapTransport(t)
	}
	inner := t
	t = apdu.TransportFunc(func(ctx context.Context, cmd []byte) ([]byte, error) {
		rsp, err := inner.Transmit(ctx, cmd)
		if err != nil {
			s.linkLost = true // only touched under s.mu
		}
		return rsp, err
	})
	s.tx = &apdu.Transmitter{Transport: t, Trace: opts.Trace}
	if s.iface == AutoInterface {
		s.iface = interfaceOf(card.ATR())
	}
	return s
}

// Interface returns the interface the session works through: Options.Interface,
// or what the ATR says for AutoInterface.
func (s *Session) Interface() Interface { return s.iface }

// do runs f as one operation on the card: under the session lock, inside
// one reader transaction.
func (s *Session) do(ctx context.Context, f func() error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.card.BeginTransaction(ctx); err != nil {
		s.forget()
		return fmt.Errorf("pboc: begin transaction: %w", err)
	}
	s.linkLost = false
	s.stale = true
	err := f()
	if s.linkLost {
		// Removal, reset or cancellation mid-command: state unknown.
		s.forget()
	}
	if eerr := s.card.EndTransaction(reader.LeaveCard); eerr != nil {
		s.forget()
		if err == nil && !errors.Is(eerr, reader.ErrCardRemoved) {
			err = fmt.Errorf("pboc: end transaction: %w", eerr)
		}
	}
	return err
}

// doSelected is do with an application selected first (the current one,
// or the first candidate).
func (s *Session) doSelected(ctx context.Context, f func(c *Candidate) error) error {
	return s.do(ctx, func() error {
		c, err := s.prepare(ctx, nil, false)
		if err != nil {
			return err
		}
		return f(c)
	})
}

func (s *Session) forget() { s.cur, s.gpo = nil, false }

// send transmits cmd and returns the answer with its data copied (the
// parsed objects keep referring to it; transports may reuse buffers).
func (s *Session) send(ctx context.Context, cmd apdu.Command) (apdu.Response, error) {
	resp, err := s.tx.Transmit(ctx, cmd)
	if err != nil {
		return apdu.Response{}, err
	}
	resp.Data = bytes.Clone(resp.Data)
	return resp, nil
}

// exec is send for commands whose only success is 9000: the data, or the
// status word's typed error.
func (s *Session) exec(ctx context.Context, cmd apdu.Command) ([]byte, error) {
	resp, err := s.send(ctx, cmd)
	if err != nil {
		return nil, err
	}
	if err := resp.Err(); err != nil {
		return nil, err
	}
	return resp.Data, nil
}

func readRecordCmd(n int, sfi byte) apdu.Command {
	return apdu.Command{CLA: 0x00, INS: 0xB2, P1: byte(n), P2: sfi<<3 | 4, Ne: apdu.MaxShortNe}
}

// isSW reports whether err carries status word sw.
func isSW(err error, sw apdu.StatusWord) bool {
	got, ok := apdu.StatusOf(err)
	return ok && got == sw
}

// findObject returns the first object with tag among list and their
// descendants.
func findObject(list []apdu.TLV, tag apdu.Tag) ([]byte, bool) {
	t, ok := apdu.TLV{Children: list}.Find(tag)
	return t.Value, ok
}
