#!/usr/bin/env bash
# stack.sh: the distributed mode's real services for development and CI, on loopback.
#
#   scripts/stack.sh deps     fetch and cache Kafka and Elasticsearch (Maven), install kcat (apt)
#   scripts/stack.sh up       deps, then start Kafka (KRaft) and Elasticsearch and wait for both
#   scripts/stack.sh down     stop both, by the PIDs recorded at start
#   scripts/stack.sh status   say what runs where (exit 1 unless all run)
#   scripts/stack.sh env      print the exports the hub and the tests read:
#                             eval "$(scripts/stack.sh env)"
#   scripts/stack.sh reset    down, then delete all data and logs (the cache stays)
#
# up, down, status and reset take service names to act on only some: kafka, elasticsearch
# (e.g. `scripts/stack.sh down kafka && scripts/stack.sh up kafka` restarts the broker).
#
# Artifacts come from Maven Central through the machine's mvn into $REPO/.cache/stack (a second
# `up` needs no network); data, logs and PID files live in $REPO/.stack. Both are git-ignored.
#
# Settings (env):
#   KAFKA_PORT (9092), KAFKA_CONTROLLER_PORT (KAFKA_PORT+1), KAFKA_VERSION (4.1.2),
#   KAFKA_HEAP (512m), ES_PORT (9200), ES_TRANSPORT_PORT (9300), ES_VERSION (8.19.7),
#   ES_HEAP (512m), ES_JAVA_HOME (a JDK 21 or 17 found under /usr/lib/jvm), ES_USER (fangxin-es),
#   STACK_START_TIMEOUT seconds (300), STACK_SKIP_KCAT=1 to skip the apt step,
#   STACK_STATE (data, logs, PIDs; $REPO/.stack): a second stack on other ports needs its own,
#   STACK_MAVEN_REPO (the Maven local repository; $REPO/.cache/stack/m2).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="$REPO/.cache/stack"
STATE="${STACK_STATE:-$REPO/.stack}"

KAFKA_VERSION="${KAFKA_VERSION:-4.1.2}"
KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-$((KAFKA_PORT + 1))}"
KAFKA_HEAP="${KAFKA_HEAP:-512m}"
# The slf4j 1.x binding Kafka's own distribution ships; kafka_2.13's pom does not pull it, and
# without it the broker logs nothing.
LOG4J_VERSION="${LOG4J_VERSION:-2.25.3}"
ES_VERSION="${ES_VERSION:-8.19.7}"
ES_PORT="${ES_PORT:-9200}"
ES_TRANSPORT_PORT="${ES_TRANSPORT_PORT:-9300}"
ES_HEAP="${ES_HEAP:-512m}"
ES_USER="${ES_USER:-fangxin-es}"
START_TIMEOUT="${STACK_START_TIMEOUT:-300}"

KAFKA_COORD="org.apache.kafka:kafka_2.13:$KAFKA_VERSION"
LOG4J_COORD="org.apache.logging.log4j:log4j-slf4j-impl:$LOG4J_VERSION"
ES_COORD="org.elasticsearch.distribution.integ-test-zip:elasticsearch:$ES_VERSION:zip"

KAFKA_HOME="$CACHE/kafka_2.13-$KAFKA_VERSION"
ES_HOME="$CACHE/elasticsearch-$ES_VERSION"
M2="${STACK_MAVEN_REPO:-$CACHE/m2}"
KAFKA_STATE="$STATE/kafka"
ES_STATE="$STATE/es"

# Elasticsearch runs as ES_USER, which must reach its distribution and its state through every
# parent folder. When one sits under a folder others may not enter (a clone under /root, say),
# it runs from /var/lib/fangxin-stack instead: a copy of the distribution, and the state.
searchable() { # searchable PATH: every existing folder on the way is enterable by others
	local d="$1"
	while [[ "$d" != / && "$d" != . ]]; do
		if [[ -e "$d" ]]; then
			[[ "$(stat -L -c %A "$d")" == ?????????[xt] ]] || return 1
		fi
		d="$(dirname "$d")"
	done
}
ALT_ROOT=/var/lib/fangxin-stack
ES_RUN_HOME="$ES_HOME"
if ! searchable "$ES_HOME"; then
	ES_RUN_HOME="$ALT_ROOT/dist/elasticsearch-$ES_VERSION"
fi
if ! searchable "$ES_STATE"; then
	ES_STATE="$ALT_ROOT/state-$(printf %s "$STATE" | sha1sum | cut -c1-12)/es"
fi

log() { printf 'stack: %s\n' "$*" >&2; }
die() { printf 'stack: error: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------------------------------------
# deps

# mvn_fail LOGFILE COORD...: name the coordinates Maven could not fetch, then exit non-zero.
mvn_fail() {
	local logf="$1"; shift
	log "Maven could not fetch what was asked for: $*"
	local missing
	missing="$(grep -oE "(Could not find artifact|Failure to find|Could not transfer artifact) [^ ]+" "$logf" |
		awk '{print $NF}' | sort -u || true)"
	if [[ -n "$missing" ]]; then
		log "coordinates that failed:"
		printf '  %s\n' $missing >&2
	else
		log "no single artifact named; the last lines of $logf:"
		tail -n 15 "$logf" >&2
	fi
	log "full Maven log: $logf"
	exit 1
}

fetch_kafka() {
	[[ -f "$KAFKA_HOME/.complete" ]] && return 0
	command -v mvn >/dev/null || die "mvn not found: Kafka comes from Maven Central through mvn"
	log "fetching $KAFKA_COORD and its runtime dependencies (+ $LOG4J_COORD)"
	rm -rf "$KAFKA_HOME"
	mkdir -p "$KAFKA_HOME" "$M2"
	cat >"$KAFKA_HOME/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>fangxin.stack</groupId>
  <artifactId>kafka-runtime</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_2.13</artifactId>
      <version>$KAFKA_VERSION</version>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-slf4j-impl</artifactId>
      <version>$LOG4J_VERSION</version>
    </dependency>
  </dependencies>
</project>
EOF
	local logf="$CACHE/mvn-kafka.log"
	if ! mvn -B -f "$KAFKA_HOME/pom.xml" -Dmaven.repo.local="$M2" \
		dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$KAFKA_HOME/libs" \
		>"$logf" 2>&1; then
		mvn_fail "$logf" "$KAFKA_COORD" "$LOG4J_COORD"
	fi
	ls "$KAFKA_HOME/libs/kafka_2.13-$KAFKA_VERSION.jar" >/dev/null 2>&1 ||
		mvn_fail "$logf" "$KAFKA_COORD"
	touch "$KAFKA_HOME/.complete"
}

fetch_es() {
	[[ -f "$ES_HOME/.complete" ]] && return 0
	command -v mvn >/dev/null || die "mvn not found: Elasticsearch comes from Maven Central through mvn"
	log "fetching $ES_COORD"
	mkdir -p "$CACHE/dl" "$M2"
	local logf="$CACHE/mvn-es.log"
	if ! mvn -B -Dmaven.repo.local="$M2" dependency:copy -Dartifact="$ES_COORD" \
		-DoutputDirectory="$CACHE/dl" >"$logf" 2>&1; then
		mvn_fail "$logf" "$ES_COORD"
	fi
	local zip="$CACHE/dl/elasticsearch-$ES_VERSION.zip"
	[[ -f "$zip" ]] || mvn_fail "$logf" "$ES_COORD"
	rm -rf "$ES_HOME"
	if command -v unzip >/dev/null; then
		unzip -q "$zip" -d "$CACHE"
	else
		(cd "$CACHE" && jar xf "$zip")
		chmod +x "$ES_HOME"/bin/*
	fi
	[[ -x "$ES_HOME/bin/elasticsearch" ]] || die "$zip did not unpack to $ES_HOME"
	# The Maven copy is in $M2 already; the unpacked tree is what runs.
	rm -f "$zip"
	touch "$ES_HOME/.complete"
}

install_kcat() {
	if [[ "${STACK_SKIP_KCAT:-}" == 1 ]]; then return 0; fi
	command -v kcat >/dev/null && return 0
	if ! command -v apt-get >/dev/null; then
		log "kcat is missing and apt-get is unavailable: skipping it (fault tests that use kcat will fail)"
		return 0
	fi
	if [[ "$(id -u)" != 0 ]]; then
		log "kcat is missing and installing it needs root: skipping it (run: apt-get install -y kcat)"
		return 0
	fi
	log "installing kcat from Debian"
	if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq kcat; } \
		>"$CACHE/apt-kcat.log" 2>&1; then
		log "could not install kcat (see $CACHE/apt-kcat.log); the stack runs without it"
	fi
}

cmd_deps() {
	mkdir -p "$CACHE"
	fetch_kafka
	fetch_es
	install_kcat
}

# ---------------------------------------------------------------------------------------------
# helpers

java_major() { # java_major JAVA_BIN -> 17, 21, ...
	"$1" -XshowSettings:properties -version 2>&1 |
		awk -F'= ' '/java.specification.version/ {print $2; exit}'
}

kafka_java() {
	local j
	if [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]]; then j="$JAVA_HOME/bin/java"; else j="$(command -v java || true)"; fi
	[[ -n "$j" ]] || die "no java on PATH: Kafka $KAFKA_VERSION needs Java 17+"
	local v; v="$(java_major "$j")"
	[[ "${v%%.*}" -ge 17 ]] 2>/dev/null || die "$j is Java $v: Kafka $KAFKA_VERSION needs Java 17+"
	echo "$j"
}

es_java_home() {
	if [[ -n "${ES_JAVA_HOME:-}" ]]; then echo "$ES_JAVA_HOME"; return; fi
	local want d v
	for want in 21 17; do
		for d in /usr/lib/jvm/*; do
			[[ -x "$d/bin/java" && ! -L "$d" ]] || continue
			v="$(java_major "$d/bin/java")"
			if [[ "$v" == "$want" ]]; then echo "$d"; return; fi
		done
	done
	die "no JDK 17 or 21 under /usr/lib/jvm for Elasticsearch $ES_VERSION (set ES_JAVA_HOME)"
}

alive() { [[ -f "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

kafkaready_bin() {
	local bin="$CACHE/bin/kafkaready" src="$REPO/scripts/kafkaready/main.go"
	if [[ ! -x "$bin" || "$src" -nt "$bin" ]]; then
		mkdir -p "$CACHE/bin"
		(cd "$REPO" && go build -o "$bin" ./scripts/kafkaready) || die "could not build scripts/kafkaready"
	fi
	echo "$bin"
}

kafka_ready() { # kafka_ready TIMEOUT_SECONDS
	"$(kafkaready_bin)" -brokers "127.0.0.1:$KAFKA_PORT" -timeout "${1}s"
}

es_ready() {
	curl -fsS -m 5 "http://127.0.0.1:$ES_PORT/_cluster/health?wait_for_status=yellow&timeout=4s" >/dev/null 2>&1
}

# ---------------------------------------------------------------------------------------------
# Kafka

kafka_config() {
	mkdir -p "$KAFKA_STATE/data" "$KAFKA_STATE/logs"
	cat >"$KAFKA_STATE/server.properties" <<EOF
# Written by scripts/stack.sh at every start; edit the script, not this file.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$KAFKA_STATE/data
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=4
log.retention.hours=168
delete.topic.enable=true
EOF
	cat >"$KAFKA_STATE/log4j2.properties" <<EOF
status = warn
appender.file.type = RollingFile
appender.file.name = file
appender.file.fileName = $KAFKA_STATE/logs/server.log
appender.file.filePattern = $KAFKA_STATE/logs/server.log.%i
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
appender.file.policies.type = Policies
appender.file.policies.size.type = SizeBasedTriggeringPolicy
appender.file.policies.size.size = 50MB
appender.file.strategy.type = DefaultRolloverStrategy
appender.file.strategy.max = 3
rootLogger.level = info
rootLogger.appenderRef.file.ref = file
logger.kafka.name = kafka
logger.kafka.level = info
logger.state.name = state.change.logger
logger.state.level = warn
logger.request.name = kafka.request.logger
logger.request.level = warn
EOF
}

kafka_up() {
	local pidf="$KAFKA_STATE/kafka.pid"
	if alive "$pidf"; then
		log "kafka already running (pid $(cat "$pidf"))"
		return 0
	fi
	port_open "$KAFKA_PORT" && die "127.0.0.1:$KAFKA_PORT is taken by a process this script did not start (set KAFKA_PORT)"
	port_open "$KAFKA_CONTROLLER_PORT" && die "127.0.0.1:$KAFKA_CONTROLLER_PORT is taken by a process this script did not start (set KAFKA_CONTROLLER_PORT)"
	local java cp
	java="$(kafka_java)"
	cp="$KAFKA_HOME/libs/*"
	kafka_config
	local jopts=(-Dlog4j2.configurationFile="file:$KAFKA_STATE/log4j2.properties" -Dkafka.logs.dir="$KAFKA_STATE/logs")
	if [[ ! -f "$KAFKA_STATE/data/meta.properties" ]]; then
		local id
		id="$("$java" "${jopts[@]}" -cp "$cp" kafka.tools.StorageTool random-uuid 2>>"$KAFKA_STATE/logs/format.log" | tail -n1)"
		[[ -n "$id" ]] || die "kafka-storage random-uuid failed; see $KAFKA_STATE/logs/format.log"
		log "formatting Kafka storage (cluster id $id)"
		"$java" "${jopts[@]}" -cp "$cp" kafka.tools.StorageTool format -t "$id" \
			-c "$KAFKA_STATE/server.properties" >>"$KAFKA_STATE/logs/format.log" 2>&1 ||
			die "kafka-storage format failed; see $KAFKA_STATE/logs/format.log"
	fi
	log "starting Kafka $KAFKA_VERSION on 127.0.0.1:$KAFKA_PORT"
	setsid "$java" -Xms"$KAFKA_HEAP" -Xmx"$KAFKA_HEAP" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
		-XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true "${jopts[@]}" \
		-cp "$cp" kafka.Kafka "$KAFKA_STATE/server.properties" \
		>"$KAFKA_STATE/logs/stdout.log" 2>&1 </dev/null &
	echo $! >"$pidf"
}

# ---------------------------------------------------------------------------------------------
# Elasticsearch

es_user() {
	id -u "$ES_USER" >/dev/null 2>&1 && return 0
	[[ "$(id -u)" == 0 ]] || die "user $ES_USER does not exist and creating it needs root"
	log "creating system user $ES_USER (Elasticsearch refuses to run as root)"
	useradd --system --no-create-home --home-dir "$ES_STATE" --shell /usr/sbin/nologin "$ES_USER"
}

es_config() {
	mkdir -p "$ES_STATE"/{config,data,logs,tmp,run}
	if [[ "$ES_STATE" == "$ALT_ROOT"/* ]]; then chmod 755 "$ALT_ROOT" "$(dirname "$ES_STATE")"; fi
	cp -r "$ES_HOME/config/." "$ES_STATE/config/"
	cat >"$ES_STATE/config/elasticsearch.yml" <<EOF
# Written by scripts/stack.sh at every start; edit the script, not this file.
cluster.name: fangxin-dev
node.name: fangxin-es-1
path.data: $ES_STATE/data
path.logs: $ES_STATE/logs
network.host: 127.0.0.1
http.port: $ES_PORT
transport.port: $ES_TRANSPORT_PORT
discovery.type: single-node
cluster.routing.allocation.disk.threshold_enabled: false
EOF
	# The integ-test-zip distribution may or may not carry these modules; a setting of a module
	# that is absent makes the node refuse to start.
	if [[ -d "$ES_HOME/modules/x-pack-security" ]]; then
		echo "xpack.security.enabled: false" >>"$ES_STATE/config/elasticsearch.yml"
	fi
	if [[ -d "$ES_HOME/modules/ingest-geoip" ]]; then
		echo "ingest.geoip.downloader.enabled: false" >>"$ES_STATE/config/elasticsearch.yml"
	fi
	if [[ -d "$ES_HOME/modules/x-pack-ml" ]]; then
		echo "xpack.ml.enabled: false" >>"$ES_STATE/config/elasticsearch.yml"
	fi
	chown -R "$ES_USER:" "$ES_STATE"
}

es_up() {
	local pidf="$ES_STATE/run/es.pid"
	if alive "$pidf"; then
		log "elasticsearch already running (pid $(cat "$pidf"))"
		return 0
	fi
	port_open "$ES_PORT" && die "127.0.0.1:$ES_PORT is taken by a process this script did not start (set ES_PORT)"
	port_open "$ES_TRANSPORT_PORT" && die "127.0.0.1:$ES_TRANSPORT_PORT is taken by a process this script did not start (set ES_TRANSPORT_PORT)"
	local jh
	jh="$(es_java_home)"
	es_user
	es_config
	if [[ "$ES_RUN_HOME" != "$ES_HOME" && ! -f "$ES_RUN_HOME/.complete" ]]; then
		log "$ES_USER cannot enter $ES_HOME: copying the distribution to $ES_RUN_HOME"
		rm -rf "$ES_RUN_HOME"
		mkdir -p "$(dirname "$ES_RUN_HOME")"
		chmod 755 "$ALT_ROOT" "$(dirname "$ES_RUN_HOME")"
		cp -a "$ES_HOME" "$ES_RUN_HOME"
	fi
	runuser -u "$ES_USER" -- test -r "$ES_RUN_HOME/lib" ||
		die "$ES_USER cannot read $ES_RUN_HOME (a parent folder is not enterable by others)"
	log "starting Elasticsearch $ES_VERSION on 127.0.0.1:$ES_PORT as $ES_USER (JDK $jh, state in $ES_STATE)"
	rm -f "$pidf"
	# -d detaches once the node has started; the node writes its own PID file.
	if ! runuser -u "$ES_USER" -- env ES_JAVA_HOME="$jh" ES_PATH_CONF="$ES_STATE/config" \
		ES_TMPDIR="$ES_STATE/tmp" ES_JAVA_OPTS="-Xms$ES_HEAP -Xmx$ES_HEAP" \
		"$ES_RUN_HOME/bin/elasticsearch" -d -p "$pidf" >"$ES_STATE/logs/stdout.log" 2>&1 </dev/null; then
		tail -n 30 "$ES_STATE/logs/stdout.log" >&2 || true
		die "Elasticsearch did not start; logs in $ES_STATE/logs"
	fi
}

# ---------------------------------------------------------------------------------------------
# commands

cmd_env() {
	echo "export FANGXIN_KAFKA_BROKERS=127.0.0.1:$KAFKA_PORT"
	echo "export FANGXIN_ELASTICSEARCH_URL=http://127.0.0.1:$ES_PORT"
}

# Services named on the command line; both when none.
WANT_KAFKA=0
WANT_ES=0
want_services() {
	if (($# == 0)); then
		WANT_KAFKA=1 WANT_ES=1
		return
	fi
	local s
	for s in "$@"; do
		case "$s" in
		kafka) WANT_KAFKA=1 ;;
		elasticsearch | es) WANT_ES=1 ;;
		*) die "unknown service $s (kafka, elasticsearch)" ;;
		esac
	done
}

kafka_up_ready() { alive "$KAFKA_STATE/kafka.pid" && kafka_ready 5 >/dev/null 2>&1; }
es_up_ready() { alive "$ES_STATE/run/es.pid" && es_ready; }

cmd_up() {
	local t0=$SECONDS
	if { ((WANT_KAFKA == 0)) || kafka_up_ready; } && { ((WANT_ES == 0)) || es_up_ready; }; then
		log "already up"
		cmd_env
		return 0
	fi
	mkdir -p "$CACHE" "$STATE"
	if ((WANT_KAFKA)); then fetch_kafka; fi
	if ((WANT_ES)); then fetch_es; fi
	install_kcat
	if ((SECONDS - t0 > 1)); then log "dependencies ready in $((SECONDS - t0)) s"; fi
	local t1=$SECONDS # the start timeout counts from here, not from the downloads
	if ((WANT_KAFKA)); then kafka_up; fi
	if ((WANT_ES)); then es_up; fi
	if ((WANT_KAFKA)); then
		local left=$((START_TIMEOUT - (SECONDS - t1)))
		((left > 10)) || left=10
		if ! kafka_ready "$left"; then
			tail -n 20 "$KAFKA_STATE/logs/server.log" "$KAFKA_STATE/logs/stdout.log" >&2 2>/dev/null || true
			die "Kafka did not become ready; logs in $KAFKA_STATE/logs"
		fi
		log "kafka:         127.0.0.1:$KAFKA_PORT (pid $(cat "$KAFKA_STATE/kafka.pid")), logs in $KAFKA_STATE/logs"
	fi
	if ((WANT_ES)); then
		local deadline=$((t1 + START_TIMEOUT))
		until es_ready; do
			if ! alive "$ES_STATE/run/es.pid" || ((SECONDS > deadline)); then
				tail -n 20 "$ES_STATE/logs/fangxin-dev.log" >&2 2>/dev/null || true
				die "Elasticsearch did not become ready; logs in $ES_STATE/logs"
			fi
			sleep 1
		done
		log "elasticsearch: http://127.0.0.1:$ES_PORT (pid $(cat "$ES_STATE/run/es.pid")), logs in $ES_STATE/logs"
	fi
	log "up in $((SECONDS - t0)) s (services started in $((SECONDS - t1)) s)"
	log "use: eval \"\$(scripts/stack.sh env)\""
	cmd_env
}

stop_pid() { # stop_pid NAME PIDFILE
	local name="$1" pidf="$2"
	if ! alive "$pidf"; then
		log "$name not running"
		rm -f "$pidf"
		return 0
	fi
	local pid; pid="$(cat "$pidf")"
	log "stopping $name (pid $pid)"
	kill -TERM "$pid" 2>/dev/null || true
	local i
	for ((i = 0; i < 60; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.5
	done
	if kill -0 "$pid" 2>/dev/null; then
		log "$name did not stop in 30 s: killing pid $pid"
		kill -KILL "$pid" 2>/dev/null || true
	fi
	rm -f "$pidf"
}

cmd_down() {
	if ((WANT_ES)); then stop_pid elasticsearch "$ES_STATE/run/es.pid"; fi
	if ((WANT_KAFKA)); then stop_pid kafka "$KAFKA_STATE/kafka.pid"; fi
}

cmd_status() {
	local rc=0
	if ((WANT_KAFKA)); then
		if alive "$KAFKA_STATE/kafka.pid"; then
			if kafka_ready 3 >/dev/null 2>&1; then
				echo "kafka: up, 127.0.0.1:$KAFKA_PORT, pid $(cat "$KAFKA_STATE/kafka.pid"), logs $KAFKA_STATE/logs"
			else
				echo "kafka: starting or unhealthy, pid $(cat "$KAFKA_STATE/kafka.pid"), logs $KAFKA_STATE/logs"
				rc=1
			fi
		else
			echo "kafka: down"
			rc=1
		fi
	fi
	if ((WANT_ES)); then
		if alive "$ES_STATE/run/es.pid"; then
			if es_ready; then
				echo "elasticsearch: up, http://127.0.0.1:$ES_PORT, pid $(cat "$ES_STATE/run/es.pid"), logs $ES_STATE/logs"
			else
				echo "elasticsearch: starting or unhealthy, pid $(cat "$ES_STATE/run/es.pid"), logs $ES_STATE/logs"
				rc=1
			fi
		else
			echo "elasticsearch: down"
			rc=1
		fi
	fi
	return $rc
}

cmd_reset() {
	cmd_down
	if ((WANT_KAFKA && WANT_ES)); then
		log "deleting $STATE"
		rm -rf "$STATE"
		if [[ "$ES_STATE" == "$ALT_ROOT"/* ]]; then rm -rf "$(dirname "$ES_STATE")"; fi
	elif ((WANT_KAFKA)); then
		log "deleting $KAFKA_STATE"
		rm -rf "$KAFKA_STATE"
	else
		log "deleting $ES_STATE"
		rm -rf "$ES_STATE"
	fi
}

cmd="${1:-}"
shift || true
case "$cmd" in
deps) cmd_deps ;;
up | down | status | reset)
	want_services "$@"
	"cmd_$cmd"
	;;
env) cmd_env ;;
*)
	echo "usage: $0 up|down|status|reset [kafka] [elasticsearch] | env | deps" >&2
	exit 2
	;;
esac
