// Package embedded is the default read model: the shared views kept in the data folder, with no
// service to run. It implements projections.Store and answers the gateway's queries (Profile,
// History, SearchMerchants, SearchEvents, Unlinked); it passes projections/storetest.
//
// # Layout (measured choices: see BenchmarkApply, BenchmarkHistory, BenchmarkSearch)
//
// views.db is a bbolt file holding the structured views, the source of every answer:
//   - timeline: uscc 0x00 | ^time big-endian | event key -> type, bureau, entry JSON. The time part
//     is MaxInt64-unixNano for times after 1970 (order-preserving for earlier ones too), so a
//     merchant's history newest first, ties by key ascending, is one range scan, a time window is
//     a pair of key bounds and a cursor is a seek. Unlinked events (no subject) are the timeline
//     of the empty code.
//   - events: event key -> log position | timeline key. It enforces exactly once per key.
//   - profiles: uscc -> MerchantProfile JSON, folded with the caller's FoldFunc in the same
//     transaction that records the event.
//   - hits: uscc -> MerchantHit JSON, written with the profile when it changes: a search hit
//     costs a few hundred bytes to decode, not a profile with its open complaints.
//   - pending: the events whose search documents are not yet known durable (see Recovery), as
//     sequence number (in commit order) -> flags | event key, so writing and clearing markers
//     appends to and trims the end of the bucket instead of dirtying a page per event key.
//
// merchants.bleve and events.bleve are bleve v2 (scorch) indexes for Chinese text: the merchant
// index (name and address with the cjk analyzer; uscc, township and industry as keywords;
// certified and listed as booleans) and the event-text index (complaint summary and category,
// inspection findings, sampled product, penalty legal basis, warning title and body, the merchant
// name; type, bureau, township, merchant and the event's day (UTC+8) as keywords; the document
// id is the sort key, its exact time (newest first) then the event key, so searches sort by id,
// and a From/To window is answered exactly: whole days by the day, the two partial days at its
// ends by a range of ids). Neither stores documents: hits are read back from bbolt, so answers
// never disagree with Profile and History. Each index holds a fingerprint of the mapping and
// document version it was built with; Open re-creates from views.db an index whose fingerprint
// differs or is missing (a folder written by an earlier build), as it does a missing one.
// Personal data (TimelineEntry.Private) is kept in the timeline as given and never indexed.
//
// Chinese words match as phrases: the cjk analyzer emits overlapping bigrams (水果超市 -> 水果
// 果超 超市), and each word of a query must appear as a phrase of those bigrams in one field, so
// 火锅 finds 老张火锅店 but neither 火车站餐厅 nor 锅炉维修部. Words are ANDed. A one-character
// word matches every bigram that contains it. A word that looks like a unified social credit code
// prefix (digits and code letters, at least one digit) also matches merchants by code prefix.
//
// # Contract
//
//   - Safe for concurrent use. Concurrent Apply calls are group-committed: one goroutine gathers
//     the waiting calls (up to Options.MaxBatch, waiting up to Options.GroupWait for the other
//     Apply calls in progress, so N callers in a loop commit groups of N; a lone caller never
//     waits) into one bbolt transaction (one fsync) and answers them. Under a stream of calls
//     that arrive while groups commit (the projector's), a group also gathers until
//     Options.CommitInterval (60 ms) after the start of the last commit, so groups grow with
//     the rate instead of the commits' count. ApplyChain (projections.ChainStore) queues a
//     merchant's backlog together, in order, so it shares groups instead of taking one commit
//     per event; the first link that fails ends the chain (the rest fail with ErrChainBroken
//     and change nothing). A second goroutine, the
//     indexer, takes every group committed since its last write, merges their documents (a
//     later document of the same id wins) and writes one bleve batch per index, the two in
//     parallel. Groups reach bleve in commit order. While no search waits for it, the indexer
//     writes at most once per Options.IndexInterval (200 ms): a steady stream of small groups
//     then makes a few larger segments instead of many small ones, each persisted with its own
//     fsyncs and merged again later. BenchmarkApply reports events/group.
//   - The commit stage keeps the decoded profiles of recently folded merchants
//     (Options.ProfileCache), trusted only while bbolt holds exactly the encoding they came
//     from, so a merchant's next event does not decode its profile from JSON again.
//   - Durable on return: Apply returns nil once bbolt has committed (fsync) the event, its
//     profile and a pending marker for its search documents. The search half is durable through
//     that marker: the indexer clears it only after scorch has persisted the batch, and Open
//     re-indexes whatever is still marked. (This changed after measurement, see
//     docs/performance.md: waiting for bleve in Apply made a burst of one merchant, whose
//     events the log hands over one at a time, pay one bleve persist per event.) scorch's Batch
//     blocks until the persister has written the segment (zapx fsyncs it) and committed and
//     synced its root bolt, unless the index was opened with unsafe_batch, which this package
//     never sets (bleve v2.6.3 index/scorch/scorch.go prepareSegment waits on
//     introduction.persisted; persister.go persistSnapshotDirect calls rootBolt.Sync). bleve
//     does not fsync the directory after creating a segment file: kill -9 of the process is
//     covered everywhere; for power loss, ext4's fsync of the new file commits the journal
//     transaction holding its directory entry, other file systems may not.
//   - Exactly once per event key: a key recorded at another position is a duplicate and changes
//     nothing; a key recorded at the same position is a redelivery: its search documents (and
//     its merchant's) are written again, an idempotent upsert by document id, which completes
//     whatever of it a crash or a failed index write left undone. applied is true only for the
//     call that first records the event.
//   - Recovery: a failed index write is retried by the indexer after Options.IndexRetry, merged
//     with what came since, and reported to Options.Logger; a redelivery also completes it;
//     Open re-indexes everything still pending, and rebuilds a missing, unreadable or outdated
//     (other mapping) bleve index from bbolt entirely, so deleting the *.bleve folders is a safe
//     way to re-index.
//   - Ownership: every returned value is decoded afresh for the call and owned by the caller.
//     Apply copies the entry's Data and Private: the caller may reuse them once it returns.
//   - Reads see every Apply that has returned: Profile, History and Unlinked read bbolt; a search
//     first waits until the indexer has been through every group committed before it (written,
//     or failed and left pending: a failing index delays searches by one attempt, never more).
package embedded
