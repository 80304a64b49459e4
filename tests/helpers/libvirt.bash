# Private libvirtd instances with real QEMU domains (TCG, paused, or booting
# a small Linux guest with a guest agent), for the kv-domstats end-to-end
# tests. Each instance runs as an unprivileged user in session mode with
# every XDG directory under its own temp dir, so config, sockets, state and
# logs are private and the host's qemu:///system is never touched. Root
# creates the tap devices beforehand.
#
#   libvirt_setup_user                 the test user and /dev/net/tun access
#   libvirt_start DIR                  starts an instance; prints its URI
#   libvirt_add_domain DIR NAME TAP    defines and starts a paused domain
#   libvirt_add_guest DIR NAME AGENT [DEVICES [DOMAIN]]
#                                      defines and starts a booting Linux guest
#                                      with a guest-agent channel; AGENT on/off
#                                      says whether qemu-ga runs in it; DEVICES
#                                      is more XML inside <devices>, DOMAIN more
#                                      inside <domain> (<on_crash>, <features>)
#   libvirt_guest_console DIR NAME CMD runs a shell command on its serial console
#   libvirt_guest_console_read DIR NAME CMD [SECONDS]
#                                      likewise, and prints what the console
#                                      printed within SECONDS (default 2)
#   libvirt_wait_agent DIR NAME        waits until its guest agent answers
#   libvirt_qemu_pid DIR NAME          the domain's QEMU process
#   libvirt_stop DIR                   destroys its domains, stops the daemon
#   libvirt_cleanup                    removes the taps this file created

KV_LIBVIRT_USER=kvtest

libvirt_setup_user() {
  id "$KV_LIBVIRT_USER" >/dev/null 2>&1 || useradd --system --create-home "$KV_LIBVIRT_USER"
  # The unprivileged QEMU opens its pre-made tap through /dev/net/tun.
  chmod 0666 /dev/net/tun
}

libvirt_as_user() {  # DIR COMMAND...
  local dir="$1"; shift
  su -s /bin/sh "$KV_LIBVIRT_USER" -c "
    export XDG_RUNTIME_DIR='$dir/run' XDG_CONFIG_HOME='$dir/config' \
           XDG_CACHE_HOME='$dir/cache' XDG_DATA_HOME='$dir/data'
    $*"
}

libvirt_uri() { echo "qemu+unix:///session?socket=$1/run/libvirt/libvirt-sock"; }

libvirt_start() {  # DIR
  local dir="$1"
  mkdir -p "$dir"/{run,config,cache,data}
  chmod 0700 "$dir/run"
  chown -R "$KV_LIBVIRT_USER" "$dir"
  chmod 0755 "$dir"
  libvirt_as_user "$dir" "libvirtd --daemon --pid-file='$dir/libvirtd.pid' --timeout 0" >/dev/null 2>&1
  local i
  for ((i = 0; i < 100; i++)); do
    [ -S "$dir/run/libvirt/libvirt-sock" ] && virsh -c "$(libvirt_uri "$dir")" version >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "libvirtd in $dir did not start" >&2
  return 1
}

libvirt_add_domain() {  # DIR NAME TAP
  local dir="$1" name="$2" tap="$3"
  ip link show "$tap" >/dev/null 2>&1 || {
    ip tuntap add dev "$tap" mode tap user "$KV_LIBVIRT_USER"
    ip link set "$tap" up
    echo "$tap" >>"${KV_LIBVIRT_TAPS:?}"
  }
  libvirt_as_user "$dir" "qemu-img create -q -f qcow2 '$dir/$name.qcow2' 16M"
  cat >"$dir/$name.xml" <<XML
<domain type='qemu'>
  <name>$name</name>
  <memory unit='MiB'>64</memory>
  <vcpu>2</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/><source file='$dir/$name.qcow2'/>
      <target dev='vda' bus='virtio'/><alias name='ua-rootdisk'/>
    </disk>
    <interface type='ethernet'>
      <target dev='$tap' managed='no'/><model type='virtio'/><alias name='ua-default'/>
    </interface>
    <memballoon model='virtio'><stats period='1'/></memballoon>
  </devices>
</domain>
XML
  chown "$KV_LIBVIRT_USER" "$dir/$name.xml"
  virsh -q -c "$(libvirt_uri "$dir")" define "$dir/$name.xml" >/dev/null
  virsh -q -c "$(libvirt_uri "$dir")" start --paused "$name" >/dev/null
}

# The guest of libvirt_add_guest: Debian's kernel and a small initramfs with
# busybox and qemu-ga (tests/helpers/build-guest), built once into the build
# dir and copied where the unprivileged QEMU can read it.
libvirt_guest_files() {  # DIR
  local here
  here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
  "$here/build-guest" "${KV_BUILD:?}/guest" >&2
  if [ ! -f "$1/vmlinuz" ]; then
    cp "$KV_BUILD/guest/vmlinuz" "$KV_BUILD/guest/initrd.img" "$1/"
    chown "$KV_LIBVIRT_USER" "$1/vmlinuz" "$1/initrd.img"
  fi
}

libvirt_add_guest() {  # DIR NAME AGENT [DEVICES [DOMAIN]]
  local dir="$1" name="$2" agent="$3" devices="${4:-}" domain="${5:-}"
  libvirt_guest_files "$dir"
  # Sockets have short paths of our own: libvirt's own, under the config
  # dir, would pass the 108 bytes a socket path may have.
  # A 16 MiB disk whose first partition holds an ext4 filesystem, which the
  # guest mounts on /data: what guest-get-fsinfo reports.
  truncate -s 16M "$dir/$name.img"
  printf 'start=2048, type=83\n' | sfdisk -q "$dir/$name.img"
  mkfs.ext4 -q -F -E offset=1048576 "$dir/$name.img" 15M
  chown "$KV_LIBVIRT_USER" "$dir/$name.img"
  cat >"$dir/$name.xml" <<XML
<domain type='qemu'>
  <name>$name</name>
  <memory unit='MiB'>128</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>$dir/vmlinuz</kernel><initrd>$dir/initrd.img</initrd>
    <cmdline>console=ttyS0 quiet kvtest.agent=$agent</cmdline>
  </os>
  $domain
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw'/><source file='$dir/$name.img'/>
      <target dev='vda' bus='virtio'/><alias name='ua-datadisk'/>
    </disk>
    <channel type='unix'>
      <source mode='bind' path='$dir/$name.agent'/>
      <target type='virtio' name='org.qemu.guest_agent.0'/>
    </channel>
    <serial type='unix'><source mode='bind' path='$dir/$name.console'/><target port='0'/></serial>
    <memballoon model='none'/>
    $devices
  </devices>
</domain>
XML
  chown "$KV_LIBVIRT_USER" "$dir/$name.xml"
  virsh -q -c "$(libvirt_uri "$dir")" define "$dir/$name.xml" >/dev/null
  virsh -q -c "$(libvirt_uri "$dir")" start "$name" >/dev/null
}

libvirt_guest_console() {  # DIR NAME COMMAND
  /usr/bin/python3 - "$1/$2.console" "$3" <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode() + b"\n")
time.sleep(0.5)  # let the guest's shell read it before the socket closes
PY
}

libvirt_guest_console_read() {  # DIR NAME COMMAND [SECONDS]
  /usr/bin/python3 - "$1/$2.console" "$3" "${4:-2}" <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.settimeout(0.2)
s.sendall(sys.argv[2].encode() + b"\n")
out, end = b"", time.time() + float(sys.argv[3])
while time.time() < end:
    try:
        data = s.recv(4096)
    except socket.timeout:
        continue
    if not data:
        break
    out += data
sys.stdout.write(out.decode(errors="replace"))
PY
}

libvirt_wait_agent() {  # DIR NAME
  local i
  for ((i = 0; i < 120; i++)); do
    virsh -c "$(libvirt_uri "$1")" qemu-agent-command --timeout 2 "$2" '{"execute":"guest-ping"}' \
      >/dev/null 2>&1 && return 0
    sleep 1
  done
  echo "the guest agent of $2 did not answer" >&2
  return 1
}

libvirt_qemu_pid() {  # DIR NAME
  pgrep -u "$KV_LIBVIRT_USER" -f "qemu-system-x86_64 .*guest=$2," | head -n 1
}

libvirt_stop() {  # DIR
  local dir="$1" pid
  [ -d "$dir" ] || return 0
  # A stopped QEMU cannot be destroyed: let it run first.
  for pid in $(pgrep -u "$KV_LIBVIRT_USER" -f "qemu-system-x86_64 .*$dir" || true); do
    kill -CONT "$pid" 2>/dev/null || true
  done
  local name
  for name in $(virsh -c "$(libvirt_uri "$dir")" list --all --name 2>/dev/null); do
    virsh -q -c "$(libvirt_uri "$dir")" destroy "$name" >/dev/null 2>&1 || true
  done
  if [ -f "$dir/libvirtd.pid" ]; then
    kill "$(cat "$dir/libvirtd.pid")" 2>/dev/null || true
  fi
  for pid in $(pgrep -u "$KV_LIBVIRT_USER" -f "$dir" || true); do
    kill -9 "$pid" 2>/dev/null || true
  done
  # The session daemon's virtlogd would linger two minutes: find ours by the
  # runtime dir in its environment, leaving other instances' alone.
  for pid in $(pgrep -u "$KV_LIBVIRT_USER" -x virtlogd || true); do
    if tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qx "XDG_RUNTIME_DIR=$dir/run"; then
      kill "$pid" 2>/dev/null || true
    fi
  done
}

libvirt_cleanup() {
  local tap
  [ -f "${KV_LIBVIRT_TAPS:-}" ] || return 0
  while read -r tap; do ip link delete "$tap" 2>/dev/null || true; done <"$KV_LIBVIRT_TAPS"
  rm -f "$KV_LIBVIRT_TAPS"
}
