package hub

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/lizhou/fangxin/connectors"
	"github.com/lizhou/fangxin/connectors/kinds"
	"github.com/lizhou/fangxin/connectors/push"
	"github.com/lizhou/fangxin/gateway"
)

// loadPushConnectors reads every *.yaml of dir as a push connector; every problem of every file
// is reported at once.
func loadPushConnectors(dir string) (map[string]gateway.PushConnector, error) {
	if dir == "" {
		return nil, nil
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return nil, err
	}
	reg := push.Registry(kinds.All(), push.Kind)
	out := map[string]gateway.PushConnector{}
	var errs []error
	for _, f := range files {
		l, err := connectors.Load(f, reg)
		if err != nil {
			errs = append(errs, fmt.Errorf("--connectors-dir: %w", err))
			continue
		}
		pc, err := gateway.NewPushConnector(l)
		if err != nil {
			errs = append(errs, fmt.Errorf("--connectors-dir: %s: %w", f, err))
			continue
		}
		if _, dup := out[l.Name]; dup {
			errs = append(errs, fmt.Errorf("--connectors-dir: %s: a second connector named %s", f, l.Name))
			continue
		}
		out[l.Name] = pc
	}
	return out, errors.Join(errs...)
}
