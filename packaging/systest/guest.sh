#!/bin/bash
# Runs inside a Debian guest booted by a real systemd (systemd_test.go): installs the
# campusguard .deb and checks the unit's life cycle. Each check prints "ok: ..." or
# "FAIL: ..."; the last line is "RESULT: PASS" or "RESULT: FAIL". Reads
# /systest/env (DEB, PORT) and powers the guest off when done.
set -u
. /systest/env
fails=0
ok() { echo "ok: $*"; }
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
show() { systemctl show -p "$1" --value campusguard.service; }
wait_for() { # seconds, command...
	local n=$1; shift
	for _ in $(seq 1 $((n * 5))); do "$@" && return 0; sleep 0.2; done
	return 1
}
healthz() { curl -fs -m 2 -o /systest/healthz.json "http://127.0.0.1:$PORT/healthz"; }

echo "== install $(basename "$DEB")"
if DEBIAN_FRONTEND=noninteractive dpkg -i "$DEB"; then ok "dpkg -i"; else fail "dpkg -i"; fi
id campusguard && ok "user campusguard exists" || fail "no campusguard user"
[ "$(stat -c %G /etc/campusguard/campusguard.yaml)" = campusguard ] && ok "config readable by the service group" || fail "config group $(stat -c %G /etc/campusguard/campusguard.yaml)"
[ "$(systemctl is-enabled campusguard.service 2>&1)" = disabled ] && ok "not enabled by the package" || fail "enabled by the package: $(systemctl is-enabled campusguard.service 2>&1)"
[ "$(systemctl is-active campusguard.service)" = inactive ] && ok "not started by the package" || fail "started by the package"
if campusguard check --config /etc/campusguard/campusguard.yaml >/systest/check.out 2>&1; then
	fail "check accepts the unfilled skeleton"
else
	grep -q "not filled in yet" /systest/check.out && ok "check refuses the unfilled skeleton" || fail "check output: $(cat /systest/check.out)"
fi

echo "== configure and start"
sed -i -E 's/"CHANGE-ME:[^"]*"/systest/' /etc/campusguard/campusguard.yaml
sed -i -E "s/^  listen: 127.0.0.1:9810/  listen: 127.0.0.1:$PORT/" /etc/campusguard/campusguard.yaml
campusguard check --config /etc/campusguard/campusguard.yaml && ok "check accepts the filled config" || fail "check refuses the filled config"
mkdir -p /etc/systemd/system/campusguard.service.d
# A shorter watchdog than the shipped 30 s, so the stall test is quick.
printf '[Service]\nWatchdogSec=4s\n' >/etc/systemd/system/campusguard.service.d/systest.conf
systemctl daemon-reload
t0=$(date +%s%N)
if systemctl start campusguard.service; then
	ok "systemctl start returned (READY=1 reached) after $((($(date +%s%N) - t0) / 1000000)) ms"
else
	fail "systemctl start"
fi
[ "$(show ActiveState)/$(show SubState)" = active/running ] && ok "active/running" || fail "state $(show ActiveState)/$(show SubState)"
sleep 3
[ "$(show NRestarts)" = 0 ] && [ "$(show ActiveState)" = active ] && ok "still running 3 s after READY (no SIGSYS from the filter)" || fail "restarted: NRestarts=$(show NRestarts) $(show ActiveState)"
if wait_for 10 healthz; then ok "/healthz answers: $(head -c 400 /systest/healthz.json)"; else fail "/healthz does not answer"; fi

echo "== reload (SIGHUP)"
pid=$(show MainPID)
systemctl reload campusguard.service
if wait_for 10 sh -c 'journalctl -u campusguard.service -o cat | grep -q "config reloaded"'; then
	[ "$(show MainPID)" = "$pid" ] && ok "SIGHUP reloaded the config in the same process" || fail "reload changed the main PID"
else
	fail "no 'config reloaded' in the journal"
fi

echo "== watchdog: a stalled daemon is restarted"
pid=$(show MainPID)
[ "$pid" != 0 ] && kill -STOP "$pid"
# WatchdogSec (4 s here) then SIGABRT, which a stopped process cannot take, then
# SIGKILL after TimeoutAbortSec (10 s), then RestartSec (5 s).
if [ "$pid" != 0 ] && wait_for 45 sh -c "[ \"\$(systemctl show -p MainPID --value campusguard.service)\" != $pid ] && [ \"\$(systemctl show -p ActiveState --value campusguard.service)\" = active ]"; then
	ok "stalled main PID $pid replaced by $(show MainPID), NRestarts=$(show NRestarts)"
	journalctl -u campusguard.service -o cat | grep -i "watchdog timeout" | tail -1
else
	fail "not restarted after a stall: $(show ActiveState) pid $(show MainPID)"
fi
wait_for 10 healthz && ok "/healthz answers again" || fail "/healthz after the restart"

echo "== upgrade: the operator's config stays, a running daemon restarts on the new binary"
pid=$(show MainPID)
if DEBIAN_FRONTEND=noninteractive dpkg -i --force-confold "$DEB" >/dev/null; then ok "dpkg -i over the installed package"; else fail "upgrade"; fi
grep -q "listen: 127.0.0.1:$PORT" /etc/campusguard/campusguard.yaml && ok "the edited campusguard.yaml is kept" || fail "the config was replaced"
if wait_for 15 sh -c "[ \"\$(systemctl show -p MainPID --value campusguard.service)\" != $pid ] && [ \"\$(systemctl show -p ActiveState --value campusguard.service)\" = active ]"; then
	ok "restarted (PID $pid -> $(show MainPID))"
else
	fail "not restarted by the upgrade: $(show ActiveState) $(show MainPID)"
fi
wait_for 10 healthz && ok "/healthz answers after the upgrade" || fail "/healthz after the upgrade"

echo "== clean stop"
t0=$(date +%s)
systemctl stop campusguard.service
took=$(($(date +%s) - t0))
[ "$took" -lt 20 ] && ok "stopped in ${took}s (TimeoutStopSec=20s)" || fail "stop took ${took}s"
[ "$(show Result)" = success ] && ok "Result=success" || fail "Result=$(show Result)"
journalctl -u campusguard.service -o cat | grep -q "stopped cleanly" && ok "daemon logged a clean stop" || fail "no clean stop in the journal"
if journalctl -u campusguard.service -o cat | grep -qi "SIGSYS\|bad system call"; then fail "a filtered system call"; fi

echo "== remove: stopped and disabled, the alarm journal kept"
systemctl enable campusguard.service 2>/dev/null
systemctl start campusguard.service
DEBIAN_FRONTEND=noninteractive dpkg -r campusguard >/dev/null && ok "dpkg -r" || fail "dpkg -r"
[ "$(systemctl is-active campusguard.service)" != active ] && ok "service stopped" || fail "still running after removal"
[ ! -e /etc/systemd/system/multi-user.target.wants/campusguard.service ] && ok "service disabled" || fail "still enabled after removal"
[ -e /var/lib/campusguard/journal.db ] && ok "alarm journal kept in /var/lib/campusguard" || fail "journal gone: $(ls /var/lib/campusguard)"
DEBIAN_FRONTEND=noninteractive dpkg -i "$DEB" >/dev/null && ok "installed again" || fail "reinstall"

echo "== systemd-analyze security"
rm -f /etc/systemd/system/campusguard.service.d/systest.conf
systemctl daemon-reload
systemd-analyze security --no-pager campusguard.service | tail -n 25
echo "== journal"
journalctl -u campusguard.service -o short-monotonic --no-pager | tail -n 40
if [ "$fails" = 0 ]; then echo "RESULT: PASS"; else echo "RESULT: FAIL ($fails)"; fi
