#!/bin/bash
# Runs inside a Debian VM (qemu, Debian's kernel; gpiosim_test.go): makes real GPIO
# character devices with the kernel's gpio-sim driver, installs the campusguard .deb,
# wires a panic button (line GPIO17) and a siren relay (line GPIO5) in the config, and
# presses the button by changing the simulated line's pull. Prints "ok: ..." or
# "FAIL: ...", then "RESULT: PASS" or "RESULT: FAIL", and powers off.
set -u
exec >/systest/result.log 2>&1
fails=0
ok() { echo "ok: $*"; }
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
wait_for() { local n=$1; shift; for _ in $(seq 1 $((n * 5))); do "$@" && return 0; sleep 0.2; done; return 1; }
finish() {
	journalctl -u campusguard.service -o cat --no-pager | tail -n 30
	if [ "$fails" = 0 ]; then echo "RESULT: PASS"; else echo "RESULT: FAIL ($fails)"; fi
	sync
	systemctl poweroff --no-block
	exit 0
}

echo "== gpio-sim"
uname -r
modprobe gpio-sim && ok "gpio-sim loaded" || { fail "modprobe gpio-sim"; finish; }
mountpoint -q /sys/kernel/config || mount -t configfs none /sys/kernel/config
c=/sys/kernel/config/gpio-sim/campus
mkdir -p $c/bank0
echo 8 >$c/bank0/num_lines
echo gateway-sim >$c/bank0/label
for l in 0:GPIO17 1:GPIO5 2:GPIO27; do
	mkdir -p "$c/bank0/line${l%%:*}"
	echo "${l#*:}" >"$c/bank0/line${l%%:*}/name"
done
echo 1 >$c/live
chip=$(cat $c/bank0/chip_name)
dev=$(cat $c/dev_name)
sim=/sys/devices/platform/$dev/$chip
[ -c "/dev/$chip" ] && ok "/dev/$chip is a real GPIO character device ($dev)" || { fail "no /dev/$chip"; finish; }
udevadm settle || true

echo "== install"
DEBIAN_FRONTEND=noninteractive dpkg -i /systest/campusguard.deb >/dev/null && ok "dpkg -i" || fail "dpkg -i"
udevadm trigger --subsystem-match=gpio --action=add; udevadm settle || true
[ "$(stat -c %G /dev/$chip)" = gpio ] && ok "/dev/$chip belongs to the gpio group (the package's udev rule)" || fail "/dev/$chip group $(stat -c %G /dev/$chip)"
campusguard gpio list | tee /systest/gpio-list.txt | head -n 6
grep -q "GPIO17" /systest/gpio-list.txt && ok "gpio list shows the named lines" || fail "gpio list"

echo "== configure a GPIO panic button and siren"
cat >/etc/campusguard/campusguard.yaml <<'YAML'
site:
  id: vm01
  name: 虚拟机测试学校
  zones: [{id: gate, name: 校门门卫室, number: 1}]
devices:
  - {id: panic-gate, kind: panic, name: 门卫室一键报警, location: 校门门卫室, zone: gate, driver: gpio, heartbeat: -1s}
state_dir: /var/lib/campusguard
http: {listen: "127.0.0.1:9810"}
rules_dir: rules
gpio:
  inputs:
    - {device: panic-gate, pin: GPIO17, contact: "no", active_level: low, pull: up, debounce: 20ms, hold: 50ms,
       supervision: {pin: GPIO27, trouble_level: high, pull: down, cause: cut}}
  outputs:
    - {id: siren-gate, pin: GPIO5, active_level: high, pattern: steady, max_on: 3m}
alerting:
  local: {severities: [critical]}
  routes: {sinks: [siren]}
sinks:
  siren:
    outputs: [{id: siren-gate, pattern: steady, max_on: 3m}]
    routes: [{device_kinds: [panic], outputs: [siren-gate]}]
YAML
rm -f /etc/campusguard/conf.d/*.yaml
campusguard check --config /etc/campusguard/campusguard.yaml && ok "check accepts it on a box with a GPIO chip" || fail "check"
systemctl start campusguard.service && ok "started (READY)" || fail "start"
sleep 1
pid=$(systemctl show -p MainPID --value campusguard.service)
[ "$(awk 'NR==1 {print $3}' /proc/$pid/uid_map)" != 4294967295 ] && ok "runs in a user namespace of its own (PrivateUsers), and still opens the lines" || fail "no user namespace: $(cat /proc/$pid/uid_map)"
[ "$(cat $sim/sim_gpio1/value)" = 0 ] && ok "siren line GPIO5 is off at start" || fail "siren on at start"
grep -q "campusguard" <(campusguard gpio list 2>/dev/null) && ok "gpio list shows the lines held by the daemon" || true

echo "== press the button (the line goes low)"
echo pull-down >$sim/sim_gpio0/pull
if wait_for 10 sh -c "[ \"\$(cat $sim/sim_gpio1/value)\" = 1 ]"; then
	ok "the siren relay line GPIO5 went high after the press"
else
	fail "siren line still $(cat $sim/sim_gpio1/value)"
fi
journalctl -u campusguard.service -o cat | grep -m1 -i "pressed\|fired\|sounding" && ok "the journal shows the alarm" || fail "no alarm in the journal"
echo pull-up >$sim/sim_gpio0/pull

echo "== cut the supervision loop (GPIO27 goes high)"
echo pull-up >$sim/sim_gpio2/pull
wait_for 10 sh -c 'journalctl -u campusguard.service -o cat | grep -qi tamper' && ok "tamper reported" || fail "no tamper after the cut"
systemctl stop campusguard.service && ok "stopped" || fail "stop"

finish
