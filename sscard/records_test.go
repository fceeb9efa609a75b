package sscard

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestDecodeRecord(t *testing.T) {
	name := "B4F7C8FCD1C2" + strings.Repeat("20", 24)
	for _, tt := range []struct {
		name  string
		sfi   byte
		rec   string
		check func(*BasicInfo) bool
		field string // "" = success; else the RecordError field
	}{
		{"card id", 5, "0110330100D1560000050114F199D286DF7E", func(b *BasicInfo) bool { return b.Region == "330100" }, ""},
		{"card id bad region", 5, "01103A0100D1560000050114F199D286DF7E", nil, "card_id"},
		{"card id short", 5, "010F330100D1560000050114F199D286DF", nil, "card_id"},
		{"version 1", 5, "0304312E3030", func(b *BasicInfo) bool { return b.Generation == 2 && b.Version == "1.00" }, ""},
		{"version 3", 5, "0304332E3030", func(b *BasicInfo) bool { return b.Generation == 3 }, ""},
		{"version 9", 5, "0304392E3030", nil, "version"},
		{"version junk", 5, "0304312C3030", nil, "version"},
		{"issue", 5, "050420210203", func(b *BasicInfo) bool { return b.IssueDate == "20210203" }, ""},
		{"issue bad", 5, "050420211303", nil, "issue_date"},
		{"expiry not bcd", 5, "06042021A203", nil, "expiry_date"},
		{"card no", 5, "0709413135393231363232", func(b *BasicInfo) bool { return b.CardNumber == "A15921622" }, ""},
		{"card no ctrl", 5, "0709413135393231360132", nil, "card_number"},
		{"ssn", 6, "0812333332363033313937393132323235343136", func(b *BasicInfo) bool { return b.SSN == "332603197912225416" }, ""},
		{"name spaces", 6, "091E" + name, func(b *BasicInfo) bool { return b.Name == "戴赛崖" }, ""},
		{"name zeros", 6, "091E" + "B4F7C8FCD1C2" + strings.Repeat("00", 24), func(b *BasicInfo) bool { return b.Name == "戴赛崖" }, ""},
		{"name bad gbk", 6, "091E" + "B4FF" + strings.Repeat("20", 28), nil, "name"},
		{"sex", 6, "0A0131", func(b *BasicInfo) bool { return b.Sex == "1" && b.SexLabel() == "male" }, ""},
		{"sex bad", 6, "0A0141", nil, "sex"},
		{"ethnicity", 6, "0B0101", func(b *BasicInfo) bool { return b.Ethnicity == "01" }, ""},
		{"birthplace F", 6, "0C033326FF", func(b *BasicInfo) bool { return b.Birthplace == "3326" }, ""},
		{"birthplace bad", 6, "0C033F2603", nil, "birthplace"},
		{"birth", 6, "0D0419920429", func(b *BasicInfo) bool { return b.BirthDate == "19920429" }, ""},
		{"trailing bytes", 6, "0A013100", nil, "sex"},
		{"truncated", 6, "0A0231", nil, "sex"},
		{"unknown tag", 6, "0101AA", nil, "?"},
		{"empty", 5, "", nil, "?"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var info BasicInfo
			err := DecodeRecord(&info, tt.sfi, mustHex(tt.rec))
			if tt.field == "" {
				if err != nil || !tt.check(&info) {
					t.Fatalf("err %v info %+v", err, info)
				}
				return
			}
			var re *RecordError
			if !errors.Is(err, ErrMalformedRecord) || !errors.As(err, &re) || re.Field != tt.field {
				t.Fatalf("err = %v, want field %s", err, tt.field)
			}
			if info.Name != "" || info.Sex != "" || info.CardID != nil || info.Version != "" {
				t.Errorf("partial data stored on error: %+v", info)
			}
		})
	}
}

func TestBasicInfoJSON(t *testing.T) {
	info := BasicInfo{CardID: mustHex("330100D1560000050114F199D286DF7E"), Name: "戴赛崖", Generation: 2}
	b, err := json.Marshal(&info)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"card_id":"330100D1560000050114F199D286DF7E","generation":2,"name":"戴赛崖"}`; string(b) != want {
		t.Errorf("%s", b)
	}
	var back BasicInfo
	if err := json.Unmarshal(b, &back); err != nil || back.CardID.String() != info.CardID.String() {
		t.Errorf("%v %+v", err, back)
	}
}
