package sm

import (
	"crypto/cipher"
	"crypto/des"
	"errors"
	"fmt"

	smcipher "github.com/emmansun/gmsm/cipher"
	"github.com/emmansun/gmsm/sm4"
)

// Block and key sizes of the block ciphers the card protocols use.
const (
	SM4BlockSize = 16 // SM4 block (key: KeySize = 16)
	DESBlockSize = 8  // DES and 3DES block
	DESKeySize   = 8  // single DES: the inner cipher of the retail MAC
	TDES2KeySize = 16 // 2-key 3DES, K1 || K2 (K3 = K1): the usual card key
	TDES3KeySize = 24 // 3-key 3DES, K1 || K2 || K3
)

// errNilBlock is returned when a nil cipher.Block is passed in.
var errNilBlock = errors.New("sm: nil cipher.Block")

// NewSM4 returns the SM4 block cipher (GB/T 32907) for a 16-byte key.
// A key of another size gives an error wrapping ErrLength.
func NewSM4(key []byte) (cipher.Block, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("%w: SM4 key is %d bytes, want %d", ErrLength, len(key), KeySize)
	}
	b, err := sm4.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("sm: %w", err)
	}
	return b, nil
}

// NewTDES returns 3DES (EDE) for a 16-byte 2-key key K1 || K2, used as
// K1 || K2 || K1, or a 24-byte 3-key key. Any other size gives an error
// wrapping ErrLength.
func NewTDES(key []byte) (cipher.Block, error) {
	var k [TDES3KeySize]byte
	switch len(key) {
	case TDES2KeySize:
		copy(k[:], key)
		copy(k[TDES2KeySize:], key[:DESKeySize])
	case TDES3KeySize:
		copy(k[:], key)
	default:
		return nil, fmt.Errorf("%w: 3DES key is %d bytes, want %d or %d", ErrLength, len(key), TDES2KeySize, TDES3KeySize)
	}
	b, err := des.NewTripleDESCipher(k[:])
	clear(k[:])
	if err != nil {
		return nil, fmt.Errorf("sm: %w", err)
	}
	return b, nil
}

// NewDES returns single DES for an 8-byte key. Cards use it only inside the
// ISO 9797-1 retail MAC (see NewRetailMAC); it is not a secure cipher on its
// own. A key of another size gives an error wrapping ErrLength.
func NewDES(key []byte) (cipher.Block, error) {
	if len(key) != DESKeySize {
		return nil, fmt.Errorf("%w: DES key is %d bytes, want %d", ErrLength, len(key), DESKeySize)
	}
	b, err := des.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("sm: %w", err)
	}
	return b, nil
}

// EncryptECB encrypts src, a whole number of blocks, block by block and
// returns the ciphertext in a new slice. One block, the common card case
// (a key diversification, a PIN cryptogram), goes straight to b.Encrypt
// with no allocation besides the result; longer inputs use gmsm's ECB mode,
// which batches SM4 blocks in assembly. src must not be empty.
func EncryptECB(b cipher.Block, src []byte) ([]byte, error) {
	return ecbCrypt(b, src, true)
}

// DecryptECB is the inverse of EncryptECB.
func DecryptECB(b cipher.Block, src []byte) ([]byte, error) {
	return ecbCrypt(b, src, false)
}

func ecbCrypt(b cipher.Block, src []byte, encrypt bool) ([]byte, error) {
	if b == nil {
		return nil, errNilBlock
	}
	bs := b.BlockSize()
	if err := checkBlocks(src, bs); err != nil {
		return nil, err
	}
	dst := make([]byte, len(src))
	switch {
	case len(src) == bs && encrypt:
		b.Encrypt(dst, src)
	case len(src) == bs:
		b.Decrypt(dst, src)
	case encrypt:
		smcipher.NewECBEncrypter(b).CryptBlocks(dst, src)
	default:
		smcipher.NewECBDecrypter(b).CryptBlocks(dst, src)
	}
	return dst, nil
}

// EncryptCBC encrypts src, a whole number of blocks, in CBC mode and
// returns the ciphertext in a new slice. iv is nil (all zeros, as card
// protocols use when no challenge is involved) or exactly one block.
func EncryptCBC(b cipher.Block, iv, src []byte) ([]byte, error) {
	return cbcCrypt(b, iv, src, true)
}

// DecryptCBC is the inverse of EncryptCBC.
func DecryptCBC(b cipher.Block, iv, src []byte) ([]byte, error) {
	return cbcCrypt(b, iv, src, false)
}

func cbcCrypt(b cipher.Block, iv, src []byte, encrypt bool) ([]byte, error) {
	if b == nil {
		return nil, errNilBlock
	}
	bs := b.BlockSize()
	if err := checkBlocks(src, bs); err != nil {
		return nil, err
	}
	var zero [SM4BlockSize]byte
	switch {
	case len(iv) == 0 && bs <= len(zero):
		iv = zero[:bs]
	case len(iv) != bs:
		return nil, fmt.Errorf("%w: IV is %d bytes, want %d", ErrLength, len(iv), bs)
	}
	dst := make([]byte, len(src))
	if encrypt {
		cipher.NewCBCEncrypter(b, iv).CryptBlocks(dst, src)
	} else {
		cipher.NewCBCDecrypter(b, iv).CryptBlocks(dst, src)
	}
	return dst, nil
}

// checkBlocks reports an error wrapping ErrLength unless src is a non-empty
// whole number of bs-byte blocks.
func checkBlocks(src []byte, bs int) error {
	if len(src) == 0 || len(src)%bs != 0 {
		return fmt.Errorf("%w: %d bytes is not a whole number of %d-byte blocks", ErrLength, len(src), bs)
	}
	return nil
}
