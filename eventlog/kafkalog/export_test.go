package kafkalog

// ToKafka exposes the record encoding to the benchmark's raw kafka-go baseline, so both write
// byte-identical records.
var ToKafka = toKafka
