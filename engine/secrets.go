package engine

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"redengine/errs"
)

// Secret returns the engine's secret key for a purpose (e.g. "nss-person",
// "verification-codes"): HMAC-SHA256 of the purpose under the master key.
// The master key is REDENGINE_SECRET_KEY (hex, required when several nodes
// share one event store, so that they derive the same keys) or, when unset,
// a random key created once in <data dir>/secret.key. It must never change
// for the life of the data: stream names and verification codes derive from
// it.
func (e *Engine) Secret(purpose string) ([]byte, error) {
	e.secretOnce.Do(func() { e.master, e.masterErr = e.loadMaster() })
	if e.masterErr != nil {
		return nil, e.masterErr
	}
	m := hmac.New(sha256.New, e.master)
	m.Write([]byte("redengine/" + purpose))
	return m.Sum(nil), nil
}

func (e *Engine) loadMaster() ([]byte, error) {
	const op = errs.Op("engine.Secret")
	if v := strings.TrimSpace(os.Getenv("REDENGINE_SECRET_KEY")); v != "" {
		k, err := hex.DecodeString(v)
		if err != nil || len(k) < 16 {
			return nil, errs.E(op, errs.Invalid, "REDENGINE_SECRET_KEY: al menos 16 bytes en hexadecimal")
		}
		return k, nil
	}
	path := filepath.Join(e.Config.DataDir, "secret.key")
	raw, err := os.ReadFile(path)
	if err == nil {
		k, err := hex.DecodeString(strings.TrimSpace(string(raw)))
		if err != nil || len(k) < 16 {
			return nil, errs.E(op, errs.Internal, path+": clave no válida")
		}
		return k, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, errs.E(op, errs.Unavailable, err)
	}
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		return nil, errs.E(op, errs.Internal, err)
	}
	if err := os.MkdirAll(e.Config.DataDir, 0o750); err != nil {
		return nil, errs.E(op, errs.Unavailable, err)
	}
	// Write a temporary file and link it into place: the link fails if
	// another process got there first, and nobody ever reads a half-written
	// key.
	tmp, err := os.CreateTemp(e.Config.DataDir, "secret.key.*")
	if err != nil {
		return nil, errs.E(op, errs.Unavailable, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(hex.EncodeToString(k) + "\n"); err != nil {
		tmp.Close()
		return nil, errs.E(op, errs.Unavailable, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return nil, errs.E(op, errs.Unavailable, err)
	}
	if err := tmp.Close(); err != nil {
		return nil, errs.E(op, errs.Unavailable, err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return e.loadMaster()
		}
		return nil, errs.E(op, errs.Unavailable, err)
	}
	return k, nil
}
