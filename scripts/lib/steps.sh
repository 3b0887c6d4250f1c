# Sourced by the scripts in scripts/: each step prints one line with the time it took, and its
# output (apt, pip, compilers, model downloads) goes to a log file instead of the terminal. A
# failed step names itself and the log, shows the log's last lines, and ends the script.
#
#   source scripts/lib/steps.sh
#   steps_begin setup out/setup.log       # the script's name (the lines' prefix) and its log
#   step "system packages" install_apt    # runs a command or function with `set -e`, in a subshell
#   step --may-fail "llama.cpp check" ... # sets $step_status instead of ending the script
#   step --show "subtitles" ...           # also prints the command's stdout under its line
#   step_skip "python dependencies" "up to date"
#   steps_end                             # "done in", the total and the steps that took the time
#
# Call `step` as a statement of its own, never in `if`, `||`, `&&` or after `!`: there bash
# ignores `set -e` in everything the step runs, so a failing command would not stop it.
# STEPS_TAIL (default 20) is how many lines of a failed step's output are shown.

steps_begin() {  # NAME LOG
  _steps_name=$1
  mkdir -p -- "$(dirname -- "$2")"
  steps_log=$(cd -- "$(dirname -- "$2")" && pwd)/$(basename -- "$2")
  : >"$steps_log"
  _steps_t0=$(_steps_now)
  _steps_taken=()  # "microseconds<TAB>name" per step that ran
}

_steps_now() { local t=${EPOCHREALTIME/[.,]/}; echo $((10#$t)); }

_steps_duration() {  # MICROSECONDS -> "0.4 s" or "3 min 52 s"
  local us=$1
  if ((us < 60000000)); then
    printf '%d.%d s' $((us / 1000000)) $((us / 100000 % 10))
  else
    printf '%d min %d s' $((us / 60000000)) $((us / 1000000 % 60))
  fi
}

step() {  # [--may-fail] [--show] NAME COMMAND [ARGS...]
  local may_fail=0 show=0
  while [[ $1 == --* ]]; do
    case $1 in --may-fail) may_fail=1 ;; --show) show=1 ;; *) echo "step: unknown flag $1" >&2; return 2 ;; esac
    shift
  done
  local name=$1 rc=0 start out
  shift
  printf '%s: %s ... ' "$_steps_name" "$name"
  printf '\n===== %s: %s (%s)\n+ %s\n' "$_steps_name" "$name" "$(date '+%F %T')" "$*" >>"$steps_log"
  local first_line=$(($(wc -l <"$steps_log") + 1))
  out=$(mktemp)
  start=$(_steps_now)
  # A subshell with its own `set -e`, not called from a `||` list: that would switch -e off
  # inside functions, and a failed command in the middle of a step would go unnoticed.
  local had_e=0
  [[ $- == *e* ]] && had_e=1
  set +e
  if ((show)); then
    (set -e; "$@") >"$out" 2>>"$steps_log"
  else
    (set -e; "$@") >>"$steps_log" 2>&1
  fi
  rc=$?
  ((had_e)) && set -e
  local took=$(($(_steps_now) - start))
  cat -- "$out" >>"$steps_log"
  _steps_taken+=("$took"$'\t'"$name")
  step_status=$rc
  if ((rc == 0)); then
    echo "ok ($(_steps_duration "$took"))"
    ((show)) && sed 's/^/  /' -- "$out"
    rm -f -- "$out"
    return 0
  fi
  rm -f -- "$out"
  echo "failed after $(_steps_duration "$took") (exit $rc)"
  echo "$_steps_name: last lines of step \"$name\" in $steps_log:"
  tail -n +"$first_line" -- "$steps_log" | tail -n "${STEPS_TAIL:-20}" | sed 's/^/  | /'
  ((may_fail)) && return 0
  echo "$_steps_name: step \"$name\" failed (exit $rc); its whole output is in $steps_log" >&2
  exit "$rc"
}

step_skip() {  # NAME REASON: a step with nothing to do
  echo "$_steps_name: $1 ... $2"
  printf '\n===== %s: %s: %s\n' "$_steps_name" "$1" "$2" >>"$steps_log"
}

step_note() {  # TEXT: a line of its own (a warning, where something is)
  echo "$_steps_name: $*"
  echo "$_steps_name: $*" >>"$steps_log"
}

steps_end() {  # [WORDS]: the total and the (up to 3) steps that took the most time
  local what=${1:-done} total=$(($(_steps_now) - _steps_t0)) where="" line
  while IFS=$'\t' read -r us name; do
    ((us >= 100000)) || continue  # under 0.1 s is not where the time went
    where+="${where:+, }${name%% (*} $(_steps_duration "$us")"  # the name without its (details)
  done < <(printf '%s\n' "${_steps_taken[@]}" | sort -t$'\t' -k1,1nr | head -n 3)
  line="$_steps_name: $what in $(_steps_duration "$total")${where:+ ($where)}; log: $steps_log"
  echo "$line"
  echo "$line" >>"$steps_log"
}
