package ministry

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/sscard/ssc/sscd"
)

// DefaultConfigFile is read when SSC_CONFIG is not set; a missing file is
// fine (the defaults and the environment apply).
const DefaultConfigFile = "/etc/sscard/libsscard.conf"

// Defaults.
const (
	DefaultHSMTimeout = 60 * time.Second
	DefaultOpTimeout  = 30 * time.Second
	// DefaultInitialPIN is the PIN iReloadPIN/iUnblockPIN set (SIM: the
	// software card's default PIN, sim-profile §4).
	DefaultInitialPIN = "123456"
)

// Config is the library's configuration. The environment overrides the
// file; keys and variables are listed in docs/c-api.md.
type Config struct {
	Reader            string // SSC_READER / reader: one reader for every iType ("sim", "serial:PATH[:TYPE]", a name or substring)
	ReaderContact     string // SSC_READER_CONTACT / reader_contact: the reader of iType 1
	ReaderContactless string // SSC_READER_CONTACTLESS / reader_contactless: the reader of iType 2
	HSM               string // SSC_HSM / hsm: "", "sim" or an http(s) URL
	TerminalNo        string // SSC_TERMINAL_NO / terminal_no: 终端机编号
	DeviceNo          string // SSC_DEVICE_NO / device_no: 终端设备号
	Socket            string // SSC_SOCKET / socket: sscd's socket
	Direct            bool   // SSC_DIRECT / direct: never use sscd
	UTF8              bool   // SSC_CHARSET / charset: "gbk" (default) or "utf-8"
	HSMTimeout        time.Duration
	OpTimeout         time.Duration
	AllowWrite        bool   // SSC_ALLOW_WRITE / allow_write
	InitialPIN        string // initial_pin (file only: a PIN does not belong in the environment)
	SimProfile        string // SSC_SIM_PROFILE / sim_profile: the software card of SSC_READER=sim
	SimMode           string // SSC_SIM_MODE / sim_mode: contact or contactless
	File              string // the file that was read ("" when none)
}

// keys maps file keys to environment variables ("" = file only).
var keys = map[string]string{
	"reader":             "SSC_READER",
	"reader_contact":     "SSC_READER_CONTACT",
	"reader_contactless": "SSC_READER_CONTACTLESS",
	"hsm":                "SSC_HSM",
	"terminal_no":        "SSC_TERMINAL_NO",
	"device_no":          "SSC_DEVICE_NO",
	"socket":             "SSC_SOCKET",
	"direct":             "SSC_DIRECT",
	"charset":            "SSC_CHARSET",
	"hsm_timeout":        "SSC_HSM_TIMEOUT",
	"op_timeout":         "SSC_OP_TIMEOUT",
	"allow_write":        "SSC_ALLOW_WRITE",
	"initial_pin":        "",
	"sim_profile":        "SSC_SIM_PROFILE",
	"sim_mode":           "SSC_SIM_MODE",
}

// ErrConfigFile marks a configuration that cannot be used.
var ErrConfigFile = errors.New("libsscard configuration")

// LoadConfig reads the file (SSC_CONFIG, else DefaultConfigFile; a missing
// default file is no error) and then the environment.
func LoadConfig(getenv func(string) string) (Config, error) {
	vals := map[string]string{}
	path := getenv("SSC_CONFIG")
	explicit := path != ""
	if !explicit {
		path = DefaultConfigFile
	}
	file := ""
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		if err := parseFile(b, vals); err != nil {
			return Config{}, fmt.Errorf("%w: %s: %w", ErrConfigFile, path, err)
		}
		file = path
	case explicit || !errors.Is(err, os.ErrNotExist):
		return Config{}, fmt.Errorf("%w: %w", ErrConfigFile, err)
	}
	for k, env := range keys {
		if env == "" {
			continue
		}
		if v, ok := lookup(getenv, env); ok {
			vals[k] = v
		}
	}
	c, err := fromValues(vals)
	if err != nil {
		return Config{}, fmt.Errorf("%w: %w", ErrConfigFile, err)
	}
	c.File = file
	return c, nil
}

func lookup(getenv func(string) string, k string) (string, bool) {
	v := getenv(k)
	return v, v != ""
}

// parseFile reads "key = value" lines; "#" starts a comment line. Unknown
// keys are errors (a typo must not silently fall back to a default).
func parseFile(b []byte, vals map[string]string) error {
	sc := bufio.NewScanner(bytes.NewReader(b))
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return fmt.Errorf("line %d: want key = value", n)
		}
		k = strings.TrimSpace(k)
		if _, known := keys[k]; !known {
			return fmt.Errorf("line %d: unknown key %q", n, k)
		}
		vals[k] = strings.TrimSpace(v)
	}
	return sc.Err()
}

func fromValues(v map[string]string) (Config, error) {
	c := Config{
		Reader: v["reader"], ReaderContact: v["reader_contact"], ReaderContactless: v["reader_contactless"],
		HSM: v["hsm"], TerminalNo: v["terminal_no"], DeviceNo: v["device_no"], Socket: v["socket"],
		HSMTimeout: DefaultHSMTimeout, OpTimeout: DefaultOpTimeout, InitialPIN: DefaultInitialPIN,
		SimProfile: v["sim_profile"], SimMode: v["sim_mode"],
	}
	if c.Socket == "" {
		c.Socket = sscd.DefaultSocket
	}
	var err error
	if c.Direct, err = parseBool("direct", v["direct"]); err != nil {
		return c, err
	}
	if c.AllowWrite, err = parseBool("allow_write", v["allow_write"]); err != nil {
		return c, err
	}
	switch strings.ToLower(v["charset"]) {
	case "", "gbk", "gb2312", "gb18030":
	case "utf-8", "utf8":
		c.UTF8 = true
	default:
		return c, fmt.Errorf("charset: want gbk or utf-8")
	}
	for _, d := range []struct {
		key string
		dst *time.Duration
	}{{"hsm_timeout", &c.HSMTimeout}, {"op_timeout", &c.OpTimeout}} {
		s := v[d.key]
		if s == "" {
			continue
		}
		x, err := time.ParseDuration(s)
		if err != nil {
			secs, err2 := strconv.Atoi(s)
			if err2 != nil {
				return c, fmt.Errorf("%s: want a duration such as 60s", d.key)
			}
			x = time.Duration(secs) * time.Second
		}
		if x <= 0 || x > time.Hour {
			return c, fmt.Errorf("%s: want between 1s and 1h", d.key)
		}
		*d.dst = x
	}
	if p := v["initial_pin"]; p != "" {
		if !isPIN(p) {
			return c, fmt.Errorf("initial_pin: want 6 digits")
		}
		c.InitialPIN = p
	}
	for _, f := range []struct{ key, val string }{{"terminal_no", c.TerminalNo}, {"device_no", c.DeviceNo}} {
		if len(f.val) > 32 || strings.ContainsAny(f.val, "|\r\n") {
			return c, fmt.Errorf("%s: at most 32 characters, no \"|\"", f.key)
		}
	}
	return c, nil
}

func parseBool(key, s string) (bool, error) {
	switch strings.ToLower(s) {
	case "", "0", "false", "no", "off":
		return false, nil
	case "1", "true", "yes", "on":
		return true, nil
	}
	return false, fmt.Errorf("%s: want 1 or 0", key)
}

func isPIN(s string) bool {
	if len(s) != 6 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
