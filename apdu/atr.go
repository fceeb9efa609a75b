package apdu

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// MaxATRLen is the longest valid ATR: TS and at most 32 further bytes.
const MaxATRLen = 33

// ErrMalformedATR is wrapped by every ATR parsing error.
var ErrMalformedATR = errors.New("apdu: malformed ATR")

// ErrATRChecksum is wrapped when the TCK check byte does not match.
var ErrATRChecksum = fmt.Errorf("%w: TCK mismatch", ErrMalformedATR)

// ATR is a parsed Answer-to-Reset (ISO/IEC 7816-3 §8.2).
type ATR struct {
	Raw        []byte           // the whole ATR (a copy of the input)
	TS         byte             // 3B direct or 3F inverse convention
	T0         byte             // Y1 presence bits and K, the historical byte count
	Groups     []InterfaceGroup // Groups[i-1] holds TAi TBi TCi TDi; empty when Y1 is 0
	Historical []byte           // the K historical bytes, aliasing Raw
	TCK        byte             // check byte, when HasTCK
	HasTCK     bool
}

// InterfaceGroup is one group of interface bytes TAi, TBi, TCi, TDi.
type InterfaceGroup struct {
	Y              byte // presence bits from the previous T0/TD: 1 TA, 2 TB, 4 TC, 8 TD
	TA, TB, TC, TD byte // zero when absent
}

// ParseATR decodes an ATR as PC/SC returns it (already in direct byte order
// whatever TS says). It rejects truncated ATRs, trailing bytes, ATRs longer
// than MaxATRLen and, with ErrATRChecksum, a wrong TCK. The TCK is required
// exactly when a protocol other than T=0 is indicated.
func ParseATR(b []byte) (*ATR, error) {
	switch {
	case len(b) < 2:
		return nil, fmt.Errorf("%w: %d bytes", ErrMalformedATR, len(b))
	case len(b) > MaxATRLen:
		return nil, fmt.Errorf("%w: %d bytes exceed %d", ErrMalformedATR, len(b), MaxATRLen)
	case b[0] != 0x3B && b[0] != 0x3F:
		return nil, fmt.Errorf("%w: TS %02X is neither 3B nor 3F", ErrMalformedATR, b[0])
	}
	raw := bytes.Clone(b)
	a := &ATR{Raw: raw, TS: raw[0], T0: raw[1]}
	i, needTCK := 2, false
	for y := raw[1] >> 4; y != 0; {
		g := InterfaceGroup{Y: y}
		for bit, dst := range [4]*byte{&g.TA, &g.TB, &g.TC, &g.TD} {
			if y&(1<<bit) == 0 {
				continue
			}
			if i >= len(raw) {
				return nil, fmt.Errorf("%w: truncated in interface bytes of group %d", ErrMalformedATR, len(a.Groups)+1)
			}
			*dst = raw[i]
			i++
		}
		a.Groups = append(a.Groups, g)
		if y&8 == 0 {
			break
		}
		needTCK = needTCK || g.TD&0x0F != 0
		y = g.TD >> 4
	}
	k := int(raw[1] & 0x0F)
	if len(raw)-i < k {
		return nil, fmt.Errorf("%w: %d of %d historical bytes", ErrMalformedATR, len(raw)-i, k)
	}
	a.Historical = raw[i : i+k : i+k]
	i += k
	if needTCK {
		if i >= len(raw) {
			return nil, fmt.Errorf("%w: missing TCK", ErrMalformedATR)
		}
		a.TCK, a.HasTCK = raw[i], true
		i++
		var x byte
		for _, c := range raw[1:i] {
			x ^= c
		}
		if x != 0 {
			return nil, fmt.Errorf("%w: TCK is %02X, expected %02X", ErrATRChecksum, a.TCK, a.TCK^x)
		}
	}
	if i != len(raw) {
		return nil, fmt.Errorf("%w: %d trailing bytes", ErrMalformedATR, len(raw)-i)
	}
	return a, nil
}

// String is the ATR in hex.
func (a *ATR) String() string { return fmt.Sprintf("%X", a.Raw) }

// Inverse reports the inverse convention (TS = 3F).
func (a *ATR) Inverse() bool { return a.TS == 0x3F }

// TA returns TAi (i counts from 1) and whether it is present.
func (a *ATR) TA(i int) (byte, bool) { return a.iface(i, 1) }

// TB returns TBi and whether it is present.
func (a *ATR) TB(i int) (byte, bool) { return a.iface(i, 2) }

// TC returns TCi and whether it is present.
func (a *ATR) TC(i int) (byte, bool) { return a.iface(i, 4) }

// TD returns TDi and whether it is present.
func (a *ATR) TD(i int) (byte, bool) { return a.iface(i, 8) }

func (a *ATR) iface(i int, bit byte) (byte, bool) {
	if i < 1 || i > len(a.Groups) || a.Groups[i-1].Y&bit == 0 {
		return 0, false
	}
	g := a.Groups[i-1]
	switch bit {
	case 1:
		return g.TA, true
	case 2:
		return g.TB, true
	case 4:
		return g.TC, true
	}
	return g.TD, true
}

// Rate conversion tables of ISO/IEC 7816-3 §8.3 (0 = RFU).
var (
	fiTable   = [16]int{372, 372, 558, 744, 1116, 1488, 1860, 0, 0, 512, 768, 1024, 1536, 2048, 0, 0}
	fMaxTable = [16]float64{4, 5, 6, 8, 12, 16, 20, 0, 0, 5, 7.5, 10, 15, 20, 0, 0}
	diTable   = [16]int{0, 1, 2, 4, 8, 16, 32, 64, 12, 20, 0, 0, 0, 0, 0, 0}
)

// Fi is the clock rate conversion integer from TA1 (372 without TA1, 0 for
// an RFU value).
func (a *ATR) Fi() int {
	ta1, ok := a.TA(1)
	if !ok {
		return 372
	}
	return fiTable[ta1>>4]
}

// Di is the baud rate adjustment integer from TA1 (1 without TA1, 0 for an
// RFU value).
func (a *ATR) Di() int {
	ta1, ok := a.TA(1)
	if !ok {
		return 1
	}
	return diTable[ta1&0x0F]
}

// FMax is the maximum clock frequency in MHz from TA1 (5 without TA1, 0 for
// an RFU value).
func (a *ATR) FMax() float64 {
	ta1, ok := a.TA(1)
	if !ok {
		return 5
	}
	return fMaxTable[ta1>>4]
}

// ExtraGuardTime is N from TC1 (0 without TC1); 255 means the minimum guard
// time.
func (a *ATR) ExtraGuardTime() int {
	tc1, _ := a.TC(1)
	return int(tc1)
}

// Protocols lists the transmission protocols indicated in TD1, TD2, ... in
// order, without T=15 (which only announces global interface bytes). Without
// TD1 the card offers T=0 only.
func (a *ATR) Protocols() []int {
	var ps []int
	for _, g := range a.Groups {
		if g.Y&8 == 0 {
			break
		}
		if p := int(g.TD & 0x0F); p != 15 && !slices.Contains(ps, p) {
			ps = append(ps, p)
		}
	}
	if len(ps) == 0 {
		return []int{0}
	}
	return ps
}

// DefaultProtocol is the protocol a reader uses with the card when it does
// not negotiate: the first one the ATR offers (ISO/IEC 7816-3 §8.2.3), except
// that a PC/SC contactless ATR (PC/SC part 3: TD1 = 80, then TD2 offering
// T=1) counts as T=1, the protocol the reader emulates for such cards.
func (a *ATR) DefaultProtocol() int {
	td1, _ := a.TD(1)
	if td2, ok := a.TD(2); td1 == 0x80 && ok && td2&0x0F == 1 {
		return 1
	}
	return a.Protocols()[0]
}

// HistoricalBytes decodes a.Historical (see ParseHistorical).
func (a *ATR) HistoricalBytes() (HistoricalBytes, error) { return ParseHistorical(a.Historical) }

// ExtendedLength reports whether the card capabilities in the historical
// bytes (COMPACT-TLV tag 7, third byte, bit b7) announce extended Lc/Le.
func (a *ATR) ExtendedLength() bool {
	h, err := a.HistoricalBytes()
	if err != nil {
		return false
	}
	for _, o := range h.Objects {
		if o.Tag == 7 && len(o.Value) >= 3 {
			return o.Value[2]&0x40 != 0
		}
	}
	return false
}

// HistoricalBytes are decoded historical bytes (ISO/IEC 7816-4 §8.1.1).
type HistoricalBytes struct {
	Raw         []byte
	Category    byte         // category indicator, the first byte
	Proprietary bool         // the category is not 00, 10 or 80: Raw is card specific
	Objects     []CompactTLV // categories 00 and 80
	Status      []byte       // category 00: last three bytes; 80: value of tag 8, if any
	DIRRef      []byte       // category 10: the DIR data reference
	Storage     *StorageCard // PC/SC part 3 contactless storage card, category 80
}

// StorageCard is the PC/SC part 3 description of a contactless storage card
// (historical bytes 80 4F 0C RID SS NN NN 00 00 00 00).
type StorageCard struct {
	RID      []byte
	Standard byte   // SS, e.g. 03 = ISO 14443 A part 3
	Name     uint16 // NN NN, e.g. 0001 = MIFARE Classic 1K
}

// ParseHistorical decodes historical bytes by their category indicator.
// Proprietary categories are not an error; a standard category whose content
// does not follow the standard is.
func ParseHistorical(b []byte) (HistoricalBytes, error) {
	h := HistoricalBytes{Raw: b}
	if len(b) == 0 {
		return h, nil
	}
	h.Category = b[0]
	var err error
	switch h.Category {
	case 0x00:
		if len(b) < 4 {
			return h, fmt.Errorf("%w: category 00 historical bytes need a 3-byte status indicator", ErrMalformedATR)
		}
		h.Status = b[len(b)-3:]
		if h.Objects, err = ParseCompact(b[1 : len(b)-3]); err != nil {
			return h, fmt.Errorf("%w: category 00 historical bytes: %w", ErrMalformedATR, err)
		}
	case 0x80:
		if len(b) == 15 && b[1] == 0x4F && b[2] == 0x0C {
			// BER-style application identifier of PC/SC part 3, not COMPACT-TLV.
			h.Storage = &StorageCard{RID: b[3:8], Standard: b[8], Name: uint16(b[9])<<8 | uint16(b[10])}
			return h, nil
		}
		if h.Objects, err = ParseCompact(b[1:]); err != nil {
			return h, fmt.Errorf("%w: category 80 historical bytes: %w", ErrMalformedATR, err)
		}
		for _, o := range h.Objects {
			if o.Tag == 8 {
				h.Status = o.Value
				break
			}
		}
	case 0x10:
		h.DIRRef = b[1:]
	default:
		h.Proprietary = true
	}
	return h, nil
}

// ATRInfo is a JSON-friendly description of an ATR (hex strings for bytes).
type ATRInfo struct {
	ATR            string          `json:"atr"`
	Convention     string          `json:"convention"`
	Protocols      []int           `json:"protocols"`
	Fi             int             `json:"fi"`
	Di             int             `json:"di"`
	FMaxMHz        float64         `json:"fmax_mhz"`
	ExtraGuardTime int             `json:"extra_guard_time"`
	Interface      []InterfaceInfo `json:"interface_bytes,omitempty"`
	Historical     HistoricalInfo  `json:"historical"`
	TCK            string          `json:"tck,omitempty"`
	ExtendedLength bool            `json:"extended_length"`
}

// InterfaceInfo is one group of interface bytes in hex.
type InterfaceInfo struct {
	TA string `json:"ta,omitempty"`
	TB string `json:"tb,omitempty"`
	TC string `json:"tc,omitempty"`
	TD string `json:"td,omitempty"`
}

// HistoricalInfo describes the historical bytes.
type HistoricalInfo struct {
	Raw      string        `json:"raw"`
	Category string        `json:"category,omitempty"`
	Objects  []CompactInfo `json:"objects,omitempty"`
	Status   string        `json:"status,omitempty"`
	Note     string        `json:"note,omitempty"` // proprietary, storage card or decoding error
}

// CompactInfo is one COMPACT-TLV object of the historical bytes.
type CompactInfo struct {
	Tag   string `json:"tag"`
	Name  string `json:"name,omitempty"`
	Value string `json:"value"`
}

var compactTagNames = [16]string{
	1: "country code", 2: "issuer identification", 3: "card service data",
	4: "initial access data", 5: "card issuer's data", 6: "pre-issuing data",
	7: "card capabilities", 8: "status indicator", 0xF: "application identifier",
}

var storageStandards = map[byte]string{
	0x01: "ISO 14443 A part 1", 0x02: "ISO 14443 A part 2", 0x03: "ISO 14443 A part 3",
	0x05: "ISO 14443 B part 1", 0x06: "ISO 14443 B part 2", 0x07: "ISO 14443 B part 3",
	0x09: "ISO 15693 part 1", 0x0A: "ISO 15693 part 2", 0x0B: "ISO 15693 part 3", 0x0C: "ISO 15693 part 4",
	0x11: "FeliCa",
}

var storageNames = map[uint16]string{
	0x0001: "MIFARE Classic 1K", 0x0002: "MIFARE Classic 4K", 0x0003: "MIFARE Ultralight",
	0x0026: "MIFARE Mini", 0x003A: "MIFARE Ultralight C",
}

// Info describes the ATR for display or JSON output.
func (a *ATR) Info() ATRInfo {
	in := ATRInfo{
		ATR:            fmt.Sprintf("%X", a.Raw),
		Convention:     "direct",
		Protocols:      a.Protocols(),
		Fi:             a.Fi(),
		Di:             a.Di(),
		FMaxMHz:        a.FMax(),
		ExtraGuardTime: a.ExtraGuardTime(),
		ExtendedLength: a.ExtendedLength(),
		Historical:     historicalInfo(a.Historical),
	}
	if a.Inverse() {
		in.Convention = "inverse"
	}
	hexIf := func(g InterfaceGroup, bit, v byte) string {
		if g.Y&bit == 0 {
			return ""
		}
		return fmt.Sprintf("%02X", v)
	}
	for _, g := range a.Groups {
		in.Interface = append(in.Interface, InterfaceInfo{
			TA: hexIf(g, 1, g.TA), TB: hexIf(g, 2, g.TB), TC: hexIf(g, 4, g.TC), TD: hexIf(g, 8, g.TD),
		})
	}
	if a.HasTCK {
		in.TCK = fmt.Sprintf("%02X", a.TCK)
	}
	return in
}

func historicalInfo(b []byte) HistoricalInfo {
	hi := HistoricalInfo{Raw: fmt.Sprintf("%X", b)}
	if len(b) == 0 {
		return hi
	}
	h, err := ParseHistorical(b)
	hi.Category = fmt.Sprintf("%02X", h.Category)
	switch {
	case err != nil:
		hi.Note = fmt.Sprintf("proprietary: not a valid ISO 7816-4 category %02X encoding", h.Category)
		return hi
	case h.Proprietary:
		hi.Note = "proprietary"
	case h.Storage != nil:
		s := h.Storage
		hi.Note = fmt.Sprintf("PC/SC storage card: RID %X, standard %s, card %s",
			s.RID, named(fmt.Sprintf("%02X", s.Standard), storageStandards[s.Standard]),
			named(fmt.Sprintf("%04X", s.Name), storageNames[s.Name]))
	case h.DIRRef != nil:
		hi.Note = fmt.Sprintf("DIR data reference %X", h.DIRRef)
	}
	for _, o := range h.Objects {
		hi.Objects = append(hi.Objects, CompactInfo{Tag: fmt.Sprintf("%X", o.Tag), Name: compactTagNames[o.Tag], Value: fmt.Sprintf("%X", o.Value)})
	}
	if h.Status != nil {
		hi.Status = fmt.Sprintf("%X", h.Status)
	}
	return hi
}

// named appends a known name to a code.
func named(code, name string) string {
	if name == "" {
		return code
	}
	return code + " (" + name + ")"
}

// orRFU formats a table value, 0 meaning a reserved code.
func orRFU[T int | float64](v T) string {
	if v == 0 {
		return "RFU"
	}
	return fmt.Sprint(v)
}

// Describe returns human-readable lines about the ATR.
func (a *ATR) Describe() []string {
	in := a.Info()
	lines := []string{
		"ATR " + in.ATR,
		fmt.Sprintf("TS %02X: %s convention", a.TS, in.Convention),
		fmt.Sprintf("T0 %02X: %d historical bytes", a.T0, len(a.Historical)),
	}
	var ifs []string
	for i, g := range in.Interface {
		for _, f := range [4][2]string{{"TA", g.TA}, {"TB", g.TB}, {"TC", g.TC}, {"TD", g.TD}} {
			if f[1] != "" {
				ifs = append(ifs, fmt.Sprintf("%s%d=%s", f[0], i+1, f[1]))
			}
		}
	}
	if len(ifs) > 0 {
		lines = append(lines, "interface bytes: "+strings.Join(ifs, " "))
	}
	ps := make([]string, len(in.Protocols))
	for i, p := range in.Protocols {
		ps[i] = fmt.Sprintf("T=%d", p)
	}
	lines = append(lines,
		"protocols: "+strings.Join(ps, ", "),
		fmt.Sprintf("Fi=%s Di=%s fmax=%s MHz", orRFU(in.Fi), orRFU(in.Di), orRFU(in.FMaxMHz)),
		fmt.Sprintf("extra guard time: %d etu", in.ExtraGuardTime),
	)
	h := in.Historical
	if h.Raw == "" {
		lines = append(lines, "no historical bytes")
	} else {
		lines = append(lines, fmt.Sprintf("historical bytes: %s (category %s)", h.Raw, h.Category))
	}
	for _, o := range h.Objects {
		lines = append(lines, fmt.Sprintf("  tag %s %s: %s", o.Tag, o.Name, o.Value))
	}
	if h.Status != "" && h.Category == "00" { // category 80 lists it as tag 8
		lines = append(lines, "  status indicator: "+h.Status)
	}
	if h.Note != "" {
		lines = append(lines, "  "+h.Note)
	}
	if in.ExtendedLength {
		lines = append(lines, "extended length APDUs supported")
	}
	if in.TCK != "" {
		lines = append(lines, "TCK "+in.TCK+" (valid)")
	}
	return lines
}
