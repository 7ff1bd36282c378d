// Package file holds the source kinds that read files bureaus export by hand: csv (UTF-8, GBK
// or GB18030, detected or declared) and xlsx (streamed row by row with excelize, so a large
// workbook does not have to fit in memory as cells).
//
// Both read a header row of column names (Chinese as the office wrote them) and hand out every
// later non-empty row as a record positioned by file and row number (as a spreadsheet program
// shows it). The checkpoint is the row number together with the file's size and modification
// time: when the file changed since the checkpoint, reading starts over at the top, which is
// safe because event ids are derived from the records (the hub ignores what it already has).
package file

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/lizhou/fangxin/connectors"
)

// token is the checkpoint of a file source.
type token struct {
	Size  int64 `json:"size"`
	MTime int64 `json:"mtime_ns"`
	Row   int   `json:"row"`
}

func (t token) String() string {
	b, _ := json.Marshal(t)
	return string(b)
}

// resumeRow returns the row to resume after: the checkpoint's, or 0 (from the top) when there
// is none or the file changed since.
func resumeRow(checkpoint string, fi os.FileInfo, log *slog.Logger, path string) (int, error) {
	if checkpoint == "" {
		return 0, nil
	}
	var t token
	if err := json.Unmarshal([]byte(checkpoint), &t); err != nil {
		return 0, fmt.Errorf("检查点无法识别 (unreadable checkpoint) %q: %w", checkpoint, err)
	}
	if t.Size != fi.Size() || t.MTime != fi.ModTime().UnixNano() {
		log.Warn("file changed since the checkpoint: reading it again from the top (events already sent keep their ids)",
			"file", path, "checkpoint_row", t.Row)
		return 0, nil
	}
	return t.Row, nil
}

func newToken(fi os.FileInfo, row int) string {
	return token{Size: fi.Size(), MTime: fi.ModTime().UnixNano(), Row: row}.String()
}

// header maps column indexes to names, rejecting duplicate names (a mapping could not tell
// them apart). Blank header cells leave their column out.
func header(cells []string, where string) ([]string, error) {
	seen := map[string]bool{}
	names := make([]string, len(cells))
	for i, c := range cells {
		n := clean(c)
		if n == "" {
			continue
		}
		if seen[n] {
			return nil, fmt.Errorf("%s：表头中列「%s」重复 (duplicate column %q in the header)", where, n, n)
		}
		seen[n] = true
		names[i] = n
	}
	if len(seen) == 0 {
		return nil, fmt.Errorf("%s：表头行为空 (the header row is empty)", where)
	}
	return names, nil
}

// clean trims spaces (the full-width one too) and a byte-order mark.
func clean(s string) string {
	return strings.TrimFunc(s, func(r rune) bool {
		return r == ' ' || r == '\t' || r == '\r' || r == '\n' || r == '\u3000' || r == '\u00a0' || r == '\ufeff'
	})
}

// values builds a record's values from a row's cells; it reports false for a row with no
// non-blank cell.
func values(names, cells []string) (map[string]any, bool) {
	vals := make(map[string]any, len(names))
	nonBlank := false
	for i, n := range names {
		if n == "" {
			continue
		}
		v := ""
		if i < len(cells) {
			v = cells[i]
		}
		if clean(v) != "" {
			nonBlank = true
		}
		vals[n] = v
	}
	return vals, nonBlank
}

func display(path string) string { return filepath.Base(path) }

// pathSetter is implemented by both configs: `fangxin connect check CONFIG FILE` reads FILE
// instead of the configured path.
type pathSetter interface{ SetPath(string) }

var (
	_ pathSetter              = (*CSVConfig)(nil)
	_ pathSetter              = (*XLSXConfig)(nil)
	_ connectors.SourceConfig = (*CSVConfig)(nil)
	_ connectors.SourceConfig = (*XLSXConfig)(nil)
	_ connectors.Progresser   = (*csvSource)(nil)
	_ connectors.Progresser   = (*xlsxSource)(nil)
)
