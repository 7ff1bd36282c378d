package gateway

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"net/http"
	"time"
)

// openAPIDoc is the OpenAPI 3.1 document of every route of the gateway. openapi_test.go keeps it
// honest: each route registered in New is documented (and nothing else is), and real responses of
// a real hub validate against the schemas it declares.
//
//go:embed openapi.json
var openAPIDoc []byte

// openAPIETag is a strong validator of the document, so clients and proxies can revalidate cheaply.
var openAPIETag = func() string {
	sum := sha256.Sum256(openAPIDoc)
	return `"` + hex.EncodeToString(sum[:12]) + `"`
}()

// getOpenAPI serves the OpenAPI document (GET /openapi.json). It is public: the contract is no
// secret, the data behind it is.
func (s *Server) getOpenAPI(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", openAPIETag)
	h.Set("X-Content-Type-Options", "nosniff")
	http.ServeContent(w, r, "openapi.json", time.Time{}, bytes.NewReader(openAPIDoc))
}
