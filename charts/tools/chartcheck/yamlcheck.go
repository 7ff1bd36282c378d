package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	yamlv3 "go.yaml.in/yaml/v3"
)

// runYAML parses every document of every file (a duplicate key is an error too).
func runYAML(files []string) error {
	var bad []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		dec := yamlv3.NewDecoder(bytes.NewReader(b))
		for n := 1; ; n++ {
			var v any
			err := dec.Decode(&v)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				bad = append(bad, fmt.Sprintf("%s (document %d): %v", f, n, err))
				break
			}
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("invalid YAML:\n  %s", strings.Join(bad, "\n  "))
	}
	fmt.Printf("yaml: %d files parse\n", len(files))
	return nil
}
