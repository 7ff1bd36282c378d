// Package connectors turns the records of a bureau's own systems (spreadsheet and CSV exports,
// office databases, hotline work orders, pushed JSON) into v1 events and delivers them to the
// hub, exactly once, carrying on past bad records.
//
// # Pieces
//
// A connector is one YAML file (see Config and connectors/examples/): a name, the sending
// bureau, a source, a sink and a mapping.
//
//   - Source kinds (csv, xlsx in connectors/file; more in their own packages) read records with
//     a stable position (file and row, or table and key) and a checkpoint token. See Source.
//   - A Mapping, declared in YAML, turns a record (column name -> value) into an events.Event:
//     Chinese column names, constants, templates, value maps (合格 -> pass), dates (2018年12月24日,
//     2018/12/24, Excel serials; Asia/Shanghai when no zone), amounts (1,200.50元, 1.2万),
//     township and industry names to codes. Every event is checked with events.Validate before
//     it is sent.
//   - Sink kinds (gateway over HTTP in connectors/gatewaysink; kafka in connectors/kafkasink)
//     deliver batches and answer per event. See Sink.
//   - Run drives them: batches, a rate limit (golang.org/x/time/rate), a progress bar on a
//     terminal, Prometheus metrics, the dead-letter file and the checkpoint.
//   - Every kind has a typed config struct whose tags (yaml, desc, default, required, secret)
//     are its spec: SpecOf lists them, Prepare applies defaults and reads ${ENV} secrets, and
//     `fangxin connect spec` prints the reference that docs/connectors.md is generated from.
//     A Registry (connectors/kinds.All) names the kinds a binary knows.
//
// # Exactly once
//
// Event ids are deterministic: {name}:{type}:{key columns}, or a hash of the connector name, type
// and normalised record when no key is declared. The hub treats (source, id) as the identity of
// an event, so sending one again changes nothing. The runner saves the source's checkpoint
// (atomically: temp file, fsync, rename) only after the sink acknowledged the batch and the
// dead-letter file was synced. A run killed at any point resumes at the checkpoint and re-sends
// at most one batch, which the hub ignores: every record arrives exactly once. A dead-letter line
// may repeat after such a crash; it is never lost.
//
// # Dead letters
//
// A record that fails mapping, validation, or the hub's own checks becomes one JSON line in
// the dead-letter file: position, the raw record, the stage, and the reason in Chinese (reason)
// and English (reason_en), naming the column and the row. The rest of the file goes on.
package connectors
