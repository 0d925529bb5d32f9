package codecrypt

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha512"
	"encoding/hex"
)

// A P-384 public key (compressed) and its signature of warmMessage: a check
// that Warm runs the way the Encryption SDK checks a message's signature.
const (
	warmKey       = "03dd50f67305aa71c13631e66117c8897c8b1b966a846e8a29882467fbdf4e8c5fef9da2008d496def8cb72bf28ecac422"
	warmSignature = "306402300adf33219da68d53c93515769b3697721900865ba052ae43639fa632d481d7922fff52c52a5381f827e4d71321db2862023045b26f08caf04e21d122db5f86e0f6c5e7102cb83831cb136073be38b5c82d5e8c71a7ae94b691e5ce9df96e47478e49"
	warmMessage   = "cogmail warm-up"
)

// Warm does once, ahead of time, the process-wide work of the first
// signature check of suite 0x0378 (ECDSA P-384): the curve's precomputed
// tables are built on first use, which costs the first Decrypt of a process
// about 3 ms. It checks a fixed signature the way the Encryption SDK does
// (a compressed public key, then ecdsa.VerifyASN1 of a SHA-384 digest), holds
// no key material, and is safe to run concurrently with Decrypt. It reports
// whether the fixed signature verified, which it always should.
func Warm() bool {
	key, _ := hex.DecodeString(warmKey)
	sig, _ := hex.DecodeString(warmSignature)
	x, y := elliptic.UnmarshalCompressed(elliptic.P384(), key)
	if x == nil {
		return false
	}
	digest := sha512.Sum384([]byte(warmMessage))
	return ecdsa.VerifyASN1(&ecdsa.PublicKey{Curve: elliptic.P384(), X: x, Y: y}, digest[:], sig)
}
