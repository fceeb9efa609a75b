package link

import (
	"github.com/sscard/ssc/apdu"
)

// Levels of e-card issuance (ssc-facts §6).
const (
	// Level1 links the card's identity (一级签发).
	Level1 = 1
	// Level2 also links the card's bank account (二级签发).
	Level2 = 2
)

// BundleVersion is the version of the bundle format and of the canonical
// card data this package produces and verifies.
const BundleVersion = 1

// Nonce bounds: the platform's nonce must carry at least 256 bits of
// randomness; the upper bound keeps requests small.
const (
	MinNonceSize = 32
	MaxNonceSize = 256
)

// MaxOriginSize bounds the origin string.
const MaxOriginSize = 512

// AlgSM2SM3 is the only proof algorithm: an SM2 signature (default signer id
// 1234567812345678) over SM3 digests, by the card's PKI application.
const AlgSM2SM3 = "SM2-SM3"

// Bundle is what the daemon hands the e-card platform to link a physical
// card: the card's identity (and for level 2 its bank account) with a proof
// that the card itself took part, bound to the platform's origin and nonce.
type Bundle struct {
	Version int    `json:"version"`
	Level   int    `json:"level"`
	Origin  string `json:"origin"`
	// Nonce is the platform's nonce, as it was sent.
	Nonce apdu.HexBytes `json:"nonce"`
	Card  Card          `json:"card"`
	// Bank is present exactly for level 2.
	Bank  *Bank `json:"bank,omitempty"`
	Proof Proof `json:"proof"`
}

// Card is the identity of the card (SSSE EF05/EF06).
type Card struct {
	// CardID is the card identification code (卡识别码), 32 hex digits.
	CardID     string `json:"card_id"`
	CardNumber string `json:"card_number"` // 卡号
	SSN        string `json:"ssn"`         // 社会保障号码
	Name       string `json:"name"`        // 姓名, UTF-8
	// Region is the issuing region code (6 digits).
	Region      string `json:"region"`
	SpecVersion string `json:"spec_version"` // "3.00"
	IssueDate   string `json:"issue_date"`   // YYYYMMDD
	ExpiryDate  string `json:"expiry_date"`  // YYYYMMDD
}

// Bank is the bank account of the card's PBOC application.
type Bank struct {
	AID string `json:"aid"` // hex
	PAN string `json:"pan"`
	// Expiry is the application expiration date (5F24), YYMMDD.
	Expiry string `json:"expiry"`
	// Blocked says the application answered SELECT with 6283. The daemon
	// refuses level 2 for a blocked application, so a verified level-2
	// bundle never has it set; it is part of the signed data all the same.
	Blocked bool `json:"blocked"`
}

// Proof is the card's signature over SignedMessage and the certificates to
// verify it, the card's signing certificate first.
type Proof struct {
	Alg       string        `json:"alg"`
	Signature apdu.HexBytes `json:"signature"` // r || s, 64 bytes
	// Certificates are DER (base64 in JSON): the card's signing certificate
	// (PKI EF 0018), then any intermediates. The root is not included: the
	// verifier brings its own.
	Certificates [][]byte `json:"certificates"`
}
