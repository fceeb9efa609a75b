package sim

import (
	"errors"
	"fmt"
	"sync"

	"github.com/sscard/ssc/apdu"
	"github.com/sscard/ssc/sm"
	"github.com/sscard/ssc/sm/simkeys"
)

// Mode is the interface the card is used through.
type Mode int

const (
	Contact     Mode = iota // ISO 7816-3 T=0
	Contactless             // ISO 14443-4 Type B behind a PC/SC reader
)

func (m Mode) String() string {
	switch m {
	case Contact:
		return "contact"
	case Contactless:
		return "contactless"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// Options configure a Card.
type Options struct {
	Mode Mode
	// Keys computes the SSSE authentication cryptograms. nil means the SIM
	// keys of sim-profile §1 derived from the profile's card id
	// (simkeys.CardKeys); set it to plug in another key source.
	Keys sm.CardKeys
}

// Card is a simulated social security card. It is safe for concurrent use;
// commands are processed one at a time, as on a real card.
type Card struct {
	mu      sync.Mutex
	mode    Mode
	profile *Profile // defaulted copy
	atr     []byte
	uid     []byte // contactless PUPI
	keys    sm.CardKeys
	mf      *file
	// extended: extended-length APDUs are accepted (profile
	// extended_length); otherwise they answer 6700.
	extended bool

	// Volatile state, cleared by reset and power off.
	powered   bool
	curDF     *file
	curEF     *file
	sec       securityState
	challenge [16]byte
	chalLen   int    // 0: no challenge
	pending   []byte // T=0 GET RESPONSE data still to fetch
	pendingSW apdu.StatusWord
	pendBuf   [512]byte
	pbocSel   pbocSelection // state of the current PBOC ADF selection
}

var _ Chip = (*Card)(nil)

// New validates the profile and returns a card personalised with it,
// powered on and reset (as if just inserted into a reader).
func New(p *Profile, opts Options) (*Card, error) {
	if p == nil {
		return nil, errors.New("sim: nil profile")
	}
	if opts.Mode != Contact && opts.Mode != Contactless {
		return nil, fmt.Errorf("sim: unknown mode %v", opts.Mode)
	}
	p = p.withDefaults()
	pers, err := p.compile()
	if err != nil {
		return nil, err
	}
	c := &Card{mode: opts.Mode, profile: p, keys: opts.Keys, extended: pers.extended}
	switch opts.Mode {
	case Contact:
		c.atr = contactATR(pers.hist)
	case Contactless:
		if pers.cl == nil {
			return nil, fmt.Errorf("sim: profile %q has no contactless interface (contact-only card)", p.Name)
		}
		c.atr = contactlessATR(pers.cl)
		c.uid = pers.cl.uid
	}
	if c.keys == nil {
		c.keys = simkeys.CardKeys{CardID: pers.cardID}
	}
	c.mf = personalise(pers)
	c.powered = true
	c.resetLocked()
	return c, nil
}

// Mode returns the interface the card is used through.
func (c *Card) Mode() Mode { return c.mode }

// Contactless reports whether the card is used contactless; in-process
// readers (reader.ChipBackend) then speak T=1 to it, as a PC/SC reader does.
func (c *Card) Contactless() bool { return c.mode == Contactless }

// Profile returns a copy of the card's profile, with defaults filled in: the
// personalisation, not what UPDATE RECORD has written since.
func (c *Card) Profile() *Profile {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.profile.clone()
}

// ATR returns the answer to reset: contact 3B 6D 00 00 + 13 historical
// bytes; contactless the PC/SC part 3 ATR of an ISO 14443-4 Type B card.
func (c *Card) ATR() []byte {
	return append([]byte(nil), c.atr...)
}

// PowerOn activates the card (a cold reset).
func (c *Card) PowerOn() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.powered = true
	c.resetLocked()
}

// PowerOff deactivates the card; volatile state is lost. Transmit answers
// 6F00 until the next PowerOn or Reset.
func (c *Card) PowerOff() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.powered = false
	c.resetLocked()
}

// Reset is a warm reset (it also activates an unpowered card): the current
// file goes back to the MF and the security state, the challenge and
// pending GET RESPONSE data are cleared. Try counters are non-volatile.
func (c *Card) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.powered = true
	c.resetLocked()
}

func (c *Card) resetLocked() {
	c.curDF, c.curEF = c.mf, nil
	c.sec = securityState{}
	c.pbocSel = pbocSelection{}
	c.clearChallenge()
	c.pending = nil
}

func (c *Card) clearChallenge() {
	c.challenge = [16]byte{}
	c.chalLen = 0
}

// Transmit processes one command APDU and returns the response APDU, at
// least the two status bytes. Malformed APDUs get 6700.
func (c *Card) Transmit(cmd []byte) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.powered {
		return sw(apdu.SWNoPreciseDiagnosis)
	}
	if c.mode == Contactless {
		if resp, ok := c.readerCommand(cmd); ok {
			return resp
		}
	}
	command, err := apdu.ParseCommand(cmd)
	if err != nil {
		c.pending = nil
		return sw(apdu.SWWrongLength)
	}
	if command.CLA == 0x00 && command.INS == insGetResponse {
		return c.getResponse(command)
	}
	c.pending = nil
	data, status := c.execute(command)
	return c.respond(command, data, status)
}

// sw encodes a bare status word.
func sw(s apdu.StatusWord) []byte { return []byte{s.SW1(), s.SW2()} }

// withSW returns a new slice data || status.
func withSW(data []byte, s apdu.StatusWord) []byte {
	out := make([]byte, 0, len(data)+2)
	out = append(out, data...)
	return append(out, s.SW1(), s.SW2())
}
