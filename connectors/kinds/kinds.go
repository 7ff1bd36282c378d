// Package kinds lists every connector kind the fangxin binary knows. Add a new kind here, one
// line, and it is usable in connector files and documented by `fangxin connect spec`.
package kinds

import (
	"github.com/lizhou/fangxin/connectors"
	"github.com/lizhou/fangxin/connectors/file"
	"github.com/lizhou/fangxin/connectors/gatewaysink"
	"github.com/lizhou/fangxin/connectors/kafkasink"
	"github.com/lizhou/fangxin/connectors/postgres"
	"github.com/lizhou/fangxin/connectors/push"
)

// All returns a registry of every source and sink kind.
func All() *connectors.Registry {
	r := connectors.NewRegistry()
	r.AddSource(file.CSV)
	r.AddSource(file.XLSX)
	r.AddSource(postgres.Kind)
	r.AddSource(push.Kind)
	r.AddSink(gatewaysink.Kind)
	r.AddSink(kafkasink.Kind)
	return r
}
