package cases

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"redengine/commands"
)

// derive returns a UUIDv5 (commands.Namespace) of the parts joined by NUL.
func derive(parts ...string) string {
	return uuid.NewSHA1(commands.Namespace, []byte(strings.Join(parts, "\x00"))).String()
}

// DocumentID is the ID of the n-th (0-based) document attached to a case.
func DocumentID(caseID string, n int) string { return derive("case-document", caseID, strconv.Itoa(n)) }

// EmailID is the ID of the n-th (0-based) email of a case.
func EmailID(caseID string, n int) string { return derive("case-email", caseID, strconv.Itoa(n)) }

// ResolutionID is the ID of the Resolución de Desistimiento of a case (a case
// has at most one).
func ResolutionID(caseID string) string { return derive("case-desistimiento", caseID) }

// NotificationID is the ID of the notification (puesta a disposición) of the
// desistimiento of a case.
func NotificationID(caseID string) string { return derive("case-notification", caseID) }

// ResolutionNumber is the number of the Resolución de Desistimiento of the
// case with the given number: "RD-" + the case number.
func ResolutionNumber(caseNumber string) string { return "RD-" + caseNumber }

// JustificanteNumber is the number of the justificante of a trámite: "J-" +
// the case number.
func JustificanteNumber(caseNumber string) string { return "J-" + caseNumber }

// codeEncoding is base32 with the RFC 4648 alphabet (A–Z, 2–7), no padding.
var codeEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// VerificationCode returns the código seguro de verificación of the
// desistimiento of a case: HMAC-SHA256 keyed with key over
// "redengine/desistimiento/v1", the case ID, the number of the unanswered
// information request and its deadline (UTC, RFC 3339), the first 15 bytes
// in base32 (24 characters), grouped by four with hyphens:
// "ABCD-EFGH-IJKL-MNOP-QRST-UVWX".
//
// It depends only on facts recorded in the case's events, so the decision
// is the same when re-run after a conflict, and the code is stored in the
// DesistimientoIssued event, so rendering the document again shows the same
// code. Without the key nobody can compute the code of a case they know; an
// empty key still gives a stable code (for tests and demos).
func VerificationCode(key []byte, caseID string, requestNo int, deadline time.Time) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("redengine/desistimiento/v1\x00" + caseID + "\x00" + strconv.Itoa(requestNo) + "\x00" +
		deadline.UTC().Format(time.RFC3339Nano)))
	return groupByFour(codeEncoding.EncodeToString(m.Sum(nil)[:15]))
}

// groupByFour inserts a hyphen after every four characters of s.
func groupByFour(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i += 4 {
		if i > 0 {
			b.WriteByte('-')
		}
		b.WriteString(s[i:min(i+4, len(s))])
	}
	return b.String()
}

// NormalizeCode reads a code typed by a person, so it can be compared with a
// stored one: letters in either case, the digits 2–7, hyphens and spaces
// anywhere; it returns the code upper-cased with hyphens every four
// characters, and false when anything else is in it or it has not 24
// characters of its alphabet (a malformed code is no code, never a match).
func NormalizeCode(s string) (string, bool) {
	var raw strings.Builder
	for _, r := range strings.ToUpper(s) {
		switch {
		case (r >= 'A' && r <= 'Z') || (r >= '2' && r <= '7'):
			raw.WriteRune(r)
		case r == '-' || r == ' ':
		default:
			return "", false
		}
	}
	if raw.Len() != 24 {
		return "", false
	}
	return groupByFour(raw.String()), true
}
