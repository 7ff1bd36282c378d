// Package captest checks documents against the OASIS CAP 1.2 schema (gateway/capxml/testdata/
// CAP-v1.2.xsd) with xmllint, for tests. A test calling it is skipped, saying why, when xmllint
// (Debian package libxml2-utils; CI installs it) is not installed.
package captest

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// Schema is the path of the vendored CAP-v1.2.xsd.
func Schema() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "testdata", "CAP-v1.2.xsd")
}

// Validate returns xmllint's complaint when doc is not a valid CAP 1.2 alert, nil when it is.
func Validate(t testing.TB, doc []byte) error {
	t.Helper()
	xmllint, err := exec.LookPath("xmllint")
	if err != nil {
		t.Skip("xmllint is not installed (apt-get install libxml2-utils): the CAP 1.2 schema check cannot run")
	}
	path := filepath.Join(t.TempDir(), "alert.xml")
	if err := os.WriteFile(path, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(xmllint, "--noout", "--nonet", "--schema", Schema(), path).CombinedOutput(); err != nil {
		return errors.New(string(out))
	}
	return nil
}
