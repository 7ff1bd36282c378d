package gateway

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/lizhou/fangxin/events"
)

// The console (查询台) is a single page for officials: paste the bureau key, search merchants,
// read a merchant's shared profile and history, search events. It is plain HTML, CSS and
// JavaScript with no build step and no external resource (the network is closed), and it only
// calls this API. The sources are kept as three files under console/ (open console/index.html
// from disk to work on the layout); the gateway serves them as one document at GET /, because the
// API owns every other path.
//
//go:embed console/index.html console/console.css console/console.js
var consoleFS embed.FS

// The tags of console/index.html that the served page replaces by the inlined files.
const (
	consoleCSSTag = `<link rel="stylesheet" href="console.css">`
	consoleJSTag  = `<script src="console.js"></script>`
)

type consolePage struct {
	html []byte
	csp  string
	etag string
}

// consoleRefData is reference data the page needs and the API does not serve: the district's
// townships (乡镇街道) and the GB/T 4754-2017 codes, for the filters' suggestion lists.
type consoleRefData struct {
	Townships  []consoleCode `json:"townships"`
	Industries []consoleCode `json:"industries"`
}

type consoleCode struct {
	Code  string `json:"code"`
	Name  string `json:"name"`
	Level int    `json:"level,omitempty"`
}

func buildConsoleRefData() consoleRefData {
	var rd consoleRefData
	for _, t := range events.Townships() {
		rd.Townships = append(rd.Townships, consoleCode{Code: t.Code, Name: t.Name})
	}
	seen := map[string]bool{}
	for _, c := range events.IndustryClasses() {
		for _, in := range events.IndustryPath(c.Code) {
			if !seen[in.Code] {
				seen[in.Code] = true
				rd.Industries = append(rd.Industries, consoleCode{Code: in.Code, Name: in.Name, Level: in.Level})
			}
		}
	}
	return rd
}

func cspHash(b []byte) string {
	sum := sha256.Sum256(b)
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}

// buildConsole assembles the page once: the stylesheet and the script inlined, the reference data
// as a JSON data block, and a Content-Security-Policy that allows exactly those inline blocks and
// requests to this origin.
func buildConsole() (consolePage, error) {
	read := func(name string) ([]byte, error) { return consoleFS.ReadFile("console/" + name) }
	page, err := read("index.html")
	if err != nil {
		return consolePage{}, err
	}
	css, err := read("console.css")
	if err != nil {
		return consolePage{}, err
	}
	js, err := read("console.js")
	if err != nil {
		return consolePage{}, err
	}
	if bytes.Contains(bytes.ToLower(js), []byte("</script")) || bytes.Contains(bytes.ToLower(css), []byte("</style")) {
		return consolePage{}, fmt.Errorf("console: console.js or console.css closes its own element")
	}
	ref, err := json.Marshal(buildConsoleRefData()) // escapes <, > and &: safe inside <script>
	if err != nil {
		return consolePage{}, err
	}
	for _, tag := range []string{consoleCSSTag, consoleJSTag} {
		if bytes.Count(page, []byte(tag)) != 1 {
			return consolePage{}, fmt.Errorf("console: index.html must contain %s exactly once", tag)
		}
	}
	var style, script bytes.Buffer
	style.WriteString("<style>\n")
	style.Write(css)
	style.WriteString("</style>")
	script.WriteString(`<script type="application/json" id="refdata">`)
	script.Write(ref)
	script.WriteString("</script>\n<script>\n")
	script.Write(js)
	script.WriteString("</script>")
	page = bytes.Replace(page, []byte(consoleCSSTag), style.Bytes(), 1)
	page = bytes.Replace(page, []byte(consoleJSTag), script.Bytes(), 1)

	csp := strings.Join([]string{
		"default-src 'none'",
		"connect-src 'self'",
		"img-src 'self' data:",
		"style-src " + cspHash(append([]byte("\n"), css...)),
		"script-src " + cspHash(append([]byte("\n"), js...)),
		"base-uri 'none'",
		"form-action 'none'",
		"frame-ancestors 'none'",
	}, "; ")
	sum := sha256.Sum256(page)
	return consolePage{html: page, csp: csp, etag: `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`}, nil
}

var consoleOnce = sync.OnceValues(buildConsole)

// getConsole serves the console (GET /). The page is public; every datum it shows needs a key.
func (s *Server) getConsole(w http.ResponseWriter, r *http.Request) {
	page, err := consoleOnce()
	if err != nil {
		panic(err) // a build defect: the route's recovery answers 500 and logs it
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", page.csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", page.etag)
	http.ServeContent(w, r, "index.html", time.Time{}, bytes.NewReader(page.html))
}
