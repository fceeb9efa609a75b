package ministry

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/sscard/ssc/internal/stack"
	"github.com/sscard/ssc/reader"
	"github.com/sscard/ssc/reader/serial"
	"github.com/sscard/ssc/sim"
	"github.com/sscard/ssc/sscard"
	"github.com/sscard/ssc/sscd"
)

// daemonHealthTimeout bounds the check that sscd answers on its socket.
const daemonHealthTimeout = time.Second

// pinPadTimeout bounds a PIN entry on a keypad (the reader's own entry
// timeout is 30 s).
const pinPadTimeout = 90 * time.Second

// iType values (ssc-facts §2.1).
const (
	ITypeContact            = 1
	ITypeContactless        = 2
	ITypeAutoContactFirst   = 3
	ITypeAutoContactlessFst = 4
)

// Lib is one process's library state: the configuration, the readers or
// the sscd client, a lock per reader, and the pending HSM step. The C
// exports share one Lib (Default); tests make their own.
type Lib struct {
	getenv func(string) string

	initOnce sync.Once
	cfg      Config
	initErr  error
	sys      *reader.System
	hsm      sscard.HSM
	daemon   *sscd.Client

	locksMu sync.Mutex
	locks   map[string]chan struct{}

	pendMu sync.Mutex
	pend   *pending
}

// New returns a library reading its environment with getenv (os.Getenv
// for the real one). Nothing is opened until the first call.
func New(getenv func(string) string) *Lib {
	return &Lib{getenv: getenv, locks: map[string]chan struct{}{}}
}

var (
	defaultOnce sync.Once
	defaultLib  *Lib
)

// Default is the process's library, configured from os.Getenv.
func Default() *Lib {
	defaultOnce.Do(func() { defaultLib = New(os.Getenv) })
	return defaultLib
}

// Config returns the configuration (after the first call loaded it).
func (l *Lib) Config() (Config, error) {
	l.init()
	return l.cfg, l.initErr
}

// UTF8 reports whether strings are UTF-8 (else GBK).
func (l *Lib) UTF8() bool {
	l.init()
	return l.cfg.UTF8
}

func (l *Lib) init() {
	l.initOnce.Do(func() {
		cfg, err := LoadConfig(l.getenv)
		if err != nil {
			l.initErr = err
			return
		}
		l.cfg = cfg
		if l.hsm, err = stack.ParseHSM(cfg.HSM, ""); err != nil {
			l.initErr = err
			return
		}
		if !cfg.Direct && !l.localReader() {
			l.daemon = dialDaemon(cfg.Socket)
		}
		if l.daemon != nil {
			return
		}
		bc := stack.BackendConfig{}
		for _, r := range []string{cfg.Reader, cfg.ReaderContact, cfg.ReaderContactless} {
			switch {
			case r == reader.SimReaderName:
				bc.SimProfile = cfg.SimProfile
				if bc.SimProfile == "" {
					bc.SimProfile = sim.DefaultProfile
				}
				if bc.SimMode, err = stack.ParseSimMode(cfg.SimMode); err != nil {
					l.initErr = err
					return
				}
			case strings.HasPrefix(r, serial.Prefix):
				bc.Serial = append(bc.Serial, r)
			}
		}
		bs, err := stack.Backends(bc)
		if err != nil {
			l.initErr = err
			return
		}
		l.sys = reader.Open(bs...)
	})
}

// localReader: the configuration names a reader only this process has (the
// in-process software card, a serial port), so sscd is not asked.
func (l *Lib) localReader() bool {
	for _, r := range []string{l.cfg.Reader, l.cfg.ReaderContact, l.cfg.ReaderContactless} {
		if r == reader.SimReaderName || strings.HasPrefix(r, serial.Prefix) {
			return true
		}
	}
	return false
}

// dialDaemon returns a client when sscd answers on socket (the sscctl
// rule, cmd/sscctl/daemon.go), else nil: the readers are used directly.
func dialDaemon(socket string) *sscd.Client {
	st, err := os.Stat(socket)
	if err != nil || st.Mode().Type() != fs.ModeSocket {
		return nil
	}
	c := sscd.Dial(socket)
	ctx, cancel := context.WithTimeout(context.Background(), daemonHealthTimeout)
	defer cancel()
	if _, err := c.Health(ctx); err != nil {
		c.Close()
		return nil
	}
	return c
}

// ViaDaemon reports whether calls go through sscd.
func (l *Lib) ViaDaemon() bool {
	l.init()
	return l.daemon != nil
}

// noIType is start's argument for functions without an iType.
const noIType = -1 << 31

// start checks the configuration and iType (noIType: none to check).
func (l *Lib) start(iType int) (Result, bool) {
	l.init()
	if l.initErr != nil {
		return fail(ErrConfig, configDetail(l.initErr)), false
	}
	if iType != noIType && (iType < ITypeContact || iType > ITypeAutoContactlessFst) {
		return fail(ErrIType, ""), false
	}
	return Result{}, true
}

// configDetail names the bad setting without echoing values that could be
// secrets (the initial PIN): the first clause of the error.
func configDetail(err error) string {
	s := err.Error()
	s = strings.TrimPrefix(s, ErrConfigFile.Error()+": ")
	if i := strings.IndexAny(s, "\"'"); i > 0 {
		s = strings.TrimSpace(s[:i])
	}
	return s
}

// candidates are the reader patterns of iType in search order ("" = the
// reader.Pick default rule).
func (l *Lib) candidates(iType int) []string {
	contact, cl := l.cfg.ReaderContact, l.cfg.ReaderContactless
	if contact == "" {
		contact = l.cfg.Reader
	}
	if cl == "" {
		cl = l.cfg.Reader
	}
	contact, cl = readerPattern(contact), readerPattern(cl)
	var out []string
	switch iType {
	case ITypeContact:
		out = []string{contact}
	case ITypeContactless:
		out = []string{cl}
	case ITypeAutoContactFirst:
		out = []string{contact, cl}
	default:
		out = []string{cl, contact}
	}
	if out[0] == out[len(out)-1] {
		out = out[:1]
	}
	return out
}

// listReaders lists the readers of the backends or of the daemon.
func (l *Lib) listReaders(ctx context.Context) ([]reader.Info, error) {
	if l.daemon != nil {
		rs, err := l.daemon.Readers(ctx)
		if err != nil {
			return nil, err
		}
		infos := make([]reader.Info, len(rs))
		for i, r := range rs {
			infos[i] = reader.Info{Name: r.Name, Backend: r.Backend, CardPresent: r.CardPresent}
		}
		return infos, nil
	}
	return l.sys.ListReaders(ctx)
}

// readerFor maps iType onto the configured readers: the exact name of the
// reader to use. With two readers (iType 3, 4) the first holding a card.
func (l *Lib) readerFor(ctx context.Context, iType int) (string, error) {
	infos, err := l.listReaders(ctx)
	if err != nil {
		return "", err
	}
	cands := l.candidates(iType)
	var firstErr error
	for _, p := range cands {
		i, err := reader.Pick(infos, p)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		if len(cands) > 1 && !infos[i].CardPresent {
			if firstErr == nil {
				firstErr = &reader.Error{Op: "find reader", Reader: infos[i].Name, Err: reader.ErrNoCard}
			}
			continue
		}
		return infos[i].Name, nil
	}
	return "", firstErr
}

// lock takes the reader's lock, waiting at most until ctx ends.
func (l *Lib) lock(ctx context.Context, name string) (unlock func(), err error) {
	l.locksMu.Lock()
	ch, ok := l.locks[name]
	if !ok {
		ch = make(chan struct{}, 1)
		l.locks[name] = ch
	}
	l.locksMu.Unlock()
	select {
	case ch <- struct{}{}:
		var once sync.Once
		return func() { once.Do(func() { <-ch }) }, nil
	case <-ctx.Done():
		return nil, sscard.ErrBusy
	}
}

// conn is one card operation's hold on a reader: its lock, the exclusive
// connection and the SSSE session.
type conn struct {
	name   string
	card   reader.Card
	sess   *sscard.Session
	unlock func()
	reset  bool // the operation raised the card's security state
}

// open finds the reader of iType, takes its lock and opens the card.
func (l *Lib) open(ctx context.Context, iType int) (*conn, error) {
	name, err := l.readerFor(ctx, iType)
	if err != nil {
		return nil, err
	}
	unlock, err := l.lock(ctx, name)
	if err != nil {
		return nil, err
	}
	card, err := l.sys.Connect(ctx, name, reader.ConnectOptions{Mode: reader.Exclusive})
	if err != nil {
		unlock()
		return nil, err
	}
	sess, err := sscard.Open(ctx, card, sscard.Options{})
	if err != nil {
		card.Close()
		unlock()
		return nil, err
	}
	return &conn{name: name, card: card, sess: sess, unlock: unlock}, nil
}

// close ends the operation; reset resets the card first, so a verified PIN
// or an authentication does not outlive the call (as sscd does).
func (c *conn) close(reset bool) {
	c.sess.Close()
	if reset || c.reset {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_ = c.card.Reset(ctx, false)
		cancel()
	}
	c.card.Close()
	c.unlock()
}

// withCard runs f on the card of iType within the operation timeout.
func (l *Lib) withCard(iType int, timeout time.Duration, reset bool, f func(ctx context.Context, c *conn) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	c, err := l.open(ctx, iType)
	if err != nil {
		return err
	}
	defer c.close(reset)
	return f(ctx, c)
}

// daemonReader is the sscd reader of iType.
func (l *Lib) daemonReader(ctx context.Context, iType int) (string, error) {
	return l.readerFor(ctx, iType)
}

func (l *Lib) term() sscard.TerminalInfo {
	return sscard.TerminalInfo{TerminalNo: l.cfg.TerminalNo, DeviceNo: l.cfg.DeviceNo}
}

// checkCardInfo checks pCardInfo against the card. SIM choice: pCardInfo
// is empty (any card), the 32-hex-digit 卡识别码, or an iReadCardBas
// string of the card; another card gives ErrWrongCard.
func parseCardInfo(s string) ([]byte, error) {
	if s == "" {
		return nil, nil
	}
	if len(s) > MaxCardInfoIn {
		return nil, errArg
	}
	if strings.Contains(s, "|") {
		info, _, err := sscard.ParseReadCardBas(s)
		if err != nil {
			return nil, errArg
		}
		return info.CardID, nil
	}
	if len(s) != 32 {
		return nil, errArg
	}
	b := make([]byte, 16)
	for i := 0; i < 16; i++ {
		hi, ok1 := unhex(s[2*i])
		lo, ok2 := unhex(s[2*i+1])
		if !ok1 || !ok2 {
			return nil, errArg
		}
		b[i] = hi<<4 | lo
	}
	return b, nil
}

// errArg: a malformed input argument (ErrArgFormat).
var errArg = errors.New("ministry: malformed argument")

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// errWrongCard: pCardInfo names another card.
var errWrongCard = errors.New("ministry: another card is in the reader")

// checkCard compares the card's 卡识别码 with want (nil = any card).
func checkCard(ctx context.Context, s *sscard.Session, want []byte) error {
	if want == nil {
		return nil
	}
	info, err := s.Read(ctx, sscard.ReadOptions{Fields: sscard.FieldCardID})
	if err != nil {
		return err
	}
	if string(info.CardID) != string(want) {
		return errWrongCard
	}
	return nil
}

// readerPattern is the reader name a configured reader has: a serial spec
// "serial:PATH[:TYPE]" names the reader "serial:PATH" (the sscctl rule).
func readerPattern(r string) string {
	if strings.HasPrefix(r, serial.Prefix) {
		if c, err := serial.ParseSpec(r); err == nil {
			return serial.Prefix + c.Path
		}
	}
	return r
}
