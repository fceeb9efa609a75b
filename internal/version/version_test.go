package version

import (
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
)

func TestPrecedence(t *testing.T) {
	vcs := &debug.BuildInfo{GoVersion: "go1.26", Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"}, {Key: "vcs.modified", Value: "true"}}}
	for _, tc := range []struct {
		name           string
		ldV, ldC       string
		bi             *debug.BuildInfo
		version, commt string
	}{
		{"linker wins", "v1.2.0-3-gabc", "abc", vcs, "v1.2.0-3-gabc", "abc"},
		{"vcs fallback", "", "", vcs, "devel-0123456789ab-dirty", "0123456789abcdef0123456789abcdef01234567"},
		{"module version", "", "", &debug.BuildInfo{Main: debug.Module{Version: "v0.3.0"}}, "v0.3.0", ""},
		{"nothing", "", "", nil, Devel, ""},
	} {
		got := get(tc.ldV, tc.ldC, tc.bi)
		if got.Version != tc.version || got.Commit != tc.commt {
			t.Errorf("%s: got %q %q, want %q %q", tc.name, got.Version, got.Commit, tc.version, tc.commt)
		}
	}
}

// TestLinkerFlags builds a real binary the way scripts/package.sh does and
// checks that the -X values arrive.
func TestLinkerFlags(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a binary")
	}
	bin := filepath.Join(t.TempDir(), "v")
	pkg := "github.com/sscard/ssc/internal/version"
	build := exec.Command("go", "build", "-trimpath", "-buildvcs=false", "-o", bin,
		"-ldflags", "-X "+pkg+".version=v9.8.7-1-gdeadbee -X "+pkg+".commit=deadbeef", "./testdata/printversion")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin).Output()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(out), "v9.8.7-1-gdeadbee (commit deadbeef, go1.") {
		t.Errorf("got %q", out)
	}
}
