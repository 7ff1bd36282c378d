package gateway

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// KeyFile keeps bureau keys in a JSON file, storing only each key's SHA-256 hash. It re-reads the
// file when it changes, so keys created by `fangxin keys create` while the hub runs work at
// once. Safe for concurrent use.
type KeyFile struct {
	path string

	mu      sync.Mutex
	modTime time.Time
	size    int64
	byHash  map[string]Principal
}

type keyRecord struct {
	Hash      string    `json:"sha256"`
	Bureau    string    `json:"bureau"`
	Roles     []Role    `json:"roles,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	Note      string    `json:"note,omitempty"`
}

var _ Keys = (*KeyFile)(nil)

// OpenKeyFile opens (not creating) the key file at path.
func OpenKeyFile(path string) *KeyFile { return &KeyFile{path: path} }

func hashKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// Lookup resolves a key.
func (k *KeyFile) Lookup(_ context.Context, key string) (Principal, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.reloadLocked(); err != nil {
		return Principal{}, false
	}
	// Looking up the SHA-256 of the key leaks nothing useful through timing: an attacker
	// controls the key, not its hash.
	p, ok := k.byHash[hashKey(key)]
	return p, ok
}

func (k *KeyFile) reloadLocked() error {
	st, err := os.Stat(k.path)
	if errors.Is(err, os.ErrNotExist) {
		k.byHash = nil
		return nil
	}
	if err != nil {
		return err
	}
	if k.byHash != nil && st.ModTime().Equal(k.modTime) && st.Size() == k.size {
		return nil
	}
	recs, err := k.read()
	if err != nil {
		return err
	}
	m := make(map[string]Principal, len(recs))
	for _, r := range recs {
		m[r.Hash] = Principal{Bureau: r.Bureau, Roles: r.Roles}
	}
	k.byHash, k.modTime, k.size = m, st.ModTime(), st.Size()
	return nil
}

func (k *KeyFile) read() ([]keyRecord, error) {
	b, err := os.ReadFile(k.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var recs []keyRecord
	if err := json.Unmarshal(b, &recs); err != nil {
		return nil, fmt.Errorf("key file %s: %w", k.path, err)
	}
	return recs, nil
}

// Create makes a new random key for bureau and returns it; only its hash is stored.
func (k *KeyFile) Create(bureau string, roles []Role, note string) (string, error) {
	buf := make([]byte, 24)
	if _, err := rand.Read(buf); err != nil {
		return "", err
	}
	key := "fx_" + bureau + "_" + hex.EncodeToString(buf)
	return key, k.Add(key, bureau, roles, note)
}

// Add stores the hash of a given key (used for the demo's reproducible keys). Adding a key that
// is already there is a no-op.
func (k *KeyFile) Add(key, bureau string, roles []Role, note string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	recs, err := k.read()
	if err != nil {
		return err
	}
	h := hashKey(key)
	for _, r := range recs {
		if r.Hash == h {
			return nil
		}
	}
	recs = append(recs, keyRecord{Hash: h, Bureau: bureau, Roles: roles, CreatedAt: time.Now().UTC(), Note: note})
	b, err := json.MarshalIndent(recs, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(k.path), 0o755); err != nil {
		return err
	}
	tmp := k.path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	if err := os.Rename(tmp, k.path); err != nil {
		return err
	}
	k.byHash = nil // force a reload
	return nil
}
