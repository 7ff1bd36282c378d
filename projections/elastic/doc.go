// Package elastic is the distributed read model: the shared views in Elasticsearch 8, through
// github.com/elastic/go-elasticsearch/v8. It implements projections.Store and answers the
// gateway's queries (Profile, History, SearchMerchants, SearchEvents, Unlinked); it passes
// projections/storetest, the same suite as the embedded backend.
//
// # Indices
//
// Two index families, each created from a composable index template that Open installs
// ({prefix}-timeline and {prefix}-merchants, patterns {prefix}-timeline-* and
// {prefix}-merchants-*), with strict mappings (dynamic: strict) and _meta.schema naming the
// document layout:
//
//   - {prefix}-timeline-{generation}: one document per event, id = SHA-256 of the event key
//     (base64url). Fields: key, uscc (absent for unlinked events), type, bureau, township (the
//     event's own, else its merchant's) as keywords; time (date) and time_ns (long: Unix
//     nanoseconds, exact order and exact [From, To) windows); partition and offset (the log
//     position that recorded it); text (the event's words and its merchant's name, one value
//     each, so a phrase never spans two); event (the CloudEvent JSON) and private (personal
//     data) kept in _source only (object, enabled: false): stored, never indexed, so personal
//     data can never be found by a search.
//   - {prefix}-merchants-{generation}: one document per merchant, id = USCC. Fields: uscc, name
//     and address (text), township, industry and industry_prefixes (every prefix of the
//     GB/T 4754 code, so H62 is one term lookup), certified and listed (boolean), partition and
//     offset of the last event folded, and profile (the MerchantProfile JSON, _source only).
//
// Versioned names sit behind the aliases {prefix}-timeline and {prefix}-merchants. Open reads
// and writes through the aliases (writes with require_alias, so a deleted generation is never
// re-created by a write). OpenGeneration builds a new generation while the aliases keep pointing
// at the live one, and Promote moves both aliases and deletes the old generation in one atomic
// _aliases call, so queries answer throughout a rebuild and switch to the new views at once. A
// read that resolved an alias an instant before the call gets index_not_found for the generation
// just deleted; it is asked again (up to three times, 50 ms apart) and then reads the new one.
//
// # Chinese text
//
// The integ-test-zip distribution the project runs (8.19) ships only the modules apm,
// transport-netty4, x-pack-core and x-pack-security: no analysis-common, so there is no cjk
// analyzer, no cjk_bigram filter, no ngram tokenizer (GET _analyze with analyzer "cjk" answers
// "failed to find global analyzer [cjk]"). The standard analyzer is there: its Unicode text
// segmentation (UAX #29) makes one token per Han character (老张火锅店 -> 老 张 火 锅 店) and
// ordinary words of Latin letters and digits, lower-cased. This package indexes text with the
// standard analyzer and searches each word of a query as a match_phrase: the characters of the
// word at consecutive positions, which is exactly "the word is a substring of one value".
// 火锅 finds 老张火锅店 and not 火车站餐厅 or 锅炉维修部; 水果超市 finds 利州区水果超市; a
// one-character word finds every value holding the character; 火锅炉 finds nothing. The words of
// a query are ANDed (each may match a different value or field). index_phrases (indexing every
// pair of adjacent tokens, the CJK bigram) was measured and left off: it made writes about 30%
// dearer for phrase queries that are fast without it at the hub's scale. The same mapping works
// unchanged on a full distribution; an IK or smartcn analyzer would match whole dictionary words
// only and is deliberately not used. A word with no letter or digit (punctuation) is ignored; a
// word that looks like a unified social credit code prefix also matches merchant codes by prefix.
//
// # Contract
//
//   - Safe for concurrent use. Concurrent Apply calls are grouped: a dispatcher gathers waiting
//     calls (up to MaxBatch, FlushBytes) and hands each group to one of Workers; while every
//     worker is busy, calls accumulate, so groups grow with load. Calls with the same partition
//     key (the merchant, or the event key of an unlinked event) never share or overlap groups.
//   - Exactly once per event key. A group reads, in one _mget, the recorded position of every
//     key and every merchant's profile (real-time GET), except for the calls that need no read
//     (below). It then creates the timeline documents
//     of new keys (op_type create: of two writers of one key only one succeeds; a 409 is
//     resolved by reading the recorded position), and only after that writes the folded
//     profiles with version_type external, version = log offset + 1, so a writer holding an
//     older profile can never overwrite a newer one; a version conflict is verified by reading
//     the profile back (it must already hold the event), never taken as success. A key recorded
//     at another position is a duplicate: applied=false, nothing written. A key recorded at the
//     same position is a redelivery: applied=false, and whatever the first delivery did not
//     finish is completed (the profile fold if its LastPosition is older, the timeline document
//     if the profile holds the event but the document is missing, the re-index of the merchant's
//     events). A new key whose merchant's profile already holds a later position means the log
//     was recreated or repartitioned under these views: a *projections.PermanentError that says
//     so, never a silent drop. A merchant's events are expected in one log partition.
//   - Reads skipped (Config.ProfileCache). An event without a merchant reads nothing first: its
//     create's 409 tells a recorded key, and its position decides as above. An event whose
//     merchant's profile this store wrote last takes that profile from memory and does not read
//     its key either: the profile is behind the event, so the event is new or a redelivery whose
//     fold is missing, and in both cases it is created (or found by the 409 at its own position)
//     and folded. The cached profile is trusted only while every log offset of the partition
//     between its position and the event reached this store and settled without error (or still
//     waits under another key): an offset that never came here (another process held the
//     partition) or failed may hide an event of the merchant folded elsewhere, and then the
//     profile is read. Any version conflict, duplicate or failure drops cached profiles; a
//     timeline create that lands in another generation than the cached profile was written to
//     (a rebuild was promoted) fails the call, which is delivered again and reads. Profiles
//     are still written with version_type external. Without these reads Elasticsearch spends
//     about a third less CPU per event (BenchmarkApply): real-time GETs of documents written
//     since the last refresh are dear.
//   - A merchant's name or township appears in its events' text and township: when a fold
//     changes them, the merchant's other event documents are rewritten in the same group.
//   - Chains (projections.ChainStore): ApplyChain sends a merchant's queued events together.
//     They may share a group, in order; each link folds the profile the link before it left
//     (MerchantProfile.Clone), and only the last link's profile is written (if that write fails,
//     the links it covered are written one by one, so each link's result is its own). The
//     first link that fails ends the chain: the links after it in the group, and in later groups
//     (chain.broken), fail with ErrChainBroken without writing. Without chains a merchant with a
//     backlog costs one group round trip per event (its events can never share a group), which
//     made the longest merchant backlog, not Elasticsearch, set the projector's pace.
//   - Durable on return: Apply returns nil once Elasticsearch acknowledged every write, which by
//     default (index.translog.durability: request) means fsync'd to the translog of every active
//     shard copy.
//   - Visible within a second: the indices refresh every second (refresh_interval 1s), so what
//     Apply wrote is searchable about a second after it returns; profiles and the exactly-once
//     bookkeeping read in real time and never wait for a refresh. With Config.VisibleOnReturn
//     (the conformance suite's read-your-writes), the group's calls return only after a forced
//     refresh; Sync forces one on demand. Forced refreshes are coalesced (refresher): at most one
//     runs at a time, two start at least RefreshInterval apart, and one serves every group that
//     finished writing before it started. (refresh=wait_for was measured too: it waits for the
//     scheduled refresh twice, once per bulk, and was slower.) On this project's 2-core machines
//     forced refreshes were the main cost of Apply compared with raw bulk indexing
//     (Elasticsearch has one refresh thread there, and with the projector's 256 calls in flight
//     each Apply waited for one), which is why the hub does not force them; see BenchmarkApply.
//   - Failures: no answer (connection refused while a node restarts, timeouts), 429 and 5xx are
//     retried with exponential backoff (Retry), per bulk item for partial failures; Apply
//     returns an ordinary error only once the budget is spent, and the projector retries the
//     event and later nacks it: nothing is lost, and the retry completes the event as a
//     redelivery. A document the mapping rejects (a 400 for the item: mapper or document
//     parsing, immense terms, …) returns a *projections.PermanentError carrying Elasticsearch's
//     reason, which sends the event to the poison queue; so do events this backend can never
//     store (checkEntry).
//   - Ownership: Apply does not retain the entry after it returns; every returned value is
//     decoded afresh for the call and owned by the caller.
//   - Close finishes the groups already accepted (with their retries) and returns; calls after
//     Close return ErrClosed.
//
// Queries: offset+limit is capped at 10000 (index.max_result_window); beyond it the query is
// rejected with an error wrapping projections.ErrBadQuery.
package elastic
