package sscard

import (
	"github.com/sscard/ssc/apdu"
)

// HexBytes is binary data shown as uppercase hex (apdu.HexBytes).
type HexBytes = apdu.HexBytes

// BasicInfo is the card and holder information of SSSE/EF05 and EF06
// (ssc-facts §1.4, §1.5). Fields not read are empty; Unavailable lists the
// requested fields that could not be read (3rd-gen protected fields read with
// ReadOptions.AllowPartial and no HSM authentication).
type BasicInfo struct {
	CardID        HexBytes `json:"card_id,omitempty"`     // EF05/01, 16 bytes
	Region        string   `json:"region,omitempty"`      // 6 digits: first 3 bytes of CardID (BCD)
	Category      string   `json:"category,omitempty"`    // EF05/02
	Version       string   `json:"version,omitempty"`     // EF05/03, e.g. "3.00"
	Generation    int      `json:"generation,omitempty"`  // 2 or 3, from Version
	Institution   HexBytes `json:"institution,omitempty"` // EF05/04, 12 bytes
	IssueDate     string   `json:"issue_date,omitempty"`  // EF05/05, YYYYMMDD
	ExpiryDate    string   `json:"expiry_date,omitempty"` // EF05/06, YYYYMMDD
	CardNumber    string   `json:"card_number,omitempty"` // EF05/07
	SSN           string   `json:"ssn,omitempty"`         // EF06/08
	Name          string   `json:"name,omitempty"`        // EF06/09, decoded from GBK
	NameExt       string   `json:"name_ext,omitempty"`    // EF06/4E
	Sex           string   `json:"sex,omitempty"`         // EF06/0A, GB/T 2261.1 code
	Ethnicity     string   `json:"ethnicity,omitempty"`   // EF06/0B, 2 digits (GB/T 3304)
	Birthplace    string   `json:"birthplace,omitempty"`  // EF06/0C, region code, F padding stripped
	BirthDate     string   `json:"birth_date,omitempty"`  // EF06/0D, YYYYMMDD
	ATRHistorical HexBytes `json:"atr_historical,omitempty"`
	// Fingerprint (EF07) and Photo (EF08), when requested (base64 in JSON).
	Fingerprint []byte `json:"fingerprint,omitempty"`
	Photo       []byte `json:"photo,omitempty"`
	// Unavailable names (JSON names) the requested fields that were not read
	// because the card needs HSM authentication for them.
	Unavailable []string `json:"unavailable,omitempty"`
}

// SexLabel returns the English label of the GB/T 2261.1 sex code.
func (b *BasicInfo) SexLabel() string {
	switch b.Sex {
	case "0":
		return "unknown"
	case "1":
		return "male"
	case "2":
		return "female"
	case "9":
		return "unspecified"
	}
	return ""
}

// generationOf derives the card generation from the spec version: "3.xx" is
// the 3rd generation, "1.xx" and "2.xx" the 2nd.
func generationOf(version string) (int, bool) {
	if len(version) == 0 {
		return 0, false
	}
	switch version[0] {
	case '1', '2':
		return 2, true
	case '3':
		return 3, true
	}
	return 0, false
}
