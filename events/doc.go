// Package events holds the hub's v1 event catalogue: the CloudEvents envelope, the payload
// types, their JSON Schemas, validation, the HTTP codecs, the bureau registry and the reference
// data (townships, industries) that validation checks against. Everything it needs is embedded;
// it reads no files and keeps no mutable global state (the embedded tables are parsed once, on
// first use, and never change).
//
// # The v1 contract
//
// An event is a CloudEvents 1.0 envelope (Event) whose attributes mean:
//
//   - specversion "1.0";
//   - id, unique per source, at most 128 characters; (source, id) identifies an event and
//     sending it again is a no-op;
//   - source "/bureaus/{code}" with a code of the bureau registry (Bureaus, LookupBureau; data
//     in data/bureaus.json: the 29 units of the plan's 附件2 and the hotlines hotline-12345,
//     hotline-12315, hotline-12331); it must be the sending bureau's own;
//   - type, one of Types; the HubTypes are written by the hub alone: the incident lifecycle
//     (incident.detected 群体性、突发性消费事件, incident.updated, incident.resolved) with source
//     HubSource, and silences (silence.created, silence.deleted) with the officer's bureau as
//     source, written by the gateway on /v1/silences. incident.detected gained optional fields
//     (level, title, fingerprint…) before the hub ever emitted one, so no v1 reader saw the
//     older shape; merchant.linked (关联经营者: an event that named no code linked to
//     a merchant) comes from the hub's matcher (source HubSource, method auto) or from an
//     officer's bureau through the gateway's link route (method manual, ValidateLink), never
//     through POST /v1/events;
//   - subject, the merchant's unified social credit code (统一社会信用代码, GB 32100-2015, check
//     character verified). A complaint.received with no known code omits it and carries
//     data.merchant_name and data.address instead;
//   - time, RFC 3339;
//   - datacontenttype absent or application/json; data a JSON object (data_base64 refused);
//   - dataschema absent or the type's v1 schema URI (SchemaURI).
//
// data follows the type's JSON Schema (JSON Schema 2020-12), embedded from schemas/{type}.json
// and published under its $id, SchemaBaseURI + type + ".v1.json", e.g.
// https://fangxin.lizhou.gov.cn/schemas/complaint.received.v1.json (Schema returns the document).
// The schemas are closed (additionalProperties false): a misspelt field is an error, not a silent
// loss. Beyond the schemas, Validate checks that a township is one of Lizhou's 15 (nine-digit
// code or exact name, LookupTownship), that an industry is a GB/T 4754-2017 class (小类, level 4,
// LookupIndustry) and that bureau codes in data are registered.
//
// Validate returns every Problem of an event at once, in a fixed order, each with a stable Rule
// word for programs and a plain-Chinese Detail (DetailEN in English) for the official.
// DecodeHTTP reads the CloudEvents HTTP binding (structured, batch, binary) through the
// CloudEvents Go SDK; Decoded.Validate combines reading and validation problems. Example returns
// a valid event of each type.
//
// Personal data: complaint.received may carry data.consumer (name, phone). It is visible only to
// the bureau that sent it and must never reach a shared view; readers building shared views drop
// it (ComplaintReceived.Consumer).
//
// # What may change within v1
//
// Nothing that makes a valid v1 event invalid or changes its meaning. The hub may accept more
// (a new catalogue type with its own schema, a new known value of an open field such as
// certification scheme) but may not add a required field, narrow an enum, or add an optional
// field to a closed schema under the same $id: an old reader validating with the old schema would
// reject the new field. Such changes make a new version.
//
// # The path to v2
//
// A v2 of a type gets a new schema file and $id (…/complaint.received.v2.json); both versions
// are accepted on input for a transition period, and the event names its version in dataschema
// (writers should store events with WithDataSchema, so the log is self-describing). The log is
// never rewritten: old events stay as they were written. Instead, readers upcast on read. An
// UpcasterRegistry maps a version key (VersionKey: the event's dataschema, or its type when it
// has none) to an Upcaster that returns the event in the next version, with dataschema set to
// that version; UpcasterRegistry.Upcast applies them in a chain (v0 -> v1 -> v2) until the
// event is current. Projections and the history endpoint call Upcast on every event they read,
// so a rebuild from the log folds old and new events with the same current code. A type renamed
// in v2 registers its upcaster under the old type name. The registry is an ordinary value built
// at start-up and passed to readers, not a package global; the tests show a v0 -> v1 upcaster.
package events
