# settings.sh: sourced by serve.sh, prepare.sh and front.sh. Reads the
# responder's settings (`$BUILD/responder --settings`, the one table, with
# the settings file and the environment's IMGSANDBOX_* applied) and sets
# what the scripts give their servers: body, timeout_ms, wait_ms,
# ai_timeout_ms and read_timeout_s, how long a server waits for a run-pool
# answer (a run with its slot wait, or a model's answer, whichever is
# longer, and a margin). setting NAME prints any other one. Needs say() and
# BUILD. The table is read into an array once: a start reads some twenty
# settings, and a sed for each was a tenth of its processes.
settings=$("$BUILD/responder" --settings) || { say "the settings are wrong (see above)"; exit 2; }
declare -gA setting_of=()
while IFS= read -r _line; do
  case $_line in
  IMGSANDBOX_*=*) _name=${_line%%=*}; setting_of[${_name#IMGSANDBOX_}]=${_line#*=} ;;
  esac
done <<<"$settings"
unset _line _name
setting() { printf '%s\n' "${setting_of[$1]-}"; }
body=${setting_of[BODY_BYTES]}
timeout_ms=${setting_of[TIMEOUT_MS]}
wait_ms=${setting_of[SLOT_WAIT_MS]}
ai_timeout_ms=${setting_of[AI_TIMEOUT_MS]}
start_timeout_ms=${setting_of[START_TIMEOUT_MS]}
read_timeout_s=$(( ( (timeout_ms + wait_ms + start_timeout_ms) > ai_timeout_ms ? timeout_ms + wait_ms + start_timeout_ms : ai_timeout_ms ) / 1000 + 120 ))
