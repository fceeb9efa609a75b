package daemon

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/sscard/ssc/internal/stack"
	"github.com/sscard/ssc/link"
	"github.com/sscard/ssc/pboc"
	"github.com/sscard/ssc/sim"
	"github.com/sscard/ssc/sm"
	"github.com/sscard/ssc/sscd"
)

// Defaults of Config.
const (
	DefaultOpTimeout         = 10 * time.Second
	DefaultHSMSessionTimeout = 30 * time.Second
	DefaultShutdownTimeout   = 10 * time.Second
)

// Config is the daemon configuration (the YAML file of cmd/sscd; flags
// override it).
type Config struct {
	// Socket is the Unix socket path (sscd.DefaultSocket when empty).
	Socket string `yaml:"socket"`
	// Group, when set, owns the socket (name or numeric gid); members may
	// connect (mode 0660).
	Group string `yaml:"group"`
	// AllowUIDs and AllowGIDs, when either is set, restrict the peers:
	// a connection whose uid is in AllowUIDs or whose gid is in AllowGIDs is
	// served, others get forbidden.
	AllowUIDs []uint32 `yaml:"allow_uids"`
	AllowGIDs []uint32 `yaml:"allow_gids"`
	// Serial readers as "PATH[:TYPE]" (serial.ParseSpec).
	Serial []string `yaml:"serial"`
	// Sim, when set, adds the software card reader "sim" holding this
	// profile (a built-in name such as "gen3", or a profile file).
	Sim string `yaml:"sim"`
	// HSM is "sim" (the SIM software HSM, for tests), an http(s) URL
	// (keysystem.HTTP) or empty or "none" (3rd-gen protected fields give
	// needs_hsm); internal/stack.ParseHSM reads it, as sscctl's --hsm.
	HSM string `yaml:"hsm"`
	// HSMWriteURL, with an http(s) HSM, is where the write-key requests of
	// issuance go (keysystem.HTTP.WriteURL); empty: the HSM URL.
	HSMWriteURL string `yaml:"hsm_write_url"`
	// TerminalNo and DeviceNo end the iReadCardBas string.
	TerminalNo string `yaml:"terminal_no"`
	DeviceNo   string `yaml:"device_no"`
	// OpTimeout bounds one card operation, waiting in the reader's queue
	// included.
	OpTimeout Duration `yaml:"op_timeout"`
	// HSMSessionTimeout bounds the time between HSM step 1 and step 2.
	HSMSessionTimeout Duration `yaml:"hsm_session_timeout"`
	// IncludeReaders, when set, limits the daemon to the readers whose name
	// contains one of these (case-insensitive); IgnoreReaders hides readers
	// whose name contains one of these. Hidden readers are never touched.
	IncludeReaders []string `yaml:"include_readers"`
	IgnoreReaders  []string `yaml:"ignore_readers"`
	// Audit is the audit log (JSON lines); empty means none.
	Audit AuditConfig `yaml:"audit"`
	// Admin configures the administrators' endpoints.
	Admin AdminConfig `yaml:"admin"`
	// PBOCCAKeys is the payment-system CA key table used to authenticate
	// the bank application (ODA) during level-2 linking: "sim" for the
	// SIM test CA, a file as sscctl pboc --ca reads, or empty (no ODA).
	PBOCCAKeys string `yaml:"pboc_ca_keys"`
	// AIDs is the terminal AID list file (pboc.LoadAIDList, docs/pboc.md)
	// of every PBOC application selection the daemon makes (level-2
	// linking); empty: pboc.DefaultAIDs.
	AIDs string `yaml:"aids"`
	// NoInfoCache makes every basic-info request read the card. By default
	// the information read from a card is kept until that card leaves the
	// reader, and answers later requests for the same insertion.
	NoInfoCache bool `yaml:"no_info_cache"`
	// IssueJournal, when set, is the file every issuance appends its steps
	// to (sscard.FileJournal: no secrets, no personal data).
	IssueJournal string `yaml:"issue_journal"`
	// PKICA is the certificate authority that issues the certificates and
	// the enveloped encryption key pair of PKI personalisation: "sim" (the
	// SIM test CA), an http(s) URL (keysystem.HTTPCA, SIM JSON protocol), or
	// empty (the endpoint answers disabled unless the request carries a
	// delivery).
	PKICA string `yaml:"pki_ca"`
	// PINLimit bounds the wrong PIN attempts per card insertion, across
	// all callers (pinlimit.go).
	PINLimit PINLimitConfig `yaml:"pin_rate_limit"`
	// Limits caps connections and event streams and bounds reading and
	// writing (limits.go).
	Limits LimitsConfig `yaml:"limits"`
	// Bridge is the loopback HTTP listener for web pages (off when Port
	// is 0).
	Bridge BridgeConfig `yaml:"bridge"`
	// LogFormat is the format of the daemon's log on stderr: "text"
	// (default) or "json"; cmd/sscd builds Logger from it.
	LogFormat string `yaml:"log_format"`
	// LogLevel is the least level logged: debug, info (default), warn or
	// error.
	LogLevel string `yaml:"log_level"`
	// Logger receives the daemon's log records and the HTTP servers'
	// errors (slog.Default() when nil); not part of the file.
	Logger *slog.Logger `yaml:"-"`
}

// AuditConfig places and rotates the audit log.
type AuditConfig struct {
	// Path of the log file; its directory must exist.
	Path string `yaml:"path"`
	// KeyFile holds the key of the card hashes (created, 0600, when
	// missing); default: next to the log, audit.log → audit.key. Keep it
	// out of log rotation: a new key makes the hashes of the same card
	// differ across files.
	KeyFile string `yaml:"key_file"`
	// MaxSize rotates the file when it would grow past this many bytes
	// (default 10 MiB); Keep rotated files are kept (default 5).
	MaxSize int64 `yaml:"max_size"`
	Keep    int   `yaml:"keep"`
}

// BridgeConfig configures the browser bridge: a loopback HTTP listener
// that web pages of the allowed origins (and no others) may call.
type BridgeConfig struct {
	// Port on 127.0.0.1 and [::1]; 0 turns the bridge off.
	Port int `yaml:"port"`
	// Origins are the web origins allowed to use the bridge, exactly as
	// browsers send them (scheme://host[:port], no default port). https
	// only, except http://localhost, http://127.0.0.1 and http://[::1]
	// origins when AllowHTTPLocalhost is set (development).
	Origins []string `yaml:"origins"`
	// AllowHTTPLocalhost permits http:// loopback origins in Origins.
	AllowHTTPLocalhost bool `yaml:"allow_http_localhost"`
	// IssueOrigins are the origins (each also in Origins) whose pages may
	// run the write session of counter issuance through the bridge
	// (docs/browser.md); empty: none may.
	IssueOrigins []string `yaml:"issue_origins"`
	// PINOrigins are the origins (each also in Origins) whose pages may
	// present a PIN through the bridge (link, with the PKI PIN); empty:
	// none may. The Origin header keeps other web pages out, but any local
	// process can send one: an origin listed here lets every local process
	// spend PIN tries (within the last-try guard and pin_rate_limit).
	PINOrigins []string `yaml:"pin_origins"`
}

// AdminConfig enables the administrators' endpoints.
type AdminConfig struct {
	// APDU enables raw APDU passthrough (POST /v1/readers/{r}/apdu).
	APDU bool `yaml:"apdu"`
	// UIDs and GIDs are the administrators (peer uid, or primary gid);
	// uid 0 is one when both are empty.
	UIDs []uint32 `yaml:"uids"`
	GIDs []uint32 `yaml:"gids"`
}

// visible applies IncludeReaders and IgnoreReaders to a reader name.
func (c Config) visible(name string) bool {
	l := strings.ToLower(name)
	has := func(list []string) bool {
		for _, p := range list {
			if p != "" && strings.Contains(l, strings.ToLower(p)) {
				return true
			}
		}
		return false
	}
	if len(c.IncludeReaders) > 0 && !has(c.IncludeReaders) {
		return false
	}
	return !has(c.IgnoreReaders)
}

// restartOnly lists the settings of next that differ from c and only take
// effect at a restart (the socket, the backends).
func (c Config) restartOnly(next Config) []string {
	var out []string
	if c.Socket != next.Socket {
		out = append(out, "socket")
	}
	if c.Group != next.Group {
		out = append(out, "group")
	}
	if !slices.Equal(c.Serial, next.Serial) {
		out = append(out, "serial")
	}
	if c.Sim != next.Sim {
		out = append(out, "sim")
	}
	if c.Bridge.Port != next.Bridge.Port {
		out = append(out, "bridge.port")
	}
	if c.LogFormat != next.LogFormat {
		out = append(out, "log_format") // the handler is made once, at the start
	}
	return out
}

// Duration is a time.Duration written as "10s" in YAML.
type Duration time.Duration

// UnmarshalYAML implements yaml.Unmarshaler.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*d = Duration(v)
	return nil
}

// LoadConfig reads a YAML configuration file; unknown keys are errors, so a
// typo does not silently leave a setting at its default.
func LoadConfig(path string) (Config, error) {
	var c Config
	data, err := os.ReadFile(path)
	if err != nil {
		return c, fmt.Errorf("config: %w", err)
	}
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return c, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// WithDefaults fills the unset fields.
func (c Config) WithDefaults() Config {
	if c.Socket == "" {
		c.Socket = sscd.DefaultSocket
	}
	if c.OpTimeout <= 0 {
		c.OpTimeout = Duration(DefaultOpTimeout)
	}
	if c.HSMSessionTimeout <= 0 {
		c.HSMSessionTimeout = Duration(DefaultHSMSessionTimeout)
	}
	return c
}

// Validate checks the settings that do not need the system (the group is
// looked up when listening).
func (c Config) Validate() error {
	var errs []error
	if _, err := stack.SerialConfigs(c.Serial); err != nil {
		errs = append(errs, err)
	}
	if _, err := stack.ParseHSM(c.HSM, c.HSMWriteURL); errors.Is(err, stack.ErrWriteURL) {
		errs = append(errs, fmt.Errorf("hsm_write_url: %w", err))
	} else if err != nil {
		errs = append(errs, fmt.Errorf("hsm %w", err))
	}
	if c.Sim != "" {
		if _, err := stack.SimCard(c.Sim, sim.Contact); err != nil {
			errs = append(errs, fmt.Errorf("sim: %w", err))
		}
	}
	if err := c.checkPKICA(); err != nil {
		errs = append(errs, err)
	}
	if c.PINLimit.Attempts < 0 || c.PINLimit.Window < 0 {
		errs = append(errs, errors.New("pin_rate_limit: attempts and window must not be negative (0: the default)"))
	}
	if c.Audit.MaxSize < 0 || c.Audit.Keep < 0 {
		errs = append(errs, errors.New("audit: max_size and keep must not be negative"))
	}
	if c.Audit.Path == "" && c.Audit.KeyFile != "" {
		errs = append(errs, errors.New("audit: key_file without path"))
	}
	if c.PBOCCAKeys != "" {
		if _, err := loadCAKeys(c.PBOCCAKeys); err != nil {
			errs = append(errs, fmt.Errorf("pboc_ca_keys: %w", err))
		}
	}
	if c.AIDs != "" {
		if _, err := pboc.LoadAIDList(c.AIDs); err != nil {
			errs = append(errs, fmt.Errorf("aids: %w", err))
		}
	}
	if _, err := NewLogger(io.Discard, c.LogFormat, nil); err != nil {
		errs = append(errs, err)
	}
	if _, err := ParseLogLevel(c.LogLevel); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, c.Bridge.validate()...)
	errs = append(errs, c.Limits.validate()...)
	return errors.Join(errs...)
}

// validate checks the bridge's port, origins and issuing origins.
func (b BridgeConfig) validate() []error {
	var errs []error
	if b.Port < 0 || b.Port > 65535 {
		errs = append(errs, fmt.Errorf("bridge.port %d: want 1 to 65535 (0: off)", b.Port))
	}
	if b.Port != 0 && len(b.Origins) == 0 {
		errs = append(errs, errors.New("bridge.origins is empty: no page could use it"))
	}
	seen := map[string]bool{}
	for _, o := range b.Origins {
		if seen[o] {
			errs = append(errs, fmt.Errorf("bridge.origins: %q listed twice", o))
			continue
		}
		seen[o] = true
		if err := link.CheckOrigin(o); err != nil {
			errs = append(errs, fmt.Errorf("bridge.origins: %w (want scheme://host[:port] as browsers send it)", err))
			continue
		}
		if strings.HasPrefix(o, "https://") {
			continue
		}
		if !isLoopbackHTTPOrigin(o) {
			errs = append(errs, fmt.Errorf("bridge.origins: %q: want https://", o))
		} else if !b.AllowHTTPLocalhost {
			errs = append(errs, fmt.Errorf("bridge.origins: %q: http:// loopback origins need bridge.allow_http_localhost (development only)", o))
		}
	}
	seenPIN := map[string]bool{}
	for _, o := range b.PINOrigins {
		switch {
		case seenPIN[o]:
			errs = append(errs, fmt.Errorf("bridge.pin_origins: %q listed twice", o))
		case !seen[o]:
			errs = append(errs, fmt.Errorf("bridge.pin_origins: %q is not in bridge.origins (an origin that may present PINs must also be allowed on the bridge)", o))
		}
		seenPIN[o] = true
	}
	seenIssue := map[string]bool{}
	for _, o := range b.IssueOrigins {
		switch {
		case seenIssue[o]:
			errs = append(errs, fmt.Errorf("bridge.issue_origins: %q listed twice", o))
		case !seen[o]:
			errs = append(errs, fmt.Errorf("bridge.issue_origins: %q is not in bridge.origins (an issuing origin must also be allowed on the bridge)", o))
		}
		seenIssue[o] = true
	}
	return errs
}

// isLoopbackHTTPOrigin: http://localhost, http://127.0.0.1 or http://[::1],
// with or without a port (the origin passed link.CheckOrigin).
func isLoopbackHTTPOrigin(o string) bool {
	rest, ok := strings.CutPrefix(o, "http://")
	if !ok {
		return false
	}
	for _, h := range []string{"localhost", "127.0.0.1", "[::1]"} {
		if after, ok := strings.CutPrefix(rest, h); ok && (after == "" || after[0] == ':') {
			return true
		}
	}
	return false
}

// loadCAKeys reads Config.PBOCCAKeys.
func loadCAKeys(spec string) (*sm.CAKeyTable, error) { return stack.CAKeys(spec) }
