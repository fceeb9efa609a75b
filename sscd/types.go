package sscd

import (
	"time"

	"github.com/sscard/ssc/apdu"
	"github.com/sscard/ssc/reader"
	"github.com/sscard/ssc/sscard"
)

// Version is the answer of GET /v1/version.
type Version struct {
	Daemon string `json:"daemon"`           // build version of sscd ("devel" when unknown)
	Commit string `json:"commit,omitempty"` // commit sscd was built from, when known
	API    string `json:"api"`              // "v1"
	Go     string `json:"go"`
}

// Health is the answer of GET /v1/health.
type Health struct {
	// Status is "ok", or "degraded" while BackendError or BackendStuck is
	// set.
	Status  string `json:"status"`
	Readers int    `json:"readers"`
	Cards   int    `json:"cards"`
	// BackendError is the last error a reader backend reported (pcscd
	// gone, ...), empty once it recovered.
	BackendError string `json:"backend_error,omitempty"`
	// BackendStuck is set while a call into a backend (pcscd stopped or
	// hung) was abandoned at its deadline and none answered in time since.
	BackendStuck string    `json:"backend_stuck,omitempty"`
	Started      time.Time `json:"started"`
}

// Reader is one reader and the card in it, as the daemon last saw them.
type Reader struct {
	Name        string     `json:"name"`
	Backend     string     `json:"backend"` // "pcsc", "serial", "sim"
	CardPresent bool       `json:"card_present"`
	ATR         reader.ATR `json:"atr,omitempty"`
	// Insertion identifies the current card insertion (0 when empty); pass
	// it to card operations to make sure they act on this card.
	Insertion uint64 `json:"insertion,omitempty"`
	// Kind is what the daemon found when it looked at the inserted card:
	// KindSSC, KindOther, or KindUnknown while it has not looked yet (or
	// could not).
	Kind string `json:"kind,omitempty"`
	// Generation is 2 or 3 for a social security card (spec version 1.xx/
	// 2.xx or 3.xx), 0 otherwise.
	Generation int `json:"generation,omitempty"`
	// SpecVersion is the card's spec version (EF05/03), e.g. "3.00".
	SpecVersion string `json:"spec_version,omitempty"`
	// Protocol is the protocol the daemon's connection negotiated ("T=0",
	// "T=1"), known once the card was identified.
	Protocol string `json:"protocol,omitempty"`
}

// Card kinds of Reader.Kind.
const (
	KindUnknown = ""      // not identified yet
	KindSSC     = "ssc"   // a social security card (SSSE application found)
	KindOther   = "other" // some other card
)

// Event types of the event stream.
const (
	EventSnapshot      = "snapshot" // Event.Readers holds the full state
	EventReaderAdded   = "reader_added"
	EventReaderRemoved = "reader_removed"
	EventCardInserted  = "card_inserted"
	EventCardRemoved   = "card_removed"
	EventBackendError  = "backend_error"
	// EventCardIdentified follows EventCardInserted once the daemon has
	// looked at the card: Kind, Generation and SpecVersion are set.
	EventCardIdentified = "card_identified"
)

// Event is one message of GET /v1/events. The stream starts with a snapshot
// (Type EventSnapshot, Readers set, Seq = the last change it includes); then
// every change follows with Seq increasing by one. A client that fell too far
// behind gets a new snapshot instead of the changes it missed.
type Event struct {
	Seq       uint64     `json:"seq"`
	Type      string     `json:"type"`
	Time      time.Time  `json:"time"`
	Reader    string     `json:"reader,omitempty"`
	Backend   string     `json:"backend,omitempty"`
	ATR       reader.ATR `json:"atr,omitempty"`
	Insertion uint64     `json:"insertion,omitempty"`
	Error     string     `json:"error,omitempty"`
	Readers   []Reader   `json:"readers,omitempty"`
	// Kind, Generation, SpecVersion and Protocol of EventCardIdentified.
	Kind        string `json:"kind,omitempty"`
	Generation  int    `json:"generation,omitempty"`
	SpecVersion string `json:"spec_version,omitempty"`
	Protocol    string `json:"protocol,omitempty"`
}

// Info formats of GET /v1/readers/{reader}/info.
const (
	FormatJSON = "json" // sscard.BasicInfo as JSON
	FormatBas  = "bas"  // the ministry iReadCardBas string, text/plain
)

// CardOptions are the options every card operation takes.
type CardOptions struct {
	// Insertion, when not 0, is the card insertion the caller expects; another
	// card (or none) gives ErrCardChanged.
	Insertion uint64
}

// InfoOptions tune Info and InfoBas.
type InfoOptions struct {
	CardOptions
	// Fresh reads the card again instead of answering from what the daemon
	// read earlier from the same insertion.
	Fresh bool
	// AllFields reads every EF05/EF06 field, not only the iReadCardBas set
	// (always from the card).
	AllFields bool
	// NoHSM does not use the daemon's HSM: a 3rd-gen card then gives
	// ErrNeedsHSM, or with Partial the free fields (always from the card).
	NoHSM bool
	// Partial returns the free fields of a 3rd-gen card when no HSM is
	// configured, listing the others in BasicInfo.Unavailable, instead of
	// failing with ErrNeedsHSM.
	Partial bool
}

// HSMStep1 is the answer of POST /v1/readers/{reader}/hsm/step1: the HSM
// Step-1 string to hand to the HSM, and the session that step 2 continues.
// The card stays reserved for the session until step 2, or until Expires.
type HSMStep1 struct {
	Session   string    `json:"session"`
	Step1     string    `json:"step1"`
	Insertion uint64    `json:"insertion"`
	Expires   time.Time `json:"expires"`
}

// HSMStep1Options tune HSMStep1.
type HSMStep1Options struct {
	CardOptions
	// AllFields reads every EF05/EF06 field, not only the iReadCardBas set.
	AllFields bool
}

// HSMStep2Request is the body of POST /v1/hsm/{session}/step2.
type HSMStep2Request struct {
	// Result is the HSM's answer line RESULT1|RESULT2|.
	Result string `json:"result"`
}

// PINStatus is the answer of GET /v1/readers/{reader}/pin.
type PINStatus struct {
	// TriesLeft is the number of tries left; -1 when the card did not say.
	TriesLeft int `json:"tries_left"`
	// PINPad says the reader has a keypad that can verify the PIN.
	PINPad bool `json:"pinpad"`
}

// VerifyPINRequest is the body of POST /v1/readers/{reader}/pin/verify.
// The PIN travels only over the local socket and is never logged.
type VerifyPINRequest struct {
	PIN string `json:"pin,omitempty"`
	// PINPad has the reader's keypad collect the PIN instead (PIN empty).
	PINPad bool `json:"pinpad,omitempty"`
	// Force allows using the last remaining try.
	Force bool `json:"force,omitempty"`
}

// VerifyPINResult is the answer of a successful PIN verification. The card
// is reset right after it: the verification proves the PIN, it does not
// leave the card unlocked for later requests.
type VerifyPINResult struct {
	Verified bool `json:"verified"`
}

// BasicInfo is the card and holder information (package sscard).
type BasicInfo = sscard.BasicInfo

// ChangePINRequest is the body of POST /v1/readers/{reader}/pin/change.
type ChangePINRequest struct {
	Old string `json:"old,omitempty"`
	New string `json:"new,omitempty"`
	// PINPad has the reader's keypad collect both PINs (Old and New empty).
	PINPad bool `json:"pinpad,omitempty"`
	// Force allows using the last remaining try (a wrong old PIN spends a
	// try); without it the daemon answers pin_last_try.
	Force bool `json:"force,omitempty"`
}

// ChangePINResult is the answer of a successful PIN change.
type ChangePINResult struct {
	Changed bool `json:"changed"`
}

// LinkRequest is the body of POST /v1/readers/{reader}/link: the e-card
// platform's request to link the physical card (see package link).
type LinkRequest struct {
	// Level is link.Level1 (identity) or link.Level2 (identity and bank
	// account).
	Level int `json:"level"`
	// Origin names the platform, scheme://host[:port]. The browser bridge
	// takes it from the request's verified Origin header instead.
	Origin string `json:"origin"`
	// Nonce is the platform's single-use nonce, link.MinNonceSize to
	// link.MaxNonceSize bytes (hex in JSON).
	Nonce HexBytes `json:"nonce"`
	// PIN is the user PIN of the card's PKI application, which signs the
	// proof. It is never logged.
	PIN string `json:"pin"`
	// Force allows the last try of the PKI PIN; without it the daemon
	// answers pin_last_try before the card is read.
	Force bool `json:"force,omitempty"`
}

// APDURequest is the body of POST /v1/readers/{reader}/apdu (administrators
// only, off unless configured): command APDUs sent in order in one
// transaction. The card is reset afterwards.
type APDURequest struct {
	APDUs []HexBytes `json:"apdus"`
}

// APDUResponse lists the responses (data || SW1 SW2) in order. Sending
// stops at the first transport error; a card status word is not an error.
type APDUResponse struct {
	Responses []HexBytes `json:"responses"`
}

// MaxAPDUs bounds APDURequest.APDUs.
const MaxAPDUs = 64

// HexBytes is binary data as uppercase hex in JSON.
type HexBytes = apdu.HexBytes

// BridgeInfoRequest is the body of POST /v1/readers/{reader}/info on the
// browser bridge (card endpoints take POST there, never GET).
type BridgeInfoRequest struct {
	Format    string `json:"format,omitempty"` // FormatJSON (default) or FormatBas
	Partial   bool   `json:"partial,omitempty"`
	Insertion uint64 `json:"insertion,omitempty"`
}

// BridgeLinkRequest is the body of POST /v1/readers/{reader}/link on the
// browser bridge: the origin is the request's verified Origin header, never
// a field of the body.
type BridgeLinkRequest struct {
	Level     int      `json:"level"`
	Nonce     HexBytes `json:"nonce"`
	PIN       string   `json:"pin"`
	Insertion uint64   `json:"insertion,omitempty"`
	// Force is refused (bad_request): the bridge never spends the last try
	// of the PKI PIN, which only a socket client may force. Kept so that
	// a page sending it gets that clear error, not an unknown field.
	Force bool `json:"force,omitempty"`
}

// BridgePINStatusRequest is the body of POST /v1/readers/{reader}/pin on
// the browser bridge.
type BridgePINStatusRequest struct {
	Insertion uint64 `json:"insertion,omitempty"`
}

// IssueRequest is the body of POST /v1/readers/{reader}/issue: counter
// issuance of the card in the reader (docs/issuance.md). Exactly one of
// WriteInfo (the ministry write-info string) and Data.
type IssueRequest struct {
	WriteInfo string            `json:"write_info,omitempty"`
	Data      *sscard.WriteInfo `json:"data,omitempty"`
	// Force writes over a card issued to another holder.
	Force bool `json:"force,omitempty"`
}

// BridgeIssueRequest is the body of POST /v1/readers/{reader}/issue/step1
// on the browser bridge (origins of bridge.issue_origins only): an
// IssueRequest and the insertion the page saw.
type BridgeIssueRequest struct {
	IssueRequest
	Insertion uint64 `json:"insertion,omitempty"`
}

// IssueResult is the answer of a successful issuance.
type IssueResult = sscard.IssueReport

// IssueStep1 is the answer of POST /v1/readers/{reader}/issue/step1 (body:
// an IssueRequest): the Step-1 string for the read-key system and the write
// session that steps 2 and 3 continue. The card stays reserved for the
// session, in one transaction, until step 3, an abort, or Expires.
type IssueStep1 struct {
	Session string    `json:"session"`
	Step1   string    `json:"step1"`   // region|ATRhist|03|cardID|F1|O1|F2|O2|
	CardID  string    `json:"card_id"` // hex
	Expires time.Time `json:"expires"`
}

// IssueKeyRequest is the body of POST /v1/issue/{session}/step2 (Key: the
// read-key answer RESULT1|RESULT2|) and /step3 (Key: the write-key answer
// RESULT|).
type IssueKeyRequest struct {
	Key string `json:"key"`
	// Values, in step 2 of an update session only (and required there),
	// are the new values of the fields named in step 1 (write-info JSON
	// names, the strings of the write info).
	Values map[string]string `json:"values,omitempty"`
}

// IssueStep2 is the answer of POST /v1/issue/{session}/step2: the write-key
// request for the key system and the card as it was before the write.
type IssueStep2 struct {
	Session string `json:"session"`
	// Request is the 6-field write-key request region|ATRhist|03|cardID|KEYFAC|ODATA|.
	Request string `json:"request"`
	// Card is the iReadCardBas string of the card before the write (with the
	// daemon's terminal numbers).
	Card string `json:"card"`
	// IssuedBefore says the card already held holder data (this holder's,
	// or another's with force).
	IssuedBefore bool `json:"issued_before"`
}

// PKIPersonaliseRequest is the body of POST
// /v1/readers/{reader}/pki/personalise: the CA delivery values for the card
// (hex). They travel only over the local socket and are never logged.
type PKIPersonaliseRequest struct {
	AdminPIN     HexBytes `json:"admin_pin"`                // GLYPIN, 4 bytes
	MasterKey    HexBytes `json:"master_key"`               // ZKMY, 16 bytes
	NewAdminPIN  HexBytes `json:"new_admin_pin,omitempty"`  // 4 bytes: change the admin PIN
	NewMasterKey HexBytes `json:"new_master_key,omitempty"` // 16 bytes: change the master key
	// Force allows the last try of the admin PIN (pin_last_try otherwise).
	Force bool `json:"force,omitempty"`
	// Delivery, when set, is the CA's delivery obtained out of band
	// ({"QMZS","JMZS","JMMY"}, base64): no key is generated and no CA is
	// asked; the card's signing key (EF 0012) must be the one QMZS
	// certifies.
	Delivery *sscard.CADelivery `json:"delivery,omitempty"`
	// Resume continues the last personalisation of the card recorded in
	// the daemon's issuance journal (issue_journal; bad_request without
	// one): AdminPIN the current admin PIN (the new one if that run changed
	// it), MasterKey the key before the change, the new values as for that
	// run (sscard.PersonaliseInput.Resume).
	Resume bool `json:"resume,omitempty"`
}

// PKIPersonaliseResult is the answer of a successful personalisation.
type PKIPersonaliseResult = sscard.PersonaliseReport

// UpdateRequest is the body of POST /v1/readers/{reader}/update (Values:
// the fields to write and their new values, write-info JSON names and
// strings) and of /update/step1 (Fields: the names only; the values come
// with step 2, IssueKeyRequest.Values): a partial write of an issued card
// (sscard.BeginUpdate), the other fields as the card holds them.
type UpdateRequest struct {
	// CardID, when set, must be the card's identification code
	// (wrong_card otherwise).
	CardID HexBytes          `json:"card_id,omitempty"`
	Values map[string]string `json:"values,omitempty"`
	Fields []string          `json:"fields,omitempty"`
}

// MaxUpdateFields bounds UpdateRequest.Values and Fields (the write info
// has 11 fields).
const MaxUpdateFields = 11

// PINResetRequest is the body of POST /v1/readers/{reader}/pin/reset and
// /pin/reset/step1: the SSSE PIN is set to NewPIN and its try counter
// reset, after authentication with the key system's update key (the
// ministry's iReloadPIN/iUnblockPIN). No PIN try is spent.
type PINResetRequest struct {
	// CardID, when set, must be the card's identification code.
	CardID HexBytes `json:"card_id,omitempty"`
	// NewPIN is 6 digits; it travels only over the local socket and is
	// never logged.
	NewPIN string `json:"new_pin"`
}

// PINResetResult is the answer of a successful PIN reset.
type PINResetResult struct {
	Reset bool `json:"reset"`
}

// PKISignRequest is the body of POST /v1/readers/{reader}/pki/sign: the
// card's PKI application signs Data (SM2 over SM3(Z || Data) with the
// default signer id) after the PKI PIN.
type PKISignRequest struct {
	// PIN is the user PIN of the PKI application; never logged.
	PIN string `json:"pin"`
	// Data is the message (base64 in JSON), at most MaxSignData bytes.
	Data []byte `json:"data"`
	// Force allows the last try of the PKI PIN (pin_last_try otherwise).
	Force bool `json:"force,omitempty"`
}

// MaxSignData bounds PKISignRequest.Data (the card signs the SM3 digest,
// computed on the host: the size costs the card nothing).
const MaxSignData = 64 << 10

// PKISignature is the answer of POST /v1/readers/{reader}/pki/sign.
type PKISignature struct {
	// Signature is r || s, 64 bytes (hex in JSON).
	Signature HexBytes `json:"signature"`
	// Certificate is the card's signing certificate, DER (base64 in JSON).
	Certificate []byte `json:"certificate"`
}

// PKICertificate is the answer of GET
// /v1/readers/{reader}/pki/certificate?which=sign|encrypt: a certificate
// of the card's PKI application, DER (base64 in JSON), as the card holds
// it (the chain is the caller's to check against its roots).
type PKICertificate struct {
	Which       string `json:"which"`
	Certificate []byte `json:"certificate"`
}
