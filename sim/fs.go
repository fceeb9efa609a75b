package sim

import (
	"bytes"

	"github.com/emmansun/gmsm/sm2"
)

// fileType is the structure of a node of the card's file tree.
type fileType uint8

const (
	typeDF       fileType = iota + 1 // dedicated file (MF, DDF, ADF)
	typeRecordEF                     // linear EF of SIMPLE-TLV records
	typeBinaryEF                     // transparent EF
)

// fidMF is the file identifier of the master file.
const fidMF = 0x3F00

// file is a node of the card's file tree: a DF with children, or an EF with
// records or bytes. Access conditions hang on the nodes (and on records), so
// new files and applications are data, not special cases in the commands.
type file struct {
	typ      fileType
	fid      uint16 // 0: not selectable by file identifier
	sfi      byte   // EF short file identifier 1..30; 0: none
	name     []byte // DF name (AID); nil: none
	parent   *file
	children []*file

	// DF only.
	fci []byte // answered by SELECT with P2 = 00; nil: no FCI
	app bool   // application DF: owns a security state, keys and a PIN
	// invalidated: SELECT answers 6283 and commands inside answer 6985.
	invalidated bool
	keys        []*key // application keys (app DFs)
	pin         *pin   // application PIN (app DFs); nil: none
	// signKey is the SM2 key of PSO COMPUTE DIGITAL SIGNATURE in this
	// application (the PKI ADF); nil: the command is not available.
	signKey *sm2.PrivateKey
	sign    access // condition of PSO COMPUTE DIGITAL SIGNATURE
	pinHash bool   // the application answers the PIN hash command 80 C4
	// partialName: SELECT by DF name also finds this DF by a prefix of its
	// name, and P2 02 walks to the next such DF (the PBOC ADFs).
	partialName bool
	pboc        *pbocADF // PBOC 3.0 ADF (pboc.go); nil: not one
	// pkiAdmin is the admin PIN and master key of the PKI ADF and makes
	// its personalisation commands available (pki_cmd.go); nil: none.
	pkiAdmin *pkiAdmin
	// pkiMaster is the master key of the PKI DDF (pki_cmd.go): EXTERNAL
	// AUTHENTICATE 00 82 00 00 and CHANGE MASTER KEY 84 D4 there; nil:
	// none.
	pkiMaster *pkiMasterKey

	// EF only.
	read, write access // conditions for every access to the file
	records     []record
	data        []byte
	// capacity is the size UPDATE BINARY may write up to; writing past
	// len(data) (but within capacity) extends the data, the gap 00. 0:
	// len(data), the file's fixed size.
	capacity int
}

// record is one record of a record EF.
type record struct {
	data []byte // SIMPLE-TLV tag | len | value, as READ RECORD returns it
	read access // on top of the file's read condition
}

// add appends children to a DF and returns it.
func (f *file) add(children ...*file) *file {
	for _, c := range children {
		c.parent = f
		f.children = append(f.children, c)
	}
	return f
}

// application returns the application DF that f belongs to (f itself or its
// nearest application ancestor), or nil outside any application.
func (f *file) application() *file {
	for ; f != nil; f = f.parent {
		if f.typ == typeDF && f.app {
			return f
		}
	}
	return nil
}

// child returns the child with the file identifier, or nil.
func (f *file) child(fid uint16) *file {
	if fid == 0 {
		return nil
	}
	for _, c := range f.children {
		if c.fid == fid {
			return c
		}
	}
	return nil
}

// childSFI returns the EF child with the short file identifier, or nil.
func (f *file) childSFI(sfi byte) *file {
	if sfi == 0 {
		return nil
	}
	for _, c := range f.children {
		if c.typ != typeDF && c.sfi == sfi {
			return c
		}
	}
	return nil
}

// findName returns the DF named name in the tree under f (DF names are unique
// on the card), or nil.
func (f *file) findName(name []byte) *file {
	if f.typ == typeDF && f.name != nil && bytes.Equal(f.name, name) {
		return f
	}
	for _, c := range f.children {
		if found := c.findName(name); found != nil {
			return found
		}
	}
	return nil
}

// walk calls fn for f and every file under it in card order (pre-order,
// children in personalisation order) until fn returns false.
func (f *file) walk(fn func(*file) bool) bool {
	if !fn(f) {
		return false
	}
	for _, c := range f.children {
		if !c.walk(fn) {
			return false
		}
	}
	return true
}

// findPartial returns the first DF after `after` in card order (after nil:
// from the start) that accepts partial selection and whose name starts with
// prefix, or nil.
func (f *file) findPartial(prefix []byte, after *file) *file {
	var found *file
	passed := after == nil
	f.walk(func(g *file) bool {
		if !passed {
			passed = g == after
			return true
		}
		if g.typ == typeDF && g.partialName && bytes.HasPrefix(g.name, prefix) {
			found = g
			return false
		}
		return true
	})
	return found
}

// recordByNumber returns record n (1-based), or nil.
func (f *file) recordByNumber(n byte) *record {
	if n == 0 || int(n) > len(f.records) {
		return nil
	}
	return &f.records[n-1]
}

// recordByID returns the first record whose identifier (the SIMPLE-TLV tag,
// its first byte) is id, or nil.
func (f *file) recordByID(id byte) *record {
	for i := range f.records {
		if r := &f.records[i]; len(r.data) > 0 && r.data[0] == id {
			return r
		}
	}
	return nil
}

// key is an application key the card holds a reference and a try counter
// for; the key material itself is behind sm.CardKeys.
type key struct {
	kid      byte
	use      keyUse
	tries    int // non-volatile: survives reset and power off
	maxTries int // 0: no counter (internal authentication keys)
}

type keyUse uint8

const (
	useExternalAuth keyUse = iota + 1 // EXTERNAL AUTHENTICATE: the host proves knowledge
	useInternalAuth                   // INTERNAL AUTHENTICATE: the card proves knowledge
)

// pinKind is how VERIFY presents a PIN.
type pinKind uint8

const (
	pinPlain pinKind = iota // the PIN in packed BCD (SSSE, sim-profile §4)
	pinPKI                  // SM4_ECB(SM3(PIN BCD)[0:16], challenge) (PKI, ssc-facts §3.5)
)

// pin is an application PIN with its try counter.
type pin struct {
	p1, ref  byte // VERIFY P1 and P2
	kind     pinKind
	value    []byte // packed BCD
	digits   string // the PIN in decimal (pinPKI: the cryptogram key source)
	tries    int    // non-volatile
	maxTries int
	// change and unblock are the conditions of CHANGE REFERENCE DATA and
	// RESET RETRY COUNTER (plain PINs only).
	change, unblock access
}

// access is an access condition: every requirement set must hold. The zero
// value is "always allowed".
type access struct {
	never   bool
	needKey bool // EXTERNAL AUTHENTICATE with kid in this application
	kid     byte
	needPIN bool // application PIN verified
	// needAdmin: the PKI admin PIN verified in this selection.
	needAdmin bool
}

// extAuth is the condition "external authentication with key kid".
func extAuth(kid byte) access { return access{needKey: true, kid: kid} }

// securityState is the volatile security state of the current application:
// which keys have been externally authenticated and whether the PIN is
// verified. Selecting an application (again), leaving it, reset and power
// off clear it.
type securityState struct {
	app  *file
	keys [4]uint64 // bit set of authenticated kids
	pin  bool
	// PKI ADF: admin PIN verified (00 20 01 00) and master key
	// authenticated (00 82 00 00).
	admin, master bool
	// ddfMaster: the master key of the PKI DDF authenticated there;
	// every selection clears it.
	ddfMaster bool
	// env: the session key of an enveloped key import (pki_envelope.go).
	env pkiEnvState
}

func (s *securityState) hasKey(kid byte) bool { return s.keys[kid>>6]&(1<<(kid&63)) != 0 }
func (s *securityState) setKey(kid byte)      { s.keys[kid>>6] |= 1 << (kid & 63) }
func (s *securityState) clearKey(kid byte)    { s.keys[kid>>6] &^= 1 << (kid & 63) }

// allows reports whether the state satisfies the condition.
func (s *securityState) allows(a access) bool {
	switch {
	case a.never:
		return false
	case a.needKey && !s.hasKey(a.kid):
		return false
	case a.needPIN && !s.pin:
		return false
	case a.needAdmin && !s.admin:
		return false
	}
	return true
}
