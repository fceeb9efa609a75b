package sscard

import (
	"errors"
	"slices"
	"testing"
)

// Real samples of ssc-facts §2.3/§2.4, verbatim.
const (
	sampleGen2    = "440700|440782199012292617|JA334687X|440700D15600000500152947B297502C|刘栋文|00810088378665440700152947|1.00|20140126|20240126|000000000000|FFFFFFFFFFFFFF|"
	sampleGen3NoH = "411600|||411600D156000005C38275EEFC9B9648||008C544CB386844116018593CA|3.00|20211203|20311202|"
	sampleStep1   = "331100|00904A3001866033110000048A|03|331100D156000005500509728DB46EF9|456FE02E253F817D|A39FC0BF44CAEA80|4F5FB5932F10694D|2CFE760428888D8E|"
	sampleStep2   = "98ABD5279E9CD3306183AFC81BE3C72E|40B69F2C478028DC1594A8CC187E1FE9|"
)

func TestReadCardBasGolden(t *testing.T) {
	// The 2nd-gen real sample has 11 fields (terminal 000000000000, device
	// FFFFFFFFFFFFFF); the 3rd-gen sample without HSM has 9 fields: the DLL
	// omitted both terminal fields, which FormatReadCardBas reproduces for a
	// zero TerminalInfo.
	for _, tt := range []struct {
		name, s     string
		term        TerminalInfo
		gen         int
		unavailable []string
	}{
		{"gen2", sampleGen2, TerminalInfo{"000000000000", "FFFFFFFFFFFFFF"}, 2, nil},
		{"gen3-noHSM", sampleGen3NoH, TerminalInfo{}, 3, []string{"ssn", "card_number", "name"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			info, term, err := ParseReadCardBas(tt.s)
			if err != nil {
				t.Fatal(err)
			}
			if term != tt.term || info.Generation != tt.gen || !slices.Equal(info.Unavailable, tt.unavailable) {
				t.Errorf("term %+v gen %d unavailable %v", term, info.Generation, info.Unavailable)
			}
			if got := FormatReadCardBas(info, term); got != tt.s {
				t.Errorf("re-format:\n got %s\nwant %s", got, tt.s)
			}
			gbk, err := ToGBK(tt.s)
			if err != nil {
				t.Fatal(err)
			}
			info2, _, err := ParseReadCardBas(string(gbk))
			if err != nil || info2.Name != info.Name {
				t.Errorf("GBK parse: %v %q", err, info2.Name)
			}
		})
	}
	info, _, _ := ParseReadCardBas(sampleGen2)
	if info.Name != "刘栋文" || info.SSN != "440782199012292617" || info.CardNumber != "JA334687X" || info.Region != "440700" {
		t.Errorf("%+v", info)
	}
}

func TestReadCardBasErrors(t *testing.T) {
	for _, s := range []string{
		"",
		"440700|",
		sampleGen2[:len(sampleGen2)-1], // no trailing |
		"440700|a|b|440700D15600000500152947B297502C|n|00|1.00|||x|",    // 10 fields
		"44070X|||440700D15600000500152947B297502C||00|1.00|||",         // region
		"440701|||440700D15600000500152947B297502C||00|1.00|||",         // region != card id
		"440700|||440700D15600000500152947B297502||00|1.00|||",          // odd hex
		"440700|||440700D15600000500152947B297502C||00|9.00|||",         // version
		"440700|||440700D15600000500152947B297502C||00|1.00|2014012|||", // date
	} {
		if _, _, err := ParseReadCardBas(s); !errors.Is(err, ErrMinistryFormat) {
			t.Errorf("%q: err = %v", s, err)
		}
	}
}

func TestStep1Golden(t *testing.T) {
	st, err := ParseStep1(sampleStep1)
	if err != nil {
		t.Fatal(err)
	}
	if st.Region != "331100" || st.Algorithm != AlgSM4 || st.F1.String() != "456FE02E253F817D" || st.O2.String() != "2CFE760428888D8E" {
		t.Errorf("%+v", st)
	}
	if st.String() != sampleStep1 {
		t.Errorf("re-format %s", st.String())
	}
	for _, s := range []string{sampleStep1[:len(sampleStep1)-1], "331100|00|03|331100D156000005500509728DB46EF9|45|A39FC0BF44CAEA80|4F5FB5932F10694D|2CFE760428888D8E|",
		"331100|zz|03|331100D156000005500509728DB46EF9|456FE02E253F817D|A39FC0BF44CAEA80|4F5FB5932F10694D|2CFE760428888D8E|", "331100|00|03|"} {
		if _, err := ParseStep1(s); !errors.Is(err, ErrMinistryFormat) {
			t.Errorf("%q: %v", s, err)
		}
	}
}

func TestStep2InputGolden(t *testing.T) {
	a, err := ParseStep2Input(sampleStep2)
	if err != nil {
		t.Fatal(err)
	}
	if a.String() != sampleStep2 || len(sampleStep2) != 66 {
		t.Errorf("re-format %s", a)
	}
	for _, s := range []string{"", "98ABD5279E9CD3306183AFC81BE3C72E|", "98ABD5279E9CD3306183AFC81BE3C72E|40B69F2C478028DC1594A8CC187E1FE9",
		"98ABD5279E9CD3306183AFC81BE3C72|40B69F2C478028DC1594A8CC187E1FE9|", "98ABD5279E9CD3306183AFC81BE3C72G|40B69F2C478028DC1594A8CC187E1FE9|",
		sampleStep2 + "00|"} {
		if _, err := ParseStep2Input(s); !errors.Is(err, ErrMinistryFormat) {
			t.Errorf("%q: %v", s, err)
		}
	}
}
