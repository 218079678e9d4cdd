# CPU time of a process from /proc, shared by every benchmark script. Needs CLK_TCK set
# (getconf CLK_TCK) by the script that sources it.

# utime+stime of a process in microseconds. Fields are counted after the ")" closing comm.
cpuMicros() {
  local stat
  stat=$(cat "/proc/$1/stat")
  stat=${stat##*) }
  # shellcheck disable=SC2086
  set -- $stat
  # after comm: $1=state ... utime is field 14 overall = $12 here, stime = $13
  echo $(((${12} + ${13}) * 1000000 / CLK_TCK))
}
