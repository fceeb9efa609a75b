package pboc

// Flags of 9F63 (product identification information) byte 9.
//
// Only b4 (social security card) is sourced (JR/T 0025 annex A via
// ssc-facts §4.2). The standard lists the other product types — 市民卡,
// 军人卡, 积分卡, 交通卡, 学生卡, 航空卡, 公共缴费 — but the sources at hand
// do not give their bits; they are assigned here in the order listed,
// from b8 down, skipping b4. Treat every bit but b4 as uncertain.
const (
	ProductCitizen        byte = 0x80 // b8 市民卡 citizen card (uncertain)
	ProductMilitary       byte = 0x40 // b7 军人卡 military card (uncertain)
	ProductLoyalty        byte = 0x20 // b6 积分卡 loyalty card (uncertain)
	ProductTransport      byte = 0x10 // b5 交通卡 transport card (uncertain)
	ProductSocialSecurity byte = 0x08 // b4 社保卡 social security card
	ProductStudent        byte = 0x04 // b3 学生卡 student card (uncertain)
	ProductAviation       byte = 0x02 // b2 航空卡 aviation card (uncertain)
	ProductPublicPayment  byte = 0x01 // b1 公共缴费 public utility payment (uncertain)
)

var productFlagNames = [8]struct {
	bit  byte
	name string
}{
	{ProductCitizen, "市民卡"},
	{ProductMilitary, "军人卡"},
	{ProductLoyalty, "积分卡"},
	{ProductTransport, "交通卡"},
	{ProductSocialSecurity, "社保卡"},
	{ProductStudent, "学生卡"},
	{ProductAviation, "航空卡"},
	{ProductPublicPayment, "公共缴费"},
}

// ProductFlags names the flags set in 9F63 byte 9 (index 8), b8 first.
func ProductFlags(b9 byte) []string {
	var out []string
	for _, f := range productFlagNames {
		if b9&f.bit != 0 {
			out = append(out, f.name)
		}
	}
	return out
}
