package sim

import (
	"encoding/hex"
	"strings"
	"time"
)

// PBOCProfile personalises the PBOC 3.0 bank application (docs/pboc.md):
// PSE, PPSE, the debit ADF A000000333010101 and the e-cash ADF
// A000000333010106, which share one account (records, certificates,
// counters, e-cash balance and transaction log). Empty fields take the
// docs/pboc.md values. The certificates and keys are the SIM ones of
// docs/pboc.md, derived from the PAN.
type PBOCProfile struct {
	Enabled bool `json:"enabled" yaml:"enabled"`
	// PAN (5A) in decimal, 12..19 digits with a valid Luhn check digit;
	// default 6217991000001234561.
	PAN string `json:"pan,omitempty" yaml:"pan,omitempty"`
	// PSN is the PAN sequence number (5F34), 2 digits; default "01".
	PSN string `json:"psn,omitempty" yaml:"psn,omitempty"`
	// ExpiryDate (5F24) and EffectiveDate (5F25) as YYYYMMDD in 2000..2099
	// (the card stores YYMMDD); defaults 20311231 and 20211201.
	ExpiryDate    string `json:"expiry_date,omitempty" yaml:"expiry_date,omitempty"`
	EffectiveDate string `json:"effective_date,omitempty" yaml:"effective_date,omitempty"`
	// CardholderName (5F20): 2..26 printable ASCII characters; default
	// "ZHANG/SAN".
	CardholderName string `json:"cardholder_name,omitempty" yaml:"cardholder_name,omitempty"`
	// E-cash amounts in yuan with at most 2 decimals ("500.00"), at most
	// 9999999999.99: balance 9F79 (default 500.00), balance limit 9F77
	// (1000.00), single transaction limit 9F78 (200.00), reset threshold
	// 9F6D (100.00). The balance may not exceed the balance limit.
	Balance        string `json:"balance,omitempty" yaml:"balance,omitempty"`
	BalanceLimit   string `json:"balance_limit,omitempty" yaml:"balance_limit,omitempty"`
	SingleLimit    string `json:"single_limit,omitempty" yaml:"single_limit,omitempty"`
	ResetThreshold string `json:"reset_threshold,omitempty" yaml:"reset_threshold,omitempty"`
	// PSE and PPSE switch the directories 1PAY.SYS.DDF01 (contact) and
	// 2PAY.SYS.DDF01 (contactless) on or off; default on. Without them a
	// terminal must use the AID list method.
	PSE  *bool `json:"pse,omitempty" yaml:"pse,omitempty"`
	PPSE *bool `json:"ppse,omitempty" yaml:"ppse,omitempty"`
	// BlockedAIDs lists DF names (hex) personalised as blocked: SELECT
	// answers 6283 and commands inside 6985. Allowed: the two ADF AIDs and
	// the PSE/PPSE names.
	BlockedAIDs []string `json:"blocked_aids,omitempty" yaml:"blocked_aids,omitempty"`
}

// Defaults of the PBOC section (docs/pboc.md).
const (
	defaultPBOCPAN            = "6217991000001234561"
	defaultPBOCPSN            = "01"
	defaultPBOCExpiry         = "20311231"
	defaultPBOCEffective      = "20211201"
	defaultPBOCName           = "ZHANG/SAN"
	defaultPBOCBalance        = "500.00"
	defaultPBOCBalanceLimit   = "1000.00"
	defaultPBOCSingleLimit    = "200.00"
	defaultPBOCResetThreshold = "100.00"
	maxPBOCAmount             = 999999999999 // n12 in fen
)

// clone returns a deep copy.
func (p *PBOCProfile) clone() *PBOCProfile {
	if p == nil {
		return nil
	}
	q := *p
	if p.PSE != nil {
		v := *p.PSE
		q.PSE = &v
	}
	if p.PPSE != nil {
		v := *p.PPSE
		q.PPSE = &v
	}
	q.BlockedAIDs = append([]string(nil), p.BlockedAIDs...)
	return &q
}

// withDefaults fills in the empty fields of a present section.
func (p *PBOCProfile) withDefaults() {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&p.PAN, defaultPBOCPAN)
	def(&p.PSN, defaultPBOCPSN)
	def(&p.ExpiryDate, defaultPBOCExpiry)
	def(&p.EffectiveDate, defaultPBOCEffective)
	def(&p.CardholderName, defaultPBOCName)
	def(&p.Balance, defaultPBOCBalance)
	def(&p.BalanceLimit, defaultPBOCBalanceLimit)
	def(&p.SingleLimit, defaultPBOCSingleLimit)
	def(&p.ResetThreshold, defaultPBOCResetThreshold)
	for _, b := range []**bool{&p.PSE, &p.PPSE} {
		if *b == nil {
			v := true
			*b = &v
		}
	}
}

// luhnValid reports whether a digit string ends in its Luhn check digit.
func luhnValid(s string) bool {
	sum := 0
	for i := 0; i < len(s); i++ {
		d := int(s[len(s)-1-i] - '0')
		if i%2 == 1 {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return sum%10 == 0
}

// cn packs decimal digits as cn: BCD, padded with F to a whole byte and
// then to size bytes (size 0: no more padding).
func cn(digits string, size int) []byte {
	s := digits
	for len(s)%2 == 1 || len(s) < 2*size {
		s += "F"
	}
	b, _ := hex.DecodeString(s)
	return b
}

// yymmddField parses YYYYMMDD (2000..2099) into YYMMDD, 3 BCD bytes.
func (fe *fieldErrors) yymmddField(field, s string) ([]byte, time.Time) {
	b, t := fe.dateField(field, s)
	if b == nil {
		return nil, t
	}
	if t.Year() < 2000 || t.Year() > 2099 {
		fe.add(field, "%q: year outside 2000..2099 (the card stores YYMMDD)", s)
		return nil, t
	}
	return b[1:], t
}

// amountField parses yuan with at most 2 decimals into fen.
func (fe *fieldErrors) amountField(field, s string) (uint64, bool) {
	whole, frac, dot := strings.Cut(s, ".")
	ok := whole != "" && len(whole) <= 10 && strings.Trim(whole, digits) == "" &&
		len(frac) <= 2 && strings.Trim(frac, digits) == "" && (!dot || frac != "")
	if !ok {
		fe.add(field, "%q is not an amount in yuan like \"500.00\" (at most 9999999999.99)", s)
		return 0, false
	}
	frac += strings.Repeat("0", 2-len(frac))
	var v uint64
	for _, r := range whole + frac {
		v = v*10 + uint64(r-'0')
	}
	return v, true
}

// pbocField validates the PBOC section (also when disabled) and, when it is
// enabled and everything else is valid, builds the application's data and
// certificates.
func (fe *fieldErrors) pbocField(p *PBOCProfile) *pbocData {
	d := &pbocData{pse: p.PSE == nil || *p.PSE, ppse: p.PPSE == nil || *p.PPSE}
	if pan := p.PAN; len(pan) < 12 || len(pan) > 19 || strings.Trim(pan, digits) != "" {
		fe.add("pboc.pan", "%q: want 12..19 digits", pan)
	} else if !luhnValid(pan) {
		fe.add("pboc.pan", "%q: Luhn check digit is wrong", pan)
	} else {
		d.panDigits = pan
	}
	if b := fe.bcdField("pboc.psn", p.PSN, 2); b != nil {
		d.psn = b[0]
	}
	var expires, effective time.Time
	d.expiry, expires = fe.yymmddField("pboc.expiry_date", p.ExpiryDate)
	d.effective, effective = fe.yymmddField("pboc.effective_date", p.EffectiveDate)
	if d.expiry != nil && d.effective != nil && expires.Before(effective) {
		fe.add("pboc.expiry_date", "%s is before effective_date %s", p.ExpiryDate, p.EffectiveDate)
	}
	name := p.CardholderName
	if len(name) < 2 || len(name) > 26 || strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r > 0x7E }) {
		fe.add("pboc.cardholder_name", "%q: want 2..26 printable ASCII characters", name)
	} else {
		d.name = []byte(name)
	}
	var okBal, okLimit bool
	d.balance, okBal = fe.amountField("pboc.balance", p.Balance)
	d.balanceLimit, okLimit = fe.amountField("pboc.balance_limit", p.BalanceLimit)
	d.singleLimit, _ = fe.amountField("pboc.single_limit", p.SingleLimit)
	d.resetThreshold, _ = fe.amountField("pboc.reset_threshold", p.ResetThreshold)
	if okBal && okLimit && d.balance > d.balanceLimit {
		fe.add("pboc.balance", "%s is more than balance_limit %s", p.Balance, p.BalanceLimit)
	}
	for i, s := range p.BlockedAIDs {
		b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
		switch {
		case err != nil:
			fe.add("pboc.blocked_aids", "[%d] %q is not valid hex", i, s)
		case !isPBOCDFName(b):
			fe.add("pboc.blocked_aids", "[%d] %s is not a PBOC DF name (want %X, %X, PSE or PPSE)", i, s, pbocDebitAID, pbocECashAID)
		default:
			d.blocked = append(d.blocked, b)
		}
	}
	if !p.Enabled || len(fe.errs) > 0 {
		return nil
	}
	if err := d.sign(); err != nil {
		fe.add("pboc", "certificates: %v", err)
		return nil
	}
	return d
}
