// Package version is the build's version and commit, for sscd --version,
// sscctl version, the daemon's /v1/version and metrics, and the C library.
//
// Release builds (scripts/package.sh) set both with the linker:
//
//	-ldflags "-X github.com/sscard/ssc/internal/version.version=$(git describe --tags --always --dirty)
//	          -X github.com/sscard/ssc/internal/version.commit=$(git rev-parse HEAD)"
//
// and build with -buildvcs=false so that the binaries depend on the commit
// only (reproducible packages). A plain `go build` in a checkout falls back to
// the VCS settings Go records in the binary; `go run` and tests report devel.
package version

import (
	"runtime/debug"
	"strings"
)

// Set with -ldflags -X; empty when not.
var (
	version string
	commit  string
)

// Devel is the version of a build that knows neither its version nor its commit.
const Devel = "devel"

// Info is what a binary knows about its own build.
type Info struct {
	Version string `json:"version"`          // git describe, or "devel"
	Commit  string `json:"commit,omitempty"` // full commit hash when known
	Dirty   bool   `json:"dirty,omitempty"`  // built from a modified tree (VCS fallback only)
	Go      string `json:"go"`               // Go release that built it
}

// Get returns the build information: the linker's values first, then the
// VCS stamp of runtime/debug.BuildInfo, then the module version, then devel.
func Get() Info {
	bi, _ := debug.ReadBuildInfo()
	return get(version, commit, bi)
}

// Version is Get().Version.
func Version() string { return Get().Version }

// Commit is Get().Commit.
func Commit() string { return Get().Commit }

func get(ldVersion, ldCommit string, bi *debug.BuildInfo) Info {
	info := Info{Version: ldVersion, Commit: ldCommit}
	if bi != nil {
		info.Go = bi.GoVersion
		var rev string
		var modified bool
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
		if info.Commit == "" && rev != "" {
			info.Commit = rev
			info.Dirty = modified
		}
		if info.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			// go install module@version, or Go 1.24+'s pseudo-version from VCS.
			info.Version = bi.Main.Version
		}
	}
	if info.Version == "" {
		info.Version = Devel
		if info.Commit != "" {
			info.Version += "-" + short(info.Commit)
			if info.Dirty {
				info.Version += "-dirty"
			}
		}
	}
	return info
}

func short(commit string) string {
	if len(commit) > 12 {
		return commit[:12]
	}
	return commit
}

// String is one line: "VERSION (commit COMMIT, GO)".
func (i Info) String() string {
	var b strings.Builder
	b.WriteString(i.Version)
	b.WriteString(" (")
	if i.Commit != "" {
		b.WriteString("commit ")
		b.WriteString(i.Commit)
		if i.Dirty {
			b.WriteString(", modified")
		}
		b.WriteString(", ")
	}
	b.WriteString(i.Go)
	b.WriteString(")")
	return b.String()
}
