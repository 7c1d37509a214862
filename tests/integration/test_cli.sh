#!/usr/bin/env bash
# test_cli.sh: the analyze_logs tool over real databases made by the real
# write path (make_log_fixture calls logdb_insert). Builds nothing.
#
#   tests/integration/test_cli.sh ANALYZE_LOGS MAKE_LOG_FIXTURE
#   (or ANALYZE_LOGS=... MAKE_LOG_FIXTURE=... tests/integration/test_cli.sh)
#
# IMGSANDBOX_PACKAGES may name the package list (default: the repository's
# runner_image/packages.txt). Prints "N passed, M failed"; exits 1 on any
# failure.
set -u

TOOL=${1:-${ANALYZE_LOGS:-}}
FIXTURE=${2:-${MAKE_LOG_FIXTURE:-}}
if [ -z "$TOOL" ] || [ -z "$FIXTURE" ] || [ ! -x "$TOOL" ] || [ ! -x "$FIXTURE" ]; then
	echo "usage: $0 ANALYZE_LOGS MAKE_LOG_FIXTURE (built executables)" >&2
	exit 2
fi
HERE=$(cd "$(dirname "$0")" && pwd)
export IMGSANDBOX_PACKAGES=${IMGSANDBOX_PACKAGES:-$HERE/../../runner_image/packages.txt}
export IMGSANDBOX_ALLOWLIST=${IMGSANDBOX_ALLOWLIST:-$HERE/../../runner_image/allowlist.txt}
# The limits the texts quote: fixed here so the checks do not depend on the
# caller's environment.
export IMGSANDBOX_TIMEOUT_MS=10000 IMGSANDBOX_MEMORY=1073741824 IMGSANDBOX_OUTPUT_BYTES=33554432
unset IMGSANDBOX_DB IMGSANDBOX_DATA

T=$(mktemp -d /tmp/test_cli.XXXXXX)
trap 'rm -rf "$T"' EXIT
pass=0
fail=0

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }

# run NAME EXPECTED_STATUS ARGS...: runs the tool, keeps stdout in $T/out
# and stderr in $T/err, checks the exit status.
run() {
	local name=$1 want=$2 got
	shift 2
	"$TOOL" "$@" >"$T/out" 2>"$T/err"
	got=$?
	if [ "$got" -eq "$want" ]; then ok; else bad "$name: exit $got, expected $want ($(head -c 300 "$T/err"))"; fi
}
# has NAME TEXT [FILE]: the output (or FILE) holds TEXT (fixed string).
has() {
	if grep -qF -- "$2" "${3:-$T/out}"; then ok; else bad "$1: no '$2' in ${3:-output}: $(head -c 400 "${3:-$T/out}")"; fi
}
hasnt() {
	if grep -qF -- "$2" "${3:-$T/out}"; then bad "$1: unexpected '$2'"; else ok; fi
}
# json_ok NAME FILE: FILE is valid JSON, checked by Debian's python3 (a
# missing python3 is a failure: an unchecked document must not pass).
PYTHON=${PYTHON:-/usr/bin/python3}
json_ok() {
	if [ ! -x "$PYTHON" ]; then bad "$1: no $PYTHON to check the JSON with"; return; fi
	if "$PYTHON" -c 'import json,sys; json.load(open(sys.argv[1]))' "$2" 2>/dev/null; then ok
	else bad "$1: not valid JSON: $(head -c 300 "$2")"; fi
}

DB=$T/log.db

# ---- Usage and a missing database -------------------------------------------
run "no command" 2
has "no command usage" "usage: analyze_logs" "$T/err"
run "unknown command" 2 --db "$DB" frobnicate
run "unknown option" 2 --db "$DB" --frob summary
run "limit 0" 2 --db "$DB" --limit 0 unfixed
run "limit 501" 2 --db "$DB" --limit 501 unfixed
run "limit text" 2 --db "$DB" --limit ten unfixed
run "before 0" 2 --db "$DB" --before 0 unfixed
run "session without id" 2 --db "$DB" session
run "bad session id" 2 --db "$DB" session 'a/b'
run "bad log id" 2 --db "$DB" log x1
run "extra argument" 2 --db "$DB" summary extra
run "help" 0 --help
has "help" "export [FILE]"
run "missing database" 1 --db "$DB" summary
has "missing database says so" "no database at $DB" "$T/err"
if [ -e "$DB" ]; then bad "a read created the database"; else ok; fi

# ---- The scripted session ---------------------------------------------------------
if "$FIXTURE" "$DB" scenario >"$T/fixture" 2>"$T/fixture.err"; then ok; else bad "fixture: $(cat "$T/fixture.err")"; fi
has "fixture ids" "3 s-demo 3 success" "$T/fixture"

run "summary" 0 --db "$DB" summary
has "summary runs" "runs              6 (16.7% succeeded)"
has "summary fixed" "failures          5: 2 fixed later, 3 unfixed"
has "summary sessions" "sessions          4: 4 with failures, 1 fixed, 3 unfixed"
run "summary json" 0 --db "$DB" --json summary
json_ok "summary json" "$T/out"
has "summary json total" '"total":6,"successes":1,"failures":5'
has "summary json sessions" '"sessions":{"total":4,"with_failures":4,"fixed":1,"unfixed":3'
IMGSANDBOX_DB=$DB run "db from the environment" 0 --json summary
has "env db" '"total":6'

run "errors" 0 --db "$DB" errors
has "errors categories" "Error categories (5 failures, 5 distinct patterns)"
has "errors import" "import"
has "errors pattern import" "No module named 'skimage2'"
has "errors pattern attribute" "module 'PIL.Image' has no attribute 'ANTIALIAS'"
run "errors json" 0 --db "$DB" --json errors
json_ok "errors json" "$T/out"
has "errors json category" '{"category":"import","count":1,"share":0.2,"fixed":1,"fix_rate":1'
has "errors json attribute type" '"category":"attribute","type":"AttributeError","pattern":"module '"'"'PIL.Image'"'"' has no attribute '"'"'ANTIALIAS'"'"'"'

run "recommendations" 0 --db "$DB" recommendations
# A module the script made up is not repeated; what is installed is ours.
has "recommendations module" 'That module is not installed in the sandbox'
hasnt "recommendations never the script's word" 'skimage2'
has "recommendations nearest" 'the nearest installed library is'
has "recommendations antialias" "use Image.LANCZOS"
has "recommendations learnt" "learnt:"
has "recommendations timeout limit" "A run is stopped after 10 s"
has "recommendations lessons" "Lessons from fixes seen in the log"
run "recommendations json" 0 --db "$DB" --json recommendations
json_ok "recommendations json" "$T/out"
has "recommendations json nearest" 'the nearest installed library is imported with `from skimage import filters, color, io, exposure, morphology`'
has "recommendations json rule" '"rule":"missing_module","category":"import","error_type":"ModuleNotFoundError"'
has "recommendations json learnt" '`ModuleNotFoundError` failures (missing_module) were fixed by adding `from skimage import filters`.'
has "recommendations json attr lesson" '`AttributeError` failures (pillow_antialias) were fixed by using `.LANCZOS` instead of `.ANTIALIAS`.'
hasnt "recommendations json no pattern" 'skimage2'
hasnt "recommendations json no patterns" '"patterns"'

run "session" 0 --db "$DB" session s-demo
has "session head" "Session s-demo: 3 attempts, last success; 2 failures fixed, 0 unfixed"
has "session imports" "+from skimage import filters, -import skimage2"
has "session fix 1" "attempt 1 (import, ModuleNotFoundError) fixed by attempt 3"
has "session fix 2" "attempt 2 (attribute, AttributeError) fixed by attempt 3"
run "session json" 0 --db "$DB" --json session s-demo
json_ok "session json" "$T/out"
has "session json fixes" '"failures_fixed":2,"failures_unfixed":0'
has "session json imports" '"imports_added":["from skimage import filters"],"imports_removed":["import skimage2"]'
run "session unknown" 1 --db "$DB" session s-nobody
has "session unknown says so" "no such session" "$T/err"
run "options after the command" 0 session s-demo --json --db "$DB"
has "options after" '"session_id":"s-demo"'

run "unfixed" 0 --db "$DB" unfixed
has "unfixed lone" "s-lone"
has "unfixed slow" "s-slow"
has "unfixed refused" "s-refused"
hasnt "unfixed demo" "s-demo"
run "failures" 0 --db "$DB" failures
has "failures demo" "s-demo"
run "failures json" 0 --db "$DB" --json failures
has "failures json excerpt" '"code_excerpt":"print('"'"'refused'"'"')\n#'
has "failures json sizes" '"code_truncated":true'
hasnt "failures json no whole code" '"code":"print'

run "models" 0 --db "$DB" models
has "models table" "MEAN TRIES"
has "models row" "test-model"
run "models json" 0 --db "$DB" --json models
json_ok "models json" "$T/out"
has "models json" '{"limit":50,"models":[{"ai_model":"test-model","runs":3,"failures":2,"failures_fixed":2,"fix_rate":1,"sessions":1,"first_attempt_successes":0,"first_attempt_success_rate":0,"sessions_succeeded":1,"attempts_to_success":{"mean":3,"median":3},"by_lessons":{"with":{"runs":3'
has "models json count" '"count":1,"cut":false}'

run "log" 0 --db "$DB" log 2
has "log traceback parsed" "error                AttributeError (line 5)"
has "log code" "Image.ANTIALIAS"
run "refused log" 0 --db "$DB" log 6
has "refused log size" "code_bytes           3000"
has "refused log excerpt" "--- code: the first 1024 of 3000 bytes"
run "refused log json" 0 --db "$DB" --json log 6
has "refused log json" '"code_truncated":true,"code_sha256":"'
run "log json" 0 --db "$DB" --json log 3
json_ok "log json" "$T/out"
has "log json timings" '"timings":{"run_ms":500}'
run "log unknown" 1 --db "$DB" log 999

run "context" 0 --db "$DB" context
has "context paths" "/output/result.png"
has "context input" "/input/image.png"
has "context params" "USER_PARAMS"
has "context limits" "10 s wall clock, 1 GiB of memory, 32 MiB for the images in /output"
has "context libraries" "import cv2"
has "context lesson" '`ModuleNotFoundError` (missing_module; 1 times, 100% fixed later)'
hasnt "context never the script's word" "skimage2"
has "context fixes" "Fixes that worked"
size=$(wc -c <"$T/out")
if [ "$size" -le 8192 ]; then ok; else bad "context is $size bytes"; fi
hasnt "context skips refused" "unsupported_image"

run "export lines" 0 --db "$DB" export
lines=$(wc -l <"$T/out")
if [ "$lines" -eq 6 ]; then ok; else bad "export: $lines lines, expected 6"; fi
if [ "$(grep -c '^{"log_id":' "$T/out")" -eq 6 ]; then ok; else bad "export lines are not rows"; fi
has "export whole rows" '"stderr":"Traceback (most recent call last):'
run "export array" 0 --db "$DB" export "$T/all.json" --array
json_ok "export array" "$T/all.json"
if [ "$(head -c 1 "$T/all.json")" = "[" ]; then ok; else bad "export array does not start with ["; fi
run "export to an impossible file" 1 --db "$DB" export "$T/no/such/dir/x.json"

run "all" 0 --db "$DB" all
has "all summary" "Summary"
has "all patterns" "Most frequent error patterns"
has "all recommendations" "Recommendations for script generation"
has "all unfixed" "Unfixed failures, newest first (3 shown)"
run "all json" 0 --db "$DB" --json all
json_ok "all json" "$T/out"
has "all json analysis" '{"analysis":{"summary":{"total":6'
has "all json unfixed" '"unfixed":{"filter":"unfixed"'
has "all json trend" '"trend":[{"day":'

# ---- Paging over a bigger log ------------------------------------------------------
DB2=$T/mixed.db
"$FIXTURE" "$DB2" mixed 120 >/dev/null 2>"$T/fixture.err" && ok || bad "mixed fixture: $(cat "$T/fixture.err")"
run "failures page" 0 --db "$DB2" --json --limit 5 failures
has "page count" '"count":5'
next=$(grep -o '"next_before":[0-9]*' "$T/out" | cut -d: -f2)
if [ -n "$next" ]; then ok; else bad "no next_before"; fi
run "next page" 0 --db "$DB2" --json --limit 5 --before "${next:-1}" failures
has "next page count" '"count":5'
first=$(grep -o '"log_id":[0-9]*' "$T/out" | head -1 | cut -d: -f2)
if [ -n "$first" ] && [ "$first" -lt "${next:-0}" ]; then ok; else bad "next page starts at $first, not below $next"; fi
run "unfixed mixed" 0 --db "$DB2" --json unfixed
has "unfixed mixed none" '"count":0'
run "models mixed" 0 --db "$DB2" --json models
has "models mixed" '"ai_model":"model-x","runs":60,"failures":40,"failures_fixed":40,"fix_rate":1,"sessions":20,"first_attempt_successes":0,"first_attempt_success_rate":0,"sessions_succeeded":20,"attempts_to_success":{"mean":3,"median":3}'

# ---- Retention ---------------------------------------------------------------------
# Every row let go (a cap of one byte): the figures stay, the rows do not.
DB4=$T/retained.db
cp "$DB" "$DB4"
"$FIXTURE" "$DB4" retain 0 1 >"$T/fixture" 2>"$T/fixture.err" && ok || bad "retain: $(cat "$T/fixture.err")"
has "retain deleted" "deleted 6" "$T/fixture"
run "retained summary" 0 --db "$DB4" summary
has "retained runs" "runs              6 (16.7% succeeded)"
has "retained fixed" "failures          5: 2 fixed later, 3 unfixed"
has "retained says so" "retention         6 rows let go (still counted above); rows kept since -"
run "retained summary json" 0 --db "$DB4" --json summary
has "retained json" '"rows_retired":6,"rows_kept_since":null'
run "retained errors" 0 --db "$DB4" --json errors
has "retained patterns" '"failures":5,"distinct_patterns":5'
run "retained session gone" 1 --db "$DB4" session s-demo
run "retained failures" 0 --db "$DB4" --json failures
has "retained no rows" '"count":0'

# ---- Terminal escapes a script wrote --------------------------------------------
# No control character reaches the terminal: not C0 (ESC, BEL), not C1 (the
# one-byte CSI U+009B, NEL U+0085, DCS U+0090), in tables, texts or a whole log.
DB3=$T/controls.db
"$FIXTURE" "$DB3" controls >/dev/null 2>"$T/fixture.err" && ok || bad "controls fixture: $(cat "$T/fixture.err")"
# noctl NAME: the output holds no C0 but newline and tab, no DEL, no C1.
noctl() {
	if LC_ALL=C grep -qP '[\x00-\x08\x0b-\x1f\x7f]|\xc2[\x80-\x9f]' "$T/out"; then
		bad "$1: a control character reached the terminal: $(od -c "$T/out" | head -5)"
	else ok; fi
}
for cmd in "log 1" "session s-ctl" "failures" "errors" "recommendations" "context" "all" \
    "summary" "unfixed" "models" "export" "--json log 1" "--json session s-ctl" "--json failures"; do
	# shellcheck disable=SC2086
	run "controls $cmd" 0 --db "$DB3" $cmd
	noctl "controls $cmd"
done
run "controls log" 0 --db "$DB3" log 1
has "controls shown as ?" "bad ?]0;title? ?31m value"
has "controls prompt" "make ?1m it"
run "controls json" 0 --db "$DB3" --json log 1
json_ok "controls json" "$T/out"
has "controls json C1 escaped" '\u009b2J'
run "controls context" 0 --db "$DB3" context
hasnt "controls context no message" "title"

# ---- Schema versions --------------------------------------------------------------
run "migrate a current database" 0 --db "$DB" migrate
has "migrate says" "schema version 3"
run "migrate never creates" 1 --db "$T/none.db" migrate
if [ -e "$T/none.db" ]; then bad "migrate created a database"; else ok; fi
if command -v sqlite3 >/dev/null 2>&1; then
	cp "$DB" "$T/old.db"
	sqlite3 "$T/old.db" "PRAGMA user_version = 1" && ok || bad "sqlite3"
	run "older database" 1 --db "$T/old.db" summary
	has "older says so" "older than this build's 3" "$T/err"
	sqlite3 "$T/old.db" "PRAGMA user_version = 4" && ok || bad "sqlite3"
	run "newer database" 1 --db "$T/old.db" summary
	has "newer says so" "newer than this build's 3" "$T/err"
fi
printf 'not a database, only text long enough to look like a header of one\n' >"$T/junk.db"
run "not a database" 1 --db "$T/junk.db" summary

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
