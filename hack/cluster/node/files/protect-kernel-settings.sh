#!/bin/sh
# Runs before kubelet (ExecStartPre of 05-videoflix-kernel-settings.conf), inside the node container.
# kubelet (protectKernelDefaults: false) writes these kernel settings when they differ from what it
# wants. They are not namespaced: from a privileged kind node the write would change the HOST's
# values. So, in the node's own mount namespace only, a small file holding the value kubelet wants is
# bind-mounted over each /proc/sys entry: kubelet reads its value back and writes nothing.
set -eu
dir=/run/videoflix-kernel-settings
mkdir -p "$dir"
for kv in vm/overcommit_memory=1 vm/panic_on_oom=0 kernel/panic=10 kernel/panic_on_oops=1 \
          kernel/keys/root_maxkeys=1000000 kernel/keys/root_maxbytes=25000000; do
  key=${kv%%=*}; value=${kv#*=}
  [ -e "/proc/sys/$key" ] || continue
  if grep -q " /proc/sys/$key " /proc/self/mountinfo; then continue; fi
  file=$dir/$(echo "$key" | tr / .)
  echo "$value" > "$file"
  mount --bind "$file" "/proc/sys/$key"
done
