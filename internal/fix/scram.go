package fix

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
)

// scramIterations is PostgreSQL's default scram_iterations.
const scramIterations = 4096

// scramVerifier computes the SCRAM-SHA-256 verifier PostgreSQL stores for
// password (as libpq's PQencryptPasswordConn does), so CREATE ROLE can carry
// it instead of the password: statement logs and pg_stat_activity then never
// hold the password. PostgreSQL normalizes passwords with SASLprep before
// hashing; that is the identity on ASCII, and a non-ASCII password is left
// for the server to hash (see passwordLiteral).
func scramVerifier(password string) string {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		panic(fmt.Sprintf("crypto/rand failed: %v", err)) // never returns an error on Linux
	}
	return scramVerifierWithSalt(password, salt, scramIterations)
}

func scramVerifierWithSalt(password string, salt []byte, iter int) string {
	salted, err := pbkdf2.Key(sha256.New, password, salt, iter, sha256.Size)
	if err != nil {
		panic(fmt.Sprintf("pbkdf2: %v", err)) // only for out-of-range parameters, which are constants here
	}
	clientKey := hmacSHA256(salted, "Client Key")
	storedKey := sha256.Sum256(clientKey)
	serverKey := hmacSHA256(salted, "Server Key")
	b64 := base64.StdEncoding.EncodeToString
	return fmt.Sprintf("SCRAM-SHA-256$%d:%s$%s:%s", iter, b64(salt), b64(storedKey[:]), b64(serverKey))
}

func hmacSHA256(key []byte, msg string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

// passwordLiteral is what CREATE ROLE … PASSWORD gets: the verifier for an
// ASCII password, else the password itself, because SASLprep of non-ASCII
// text (Unicode normalization and more) is the server's to get right.
func passwordLiteral(password string) string {
	for i := 0; i < len(password); i++ {
		if password[i] >= 0x80 {
			return password
		}
	}
	return scramVerifier(password)
}
