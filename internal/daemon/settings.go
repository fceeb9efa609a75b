package daemon

import (
	"fmt"
	"time"

	"github.com/sscard/ssc/internal/stack"
	"github.com/sscard/ssc/pboc"
	"github.com/sscard/ssc/sm"
	"github.com/sscard/ssc/sscard"
	"github.com/sscard/ssc/sscd"
)

// settings is what a configuration (re)load produces; handlers read the
// current one once per request, so a reload never changes a request
// half-way.
type settings struct {
	cfg    Config
	hsm    sscard.HSM        // nil: none configured
	ca     sscard.CertIssuer // pki_ca; nil: none configured
	term   sscard.TerminalInfo
	caKeys *sm.CAKeyTable // nil: no ODA during level-2 linking
	// aids is the terminal AID list of every PBOC selection (nil:
	// pboc.DefaultAIDs); never modified once loaded, so requests share it.
	aids []pboc.TerminalAID
}

func newSettings(cfg Config) (*settings, error) {
	s := &settings{cfg: cfg, term: sscard.TerminalInfo{TerminalNo: cfg.TerminalNo, DeviceNo: cfg.DeviceNo}}
	var err error
	if s.hsm, err = stack.ParseHSM(cfg.HSM, cfg.HSMWriteURL); err != nil {
		return nil, fmt.Errorf("hsm: %w", err)
	}
	if s.ca, err = stack.ParseCA(cfg.PKICA); err != nil {
		return nil, fmt.Errorf("pki_ca: %w", err)
	}
	if cfg.PBOCCAKeys != "" {
		t, err := loadCAKeys(cfg.PBOCCAKeys)
		if err != nil {
			return nil, fmt.Errorf("pboc_ca_keys: %w", err)
		}
		s.caKeys = t
	}
	if cfg.AIDs != "" {
		l, err := pboc.LoadAIDList(cfg.AIDs)
		if err != nil {
			return nil, fmt.Errorf("aids: %w", err)
		}
		s.aids = l
	}
	return s, nil
}

// conf returns the current settings.
func (d *Daemon) conf() *settings { return d.set.Load() }

func (d *Daemon) opTimeout() time.Duration { return time.Duration(d.conf().cfg.OpTimeout) }

// Reload applies a new configuration to the running daemon: allowlists,
// reader filters, timeouts, HSM, terminal numbers, audit log, admin
// endpoints, CA keys, the terminal AID list and the bridge's origins change at once (requests already running finish
// with the old ones). The socket, its group and the reader backends (serial,
// sim) and the bridge's port only change at a restart: they are kept, and named in the returned
// list. On error nothing changes.
func (d *Daemon) Reload(cfg Config) (restart []string, err error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	old := d.conf().cfg
	restart = old.restartOnly(cfg)
	cfg.Socket, cfg.Group, cfg.Serial, cfg.Sim = old.Socket, old.Group, old.Serial, old.Sim
	cfg.Bridge.Port = old.Bridge.Port // the bridge's listeners stay
	cfg.LogFormat = old.LogFormat     // the logger stays
	s, err := newSettings(cfg)
	if err != nil {
		return nil, err
	}
	if err := d.reloadAudit(old.Audit, cfg.Audit); err != nil {
		return nil, err
	}
	d.set.Store(s)
	d.state.setFilter(cfg.visible)
	d.cache.setEnabled(!cfg.NoInfoCache)
	return restart, nil
}

// issueJournal opens the issuance journal of the configuration (issue and
// PKI personalisation steps); without one, j is nil and close does
// nothing. Each operation opens it afresh, so a reload takes effect at once.
func (s *settings) issueJournal() (j sscard.Journal, close func(), err error) {
	j, close, err = stack.OpenJournal(s.cfg.IssueJournal)
	if err != nil {
		return nil, nil, sscd.Errorf(sscd.CodeInternal, "%v", err)
	}
	return j, close, nil
}

// pbocOptions are the terminal settings of every PBOC session the daemon
// opens (the configured AID list and CA keys).
func (s *settings) pbocOptions() pboc.Options {
	return pboc.Options{CAKeys: s.caKeys, AIDs: s.aids}
}

// writeOptions are the daemon's key systems (read key and write key) for
// an operation in one call — issuance, update, PIN reset — with the
// issuance journal when journal is set; needs_hsm when the key system
// cannot authorize writes. close releases the journal.
func (s *settings) writeOptions(what string, journal bool) (opts sscard.IssueOptions, close func(), err error) {
	wk, err := stack.WriteKey(s.hsm)
	if err != nil {
		return opts, nil, sscd.Errorf(sscd.CodeNeedsHSM, "%s needs a key system that authorizes writes (hsm: sim for software cards)", what)
	}
	opts = sscard.IssueOptions{HSM: s.hsm, WriteKey: wk}
	close = func() {}
	if journal {
		if opts.Journal, close, err = s.issueJournal(); err != nil {
			return opts, nil, err
		}
	}
	return opts, close, nil
}
