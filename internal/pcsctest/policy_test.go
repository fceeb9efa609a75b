package pcsctest

import (
	"errors"
	"fmt"
	"testing"
)

// fakeTB records Skipf/Fatalf instead of stopping the test.
type fakeTB struct {
	testing.TB
	skipped, failed string
}

func (f *fakeTB) Helper()                           {}
func (f *fakeTB) Skipf(format string, args ...any)  { f.skipped = fmt.Sprintf(format, args...) }
func (f *fakeTB) Fatalf(format string, args ...any) { f.failed = fmt.Sprintf(format, args...) }

func TestSkipPolicy(t *testing.T) {
	missing := unavailable("pcscd not found")
	for _, c := range []struct {
		require, ci string
		err         error
		wantSkip    bool
	}{
		{"", "", missing, true},
		{"1", "", missing, false},
		{"", "true", missing, false},
		{"0", "false", missing, true},
		{"", "", errors.New("pcscd exited during start-up"), false},
	} {
		t.Setenv("SSC_REQUIRE_PCSC", c.require)
		t.Setenv("CI", c.ci)
		f := &fakeTB{TB: t}
		report(f, c.err)
		if c.wantSkip && (f.skipped == "" || f.failed != "") || !c.wantSkip && (f.failed == "" || f.skipped != "") {
			t.Errorf("require=%q ci=%q err=%v: skipped %q failed %q", c.require, c.ci, c.err, f.skipped, f.failed)
		}
	}
}
