package sm

import (
	"bytes"
	"math/big"
	"testing"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
)

// gmsm implements SM2 only on sm2p256v1 (sm2.P256): its signing and
// verification reject any other curve and it has no generic-curve API. The
// GM/T 0003 (GB/T 32918) annex example uses a different 256-bit curve
// (p = 8542D69E...), so this file checks that vector with a small affine
// big.Int implementation of SM2. It is TEST-ONLY: variable time, no input
// validation, never used by the package. Its correctness is itself checked
// against gmsm on sm2p256v1 (TestSM2TestCurveAgainstGmsm).

type sm2TestCurve struct {
	p, a, b, gx, gy, n *big.Int
}

func sm2TestInt(s string) *big.Int {
	v, ok := new(big.Int).SetString(s, 16)
	if !ok {
		panic("bad hex " + s)
	}
	return v
}

// GM/T 0003.2 / GB/T 32918.2 annex A: Fp-256 example curve.
var sm2ExampleCurve = &sm2TestCurve{
	p:  sm2TestInt("8542D69E4C044F18E8B92435BF6FF7DE457283915C45517D722EDB8B08F1DFC3"),
	a:  sm2TestInt("787968B4FA32C3FD2417842E73BBFEFF2F3C848B6831D7E0EC65228B3937E498"),
	b:  sm2TestInt("63E4C6D3B23B0C849CF84241484BFE48F61D59A5B16BA06E6E12D1DA27C5249A"),
	gx: sm2TestInt("421DEBD61B62EAB6746434EBC3CC315E32220B3BADD50BDC4C4E6C147FEDD43D"),
	gy: sm2TestInt("0680512BCBB42C07D47349D2153B70C4E5D7FDFCBFA36EA1A85841B9E46E09A2"),
	n:  sm2TestInt("8542D69E4C044F18E8B92435BF6FF7DD297720630485628D5AE74EE7C32E79B7"),
}

// sm2p256v1 expressed for the test implementation (a = p - 3).
func sm2TestP256() *sm2TestCurve {
	params := sm2.P256().Params()
	return &sm2TestCurve{
		p: params.P, a: new(big.Int).Sub(params.P, big.NewInt(3)), b: params.B,
		gx: params.Gx, gy: params.Gy, n: params.N,
	}
}

// point at infinity = nil x
type sm2TestPoint struct{ x, y *big.Int }

func (c *sm2TestCurve) onCurve(P sm2TestPoint) bool {
	if P.x == nil {
		return true
	}
	l := new(big.Int).Mul(P.y, P.y)
	r := new(big.Int).Mul(P.x, P.x)
	r.Mul(r, P.x)
	r.Add(r, new(big.Int).Mul(c.a, P.x))
	r.Add(r, c.b)
	return l.Sub(l, r).Mod(l, c.p).Sign() == 0
}

func (c *sm2TestCurve) add(P, Q sm2TestPoint) sm2TestPoint {
	if P.x == nil {
		return Q
	}
	if Q.x == nil {
		return P
	}
	var num, den *big.Int
	if P.x.Cmp(Q.x) == 0 {
		if sum := new(big.Int).Add(P.y, Q.y); sum.Mod(sum, c.p).Sign() == 0 {
			return sm2TestPoint{} // P = -Q (or a point of order 2)
		}
		// tangent: (3x^2 + a) / 2y
		num = new(big.Int).Mul(P.x, P.x)
		num.Mul(num, big.NewInt(3)).Add(num, c.a)
		den = new(big.Int).Lsh(P.y, 1)
	} else {
		num = new(big.Int).Sub(Q.y, P.y)
		den = new(big.Int).Sub(Q.x, P.x)
	}
	den.Mod(den, c.p)
	lambda := new(big.Int).Mul(num, new(big.Int).ModInverse(den, c.p))
	lambda.Mod(lambda, c.p)
	x := new(big.Int).Mul(lambda, lambda)
	x.Sub(x, P.x).Sub(x, Q.x).Mod(x, c.p)
	y := new(big.Int).Sub(P.x, x)
	y.Mul(y, lambda).Sub(y, P.y).Mod(y, c.p)
	return sm2TestPoint{x, y}
}

func (c *sm2TestCurve) mul(k *big.Int, P sm2TestPoint) sm2TestPoint {
	R := sm2TestPoint{}
	for i := k.BitLen() - 1; i >= 0; i-- {
		R = c.add(R, R)
		if k.Bit(i) == 1 {
			R = c.add(R, P)
		}
	}
	return R
}

func (c *sm2TestCurve) g() sm2TestPoint { return sm2TestPoint{c.gx, c.gy} }

func sm2TestBytes(v *big.Int) []byte { return v.FillBytes(make([]byte, 32)) }

// z computes Z = SM3(ENTL || ID || a || b || xG || yG || xA || yA).
func (c *sm2TestCurve) z(id []byte, P sm2TestPoint) []byte {
	h := sm3.New()
	bits := len(id) * 8
	h.Write([]byte{byte(bits >> 8), byte(bits)})
	h.Write(id)
	for _, v := range []*big.Int{c.a, c.b, c.gx, c.gy, P.x, P.y} {
		h.Write(sm2TestBytes(v))
	}
	return h.Sum(nil)
}

func (c *sm2TestCurve) digest(id []byte, P sm2TestPoint, msg []byte) *big.Int {
	h := sm3.New()
	h.Write(c.z(id, P))
	h.Write(msg)
	return new(big.Int).SetBytes(h.Sum(nil))
}

// sign with an explicit nonce k (GB/T 32918.2 §6.1).
func (c *sm2TestCurve) sign(d, k, e *big.Int) (r, s *big.Int) {
	x1 := c.mul(k, c.g()).x
	r = new(big.Int).Add(e, x1)
	r.Mod(r, c.n)
	inv := new(big.Int).Add(d, big.NewInt(1))
	inv.ModInverse(inv, c.n)
	s = new(big.Int).Mul(r, d)
	s.Sub(k, s).Mul(s, inv).Mod(s, c.n)
	return r, s
}

// verify (GB/T 32918.2 §7.1).
func (c *sm2TestCurve) verify(P sm2TestPoint, e, r, s *big.Int) bool {
	if r.Sign() <= 0 || r.Cmp(c.n) >= 0 || s.Sign() <= 0 || s.Cmp(c.n) >= 0 {
		return false
	}
	t := new(big.Int).Add(r, s)
	t.Mod(t, c.n)
	if t.Sign() == 0 {
		return false
	}
	X := c.add(c.mul(s, c.g()), c.mul(t, P))
	if X.x == nil {
		return false
	}
	R := new(big.Int).Add(e, X.x)
	return R.Mod(R, c.n).Cmp(r) == 0
}

func TestSM2ExampleCurveVector(t *testing.T) {
	c := sm2ExampleCurve
	if !c.onCurve(c.g()) {
		t.Fatal("G not on the example curve")
	}
	if c.mul(c.n, c.g()).x != nil {
		t.Fatal("nG != O")
	}
	id := []byte("ALICE123@YAHOO.COM")
	msg := []byte("message digest")
	d := sm2TestInt("128B2FA8BD433C6C068C8D803DFF79792A519A55171B1B650C23661D15897263")
	k := sm2TestInt("6CB28D99385C175C94F94E934817663FC176D925DD72B727260DBAAE1FB2F96F")
	P := c.mul(d, c.g())
	wantPX := "0AE4C7798AA0F119471BEE11825BE46202BB79E2A5844495E97C04FF4DF2548A"
	wantPY := "7C0240F88F1CD4E16352A73C17B7F16F07353E53A176D684A9FE0C6BB798E857"
	if P.x.Cmp(sm2TestInt(wantPX)) != 0 || P.y.Cmp(sm2TestInt(wantPY)) != 0 {
		t.Fatalf("P = (%X, %X)", P.x, P.y)
	}
	if z, want := c.z(id, P), sm2Hex(t, "F4A38489E32B45B6F876E3AC2168CA392362DC8F23459C1D1146FC3DBFB7BC9A"); !bytes.Equal(z, want) {
		t.Errorf("Z = %X, want %X", z, want)
	}
	e := c.digest(id, P, msg)
	if want := sm2TestInt("B524F552CD82B8B028476E005C377FB19A87E6FC682D48BB5D42E3D9B9EFFE76"); e.Cmp(want) != 0 {
		t.Errorf("e = %X, want %X", e, want)
	}
	wantR := sm2TestInt("40F1EC59F793D9F49E09DCEF49130D4194F79FB1EED2CAA55BACDB49C4E755D1")
	wantS := sm2TestInt("6FC6DAC32C5D5CF10C77DFB20F7C2EB667A457872FB09EC56327A67EC7DEEBE7")
	if !c.verify(P, e, wantR, wantS) {
		t.Error("the vector's (r, s) does not verify")
	}
	r, s := c.sign(d, k, e)
	if r.Cmp(wantR) != 0 || s.Cmp(wantS) != 0 {
		t.Errorf("sign with the vector's k = (%X, %X)", r, s)
	}
	if c.verify(P, new(big.Int).Add(e, big.NewInt(1)), wantR, wantS) {
		t.Error("a wrong digest verifies")
	}
}

// TestSM2TestCurveAgainstGmsm checks the test-only implementation above on
// sm2p256v1 against gmsm, both ways, so that the example-curve result means
// something.
func TestSM2TestCurveAgainstGmsm(t *testing.T) {
	c := sm2TestP256()
	priv := sm2VecKey(t)
	P := c.mul(priv.D, c.g())
	if P.x.Cmp(priv.X) != 0 || P.y.Cmp(priv.Y) != 0 {
		t.Fatal("dG differs from gmsm")
	}
	msg := []byte("message digest")
	z, _ := SM2Z(&priv.PublicKey, nil)
	if !bytes.Equal(c.z([]byte(DefaultSignerID), P), z) {
		t.Fatal("Z differs from gmsm")
	}
	e := c.digest([]byte(DefaultSignerID), P, msg)
	// gmsm's signature verifies here...
	sig, err := Sign(priv, nil, msg)
	if err != nil {
		t.Fatal(err)
	}
	if !c.verify(P, e, new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		t.Error("test implementation rejects gmsm's signature")
	}
	// ...and ours in gmsm.
	r, s := c.sign(priv.D, big.NewInt(0x1234567), e)
	if err := VerifyDigest(&priv.PublicKey, sm2TestBytes(e), append(sm2TestBytes(r), sm2TestBytes(s)...)); err != nil {
		t.Errorf("gmsm rejects the test implementation's signature: %v", err)
	}
}
