# settings.sh: sourced by serve.sh and front.sh. Reads the responder's
# settings (`$BUILD/responder --settings`, the one table, with the
# environment's IMGSANDBOX_* applied) and sets what both scripts give
# their servers: body, timeout_ms, wait_ms, ai_timeout_ms and
# read_timeout_s, how long a server waits for a run-pool answer (a run with
# its slot wait, or a model's answer, whichever is longer, and a margin).
# setting NAME prints any other one. Needs say() and BUILD.
settings=$("$BUILD/responder" --settings) || { say "the settings are wrong (see above)"; exit 2; }
setting() { printf '%s\n' "$settings" | sed -n "s/^IMGSANDBOX_$1=//p"; }
body=$(setting BODY_BYTES)
timeout_ms=$(setting TIMEOUT_MS)
wait_ms=$(setting SLOT_WAIT_MS)
ai_timeout_ms=$(setting AI_TIMEOUT_MS)
start_timeout_ms=$(setting START_TIMEOUT_MS)
read_timeout_s=$(( ( (timeout_ms + wait_ms + start_timeout_ms) > ai_timeout_ms ? timeout_ms + wait_ms + start_timeout_ms : ai_timeout_ms ) / 1000 + 120 ))
