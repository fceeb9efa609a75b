package daemon

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/sscard/ssc/reader"
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
	// Serial readers as "PATH[:TYPE]" (reader.ParseSerialSpec).
	Serial []string `yaml:"serial"`
	// Sim, when set, adds the software card reader "sim" holding this
	// profile (a built-in name such as "gen3", or a profile file).
	Sim string `yaml:"sim"`
	// HSM is "sim" (the SIM software HSM, for tests), an http(s) URL
	// (sscard.HTTPHSM) or empty (3rd-gen protected fields give needs_hsm).
	HSM string `yaml:"hsm"`
	// TerminalNo and DeviceNo end the iReadCardBas string.
	TerminalNo string `yaml:"terminal_no"`
	DeviceNo   string `yaml:"device_no"`
	// OpTimeout bounds one card operation, waiting in the reader's queue
	// included.
	OpTimeout Duration `yaml:"op_timeout"`
	// HSMSessionTimeout bounds the time between HSM step 1 and step 2.
	HSMSessionTimeout Duration `yaml:"hsm_session_timeout"`
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
	for _, s := range c.Serial {
		if _, err := reader.ParseSerialSpec(s); err != nil {
			errs = append(errs, fmt.Errorf("serial %q: %w", s, err))
		}
	}
	if _, err := c.hsm(); err != nil {
		errs = append(errs, err)
	}
	if c.Sim != "" {
		if _, err := loadSimCard(c.Sim); err != nil {
			errs = append(errs, fmt.Errorf("sim: %w", err))
		}
	}
	return errors.Join(errs...)
}

// hsmKind classifies Config.HSM.
func (c Config) hsm() (string, error) {
	switch {
	case c.HSM == "":
		return "", nil
	case c.HSM == "sim":
		return "sim", nil
	}
	u, err := url.Parse(c.HSM)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("hsm %q: want \"sim\" or an http(s) URL", c.HSM)
	}
	return "http", nil
}
